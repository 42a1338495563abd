import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cancelCall } from '../../src/calls/call-queries.js';
import { claimCalls } from '../../src/dispatch/claim.js';
import { beginDial } from '../../src/dispatch/dial-guard.js';
import { reapExpiredLeases } from '../../src/dispatch/leases.js';
import { sql } from '../../src/store/sql.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { addAgent, queueCalls, statusOf, TestClock } from './helpers.js';

const clock = new TestClock();
let t: TestApp;
before(async () => {
  t = await startTestApp({ now: clock.now });
});
after(async () => t.close());

/** Queues one call of a new agent (nothing else competes with it) and claims it as workerId. */
async function claimedCall(workerId = 'w1', leaseMs = 30_000): Promise<string> {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 1000 });
  const [id] = await queueCalls(t.ctx, t.org.id, agentId, 1);
  clock.advance(1000);
  const r = await claimCalls(t.db, { workerId, now: clock.now(), leaseMs, batchSize: 50 });
  assert.ok(r.claimed.some((c) => c.id === id), 'claimed');
  return id!;
}

const ref = (id: string) => ({ orgId: t.org.id, id });

test('beginDial succeeds once: dispatching -> dialing with dial_started_at; a second attempt loses', async () => {
  const id = await claimedCall();
  assert.equal(await beginDial(t.db, ref(id), 'w1', { now: clock.now() }), true);
  const row = (await t.db.query<{ status: string; dial_started_at: Date }>(sql`select status, dial_started_at from calls where id = ${id}`)).rows[0]!;
  assert.equal(row.status, 'dialing');
  assert.equal(row.dial_started_at.getTime(), clock.ms);
  assert.equal(await beginDial(t.db, ref(id), 'w1', { now: clock.now() }), false);
  const ev = await t.db.query(sql`select 1 from call_events where call_id = ${id} and to_status = 'dialing'`);
  assert.equal(ev.rowCount, 1, 'one dialing event');
});

test('racing beginDial calls: exactly one wins', async () => {
  const id = await claimedCall();
  const results = await Promise.all([1, 2, 3, 4].map(() => beginDial(t.db, ref(id), 'w1', { now: clock.now() })));
  assert.equal(results.filter(Boolean).length, 1);
});

test('beginDial loses for a call canceled after the claim', async () => {
  const id = await claimedCall();
  await cancelCall(t.ctx, t.org.id, id);
  assert.equal(await beginDial(t.db, ref(id), 'w1', { now: clock.now() }), false);
  assert.equal(await statusOf(t.db, id), 'canceled');
});

test('beginDial loses for a call re-queued after its lease expired, even once another worker holds it', async () => {
  const id = await claimedCall('w1', 10_000);
  clock.advance(10_001);
  const reaped = await reapExpiredLeases(t.db, { now: clock.now() });
  assert.ok(reaped.requeued.includes(id));
  assert.equal(await beginDial(t.db, ref(id), 'w1', { now: clock.now() }), false, 'queued again');
  const r = await claimCalls(t.db, { workerId: 'w2', now: clock.now(), leaseMs: 10_000, batchSize: 50 });
  assert.ok(r.claimed.some((c) => c.id === id));
  assert.equal(await beginDial(t.db, ref(id), 'w1', { now: clock.now() }), false, 'now it is w2s');
  assert.equal(await beginDial(t.db, ref(id), 'w2', { now: clock.now() }), true);
});

test('beginDial loses when the lease ran out, even before the reaper acted', async () => {
  const id = await claimedCall('w1', 10_000);
  clock.advance(10_000);
  assert.equal(await beginDial(t.db, ref(id), 'w1', { now: clock.now() }), false);
  assert.equal(await statusOf(t.db, id), 'dispatching');
});
