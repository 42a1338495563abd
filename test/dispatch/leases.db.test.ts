import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { claimCalls } from '../../src/dispatch/claim.js';
import { beginDial } from '../../src/dispatch/dial-guard.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { heartbeat, pruneWorkers, reapExpiredLeases, registerWorker } from '../../src/dispatch/leases.js';
import type { ClaimedCall, Dialer } from '../../src/dispatch/types.js';
import { sql } from '../../src/store/sql.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { addAgent, move, queueCalls, statusOf, TestClock } from './helpers.js';

const clock = new TestClock();
const LEASE = 10_000;
let t: TestApp;
before(async () => {
  t = await startTestApp({ now: clock.now });
});
after(async () => t.close());

/** A call of a new agent (so other tests' leftovers never compete with it), claimed by workerId. */
async function claimedCall(workerId = 'w1'): Promise<string> {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 1000 });
  const [id] = await queueCalls(t.ctx, t.org.id, agentId, 1);
  clock.advance(1000);
  const r = await claimCalls(t.db, { workerId, now: clock.now(), leaseMs: LEASE, batchSize: 50 });
  assert.ok(r.claimed.some((c) => c.id === id));
  return id!;
}

async function events(id: string) {
  return (await t.db.query<{ to_status: string; terminal: boolean; data: Record<string, unknown> }>(
    sql`select to_status, terminal, data from call_events where call_id = ${id} order by id`,
  )).rows;
}

test('an expired dispatching call goes back to queued and another worker takes it', async () => {
  const id = await claimedCall('w1');
  clock.advance(LEASE - 1);
  assert.equal((await reapExpiredLeases(t.db, { now: clock.now() })).requeued.includes(id), false, 'lease still runs');
  clock.advance(1);
  const r = await reapExpiredLeases(t.db, { now: clock.now() });
  assert.ok(r.requeued.includes(id) && !r.failed.includes(id));
  const row = (await t.db.query<{ status: string; worker_id: string | null }>(sql`select status, worker_id from calls where id = ${id}`)).rows[0]!;
  assert.deepEqual(row, { status: 'queued', worker_id: null });
  assert.deepEqual((await events(id)).at(-1), { to_status: 'queued', terminal: false, data: { worker_id: 'w1', reason: 'lease_expired' } });
  const again = await claimCalls(t.db, { workerId: 'w2', now: clock.now(), leaseMs: LEASE, batchSize: 50 });
  assert.deepEqual(again.claimed.filter((c) => c.id === id).map((c) => c.workerId), ['w2']);
});

for (const status of ['dialing', 'in_progress'] as const) {
  test(`an expired ${status} call ends failed / worker_lost with one terminal event and is never re-dialed`, async () => {
    const id = await claimedCall('w1');
    assert.equal(await beginDial(t.db, { orgId: t.org.id, id }, 'w1', { now: clock.now(), leaseMs: LEASE }), true);
    if (status === 'in_progress') await move(t.db, t.org.id, id, 'in_progress', clock.now());
    clock.advance(LEASE);
    const r = await reapExpiredLeases(t.db, { now: clock.now() });
    assert.ok(r.failed.includes(id) && !r.requeued.includes(id));
    assert.equal(await statusOf(t.db, id), 'failed');
    const end = (await t.db.query<{ end_reason: string }>(sql`select end_reason from calls where id = ${id}`)).rows[0];
    assert.equal(end?.end_reason, 'worker_lost');
    clock.advance(LEASE * 3);
    const later = await reapExpiredLeases(t.db, { now: clock.now() });
    assert.equal([...later.failed, ...later.requeued].includes(id), false, 'reaped once');
    const again = await claimCalls(t.db, { workerId: 'w2', now: clock.now(), leaseMs: LEASE, batchSize: 50 });
    assert.equal(again.claimed.some((c) => c.id === id), false);
    const ev = await events(id);
    assert.equal(ev.filter((e) => e.terminal).length, 1);
    assert.equal(ev.filter((e) => e.to_status === 'dialing').length, 1, 'dialed once');
  });
}

test('heartbeats keep the leases of held calls alive, and only those', async () => {
  const held = await claimedCall('w1');
  const forgotten = await claimedCall('w1');
  await registerWorker(t.db, 'w1', 'dispatcher', clock.now());
  for (let i = 0; i < 5; i++) {
    clock.advance(LEASE / 2);
    assert.equal(await heartbeat(t.db, 'w1', clock.now(), LEASE, [held]), 1);
    const r = await reapExpiredLeases(t.db, { now: clock.now() });
    assert.equal(r.requeued.includes(held), false, `held call kept at beat ${i}`);
  }
  assert.equal(await statusOf(t.db, held), 'dispatching');
  assert.equal(await statusOf(t.db, forgotten), 'queued', 'a call the worker does not hold is reaped');
  const w = await t.db.query<{ heartbeat_at: Date }>(sql`select heartbeat_at from workers where id = 'w1'`);
  assert.equal(w.rows[0]?.heartbeat_at.getTime(), clock.ms);
});

test("the dispatcher's heartbeat renews the calls its dialer still holds", async () => {
  let release: () => void = () => undefined;
  const hold = new Promise<void>((r) => (release = r));
  const got: ClaimedCall[] = [];
  const dialer: Dialer = {
    async dial(call) {
      got.push(call);
      await hold;
    },
  };
  const d = new Dispatcher({ db: t.db, workerId: 'w-hold', now: clock.now, dialer, leaseMs: LEASE, pollIntervalMs: 60_000 });
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 1000 });
  const [id] = await queueCalls(t.ctx, t.org.id, agentId, 1);
  clock.advance(1000);
  const r = await d.runPass();
  assert.ok(r.claimed.some((c) => c.id === id));
  assert.ok(d.heldCallIds.includes(id!));
  clock.advance(LEASE - 1);
  assert.ok((await d.heartbeatOnce()) >= 1);
  clock.advance(LEASE - 1);
  assert.deepEqual((await d.reapOnce()).requeued.includes(id!), false);
  release();
  await new Promise((res) => setImmediate(res));
  assert.equal(d.heldCallIds.includes(id!), false, 'released when dial() settles');
  assert.equal(got.length, r.claimed.length);
});

test('pruneWorkers forgets silent workers that hold no active call, and keeps the others', async () => {
  const id = await claimedCall('w-busy');
  await registerWorker(t.db, 'w-busy', 'dispatcher', clock.now());
  await registerWorker(t.db, 'w-idle', 'dispatcher', clock.now());
  await registerWorker(t.db, 'w-alive', 'dispatcher', new Date(clock.ms + 60_000));
  clock.advance(60_001);
  await pruneWorkers(t.db, clock.now(), 60_000);
  const left = await t.db.query<{ id: string }>(sql`select id from workers where id in ('w-busy','w-idle','w-alive') order by id`);
  assert.deepEqual(left.rows.map((r) => r.id), ['w-alive', 'w-busy'], `w-busy still holds ${id}`);
});
