import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cancelCall } from '../../src/calls/call-queries.js';
import { claimCalls } from '../../src/dispatch/claim.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { sql } from '../../src/store/sql.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { addAgent, queueCalls, RecordingDialer, statusOf, TestClock } from './helpers.js';

const clock = new TestClock();
let t: TestApp;
before(async () => {
  t = await startTestApp({ now: clock.now });
});
after(async () => t.close());

const claim = (workerId = 'w1', batchSize = 10) => claimCalls(t.db, { workerId, now: clock.now(), leaseMs: 30_000, batchSize });

test('a due call is claimed once, handed to the dialer, with worker, lease and a dispatching event', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id);
  const [id] = await queueCalls(t.ctx, t.org.id, agentId, 1);
  const dialer = new RecordingDialer();
  const d = new Dispatcher({ db: t.db, workerId: 'w-claim', now: clock.now, dialer, leaseMs: 30_000 });
  const first = await d.runPass();
  assert.deepEqual(first.claimed.map((c) => c.id), [id]);
  clock.advance(5000);
  const second = await d.runPass();
  assert.equal(second.claimed.length, 0, 'a claimed call is not claimed again');
  await dialer.waitFor(1, 1000);
  assert.equal(dialer.count.get(id!), 1);
  const c = dialer.calls[0]!;
  assert.equal(c.agentId, agentId);
  assert.equal(c.trunk.host, 'sip.example.com');
  assert.equal(c.trunk.port, 5060);
  assert.equal(c.options.ring_timeout_s, 45);
  const row = (await t.db.query<{ status: string; worker_id: string; lease_expires_at: Date; dispatched_at: Date }>(
    sql`select status, worker_id, lease_expires_at, dispatched_at from calls where id = ${id}`,
  )).rows[0]!;
  assert.equal(row.status, 'dispatching');
  assert.equal(row.worker_id, 'w-claim');
  assert.equal(row.lease_expires_at.getTime(), clock.ms - 5000 + 30_000);
  const ev = await t.db.query<{ from_status: string; to_status: string; data: { worker_id?: string } }>(
    sql`select from_status, to_status, data from call_events where call_id = ${id} order by id`,
  );
  assert.deepEqual(ev.rows.map((e) => e.to_status), ['queued', 'dispatching']);
  assert.equal(ev.rows[1]?.data.worker_id, 'w-claim');
});

test('a scheduled call is claimed only when due, and the pass reports when that is', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id);
  const at = new Date(clock.ms + 60_000);
  const [id] = await queueCalls(t.ctx, t.org.id, agentId, 1, { scheduled_at: at.toISOString() });
  const early = await claim();
  assert.equal(early.claimed.length, 0);
  assert.equal(early.nextAt?.getTime(), at.getTime(), 'the loop can sleep exactly until it is due');
  clock.advance(59_999);
  assert.equal((await claim()).claimed.length, 0, 'one millisecond early');
  clock.advance(1);
  assert.deepEqual((await claim()).claimed.map((c) => c.id), [id]);
});

test('a canceled call is never claimed', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id);
  const [id] = await queueCalls(t.ctx, t.org.id, agentId, 1);
  await cancelCall(t.ctx, t.org.id, id!);
  clock.advance(10_000);
  const r = await claim();
  assert.equal(r.claimed.some((c) => c.id === id), false);
  assert.equal(await statusOf(t.db, id!), 'canceled');
});

test('fairness: an agent with 2 calls is served in the first passes beside one with 50', async () => {
  clock.advance(10_000); // every earlier bucket is open again
  const a = await addAgent(t.ctx, t.org.id);
  const b = await addAgent(t.ctx, t.org.id);
  const aIds = await queueCalls(t.ctx, t.org.id, a.agentId, 50);
  const bIds = await queueCalls(t.ctx, t.org.id, b.agentId, 2);
  const seen: string[][] = [];
  for (let pass = 0; pass < 2; pass++) {
    const r = await claim('w1', 10);
    seen.push(r.claimed.map((c) => c.id));
    clock.advance(1000); // one slot of max_cps 1
  }
  assert.ok(seen[0]!.includes(bIds[0]!), `B's first call goes in pass 1: ${JSON.stringify(seen)}`);
  assert.ok(seen[1]!.includes(bIds[1]!), `B's second call goes in pass 2: ${JSON.stringify(seen)}`);
  assert.ok(seen[0]!.includes(aIds[0]!) && seen[1]!.includes(aIds[1]!), 'A keeps its own pace, oldest first');
  assert.equal(seen.flat().filter((id) => aIds.includes(id)).length, 2, 'A gets one call per pass at max_cps 1');
});
