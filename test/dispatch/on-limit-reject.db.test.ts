import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { claimCalls } from '../../src/dispatch/claim.js';
import { sql } from '../../src/store/sql.js';
import { callFixture, startTestApp, type TestApp, type TestOrg } from '../helpers/test-app.js';
import { move, TestClock } from './helpers.js';

const clock = new TestClock();
let t: TestApp;
before(async () => {
  t = await startTestApp({ now: clock.now });
});
after(async () => t.close());

let n = 0;
/** A fresh organization (so counts and limits of other tests never mix in) with a fixture. */
async function setup(agent: Record<string, unknown>, orgMax?: number) {
  const org = await t.newOrg();
  if (orgMax !== undefined) await t.db.query(sql`update organizations set max_concurrent_calls = ${orgMax} where id = ${org.id}`);
  const f = await callFixture(org, agent, `+1415777${String(++n).padStart(4, '0')}`);
  return { org, ...f };
}

const place = (org: TestOrg, agentId: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', ...body }, headers);

async function written(orgId: string) {
  const r = await t.db.query<{ calls: number; events: number; keys: number }>(sql`select
    (select count(*)::int from calls where org_id = ${orgId}) as calls,
    (select count(*)::int from call_events where org_id = ${orgId}) as events,
    (select count(*)::int from idempotency_keys where org_id = ${orgId}) as keys`);
  return r.rows[0];
}

function assertRejected(res: Awaited<ReturnType<typeof place>>, retryAfter: string) {
  assert.equal(res.status, 429, res.raw);
  assert.equal(res.body.error.code, 'rate_limited');
  assert.equal(res.headers['retry-after'], retryAfter);
  assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/, 'whole seconds, at least 1');
}

test('agent CPS, on_limit reject: the call over the limit gets 429 + Retry-After and nothing is written', async () => {
  const { org, agentId } = await setup({ on_limit: 'reject', max_cps: 1 });
  assert.equal((await place(org, agentId)).status, 202);
  const before = await written(org.id);
  const res = await place(org, agentId, {}, { 'idempotency-key': 'k-1' });
  assertRejected(res, '1');
  assert.deepEqual(await written(org.id), before, 'no call, no event, no idempotency key');
  // Claimed now: the bucket holds the agent's next slot at +1 s.
  const claimed = await claimCalls(t.db, { workerId: 'w1', now: clock.now(), leaseMs: 30_000, batchSize: 50 });
  assert.ok(claimed.claimed.some((c) => c.agentId === agentId));
  clock.advance(400);
  assert.equal((await place(org, agentId)).status, 202, 'its slot (+1 s) is within the coming second: accepted, paced');
  assertRejected(await place(org, agentId), '1'); // its slot would be +2 s
  clock.advance(600);
  await claimCalls(t.db, { workerId: 'w1', now: clock.now(), leaseMs: 30_000, batchSize: 50 }); // the dispatcher starts the paced call
  clock.advance(1);
  const retried = await place(org, agentId, {}, { 'idempotency-key': 'k-1' });
  assert.equal(retried.status, 202, 'accepted once its slot is under a second away');
  assert.equal(retried.headers['idempotent-replayed'], undefined, 'the refused key was never stored');
});

test('trunk CPS rejects with the wait in whole seconds, rounded up', async () => {
  const { org, agentId, trunkId } = await setup({ on_limit: 'reject', max_cps: 1000 });
  assert.equal((await org.req('PATCH', `/v1/trunks/${trunkId}`, { max_cps: 0.4 })).status, 200);
  assert.equal((await place(org, agentId)).status, 202);
  // One call ahead at 0.4 cps: its slot is 2.5 s away, acceptable once under 1 s away: in 1.5 s -> 2.
  assertRejected(await place(org, agentId), '2');
});

test('agent and organization concurrency reject while calls are active; finishing one admits the next', async () => {
  const agentLimited = await setup({ on_limit: 'reject', max_cps: 1000, max_concurrent_calls: 1 });
  const orgLimited = await setup({ on_limit: 'reject', max_cps: 1000 }, 1);
  for (const { org, agentId } of [agentLimited, orgLimited]) {
    const first = await place(org, agentId);
    assert.equal(first.status, 202);
    assertRejected(await place(org, agentId), '5');
    clock.advance(1000);
    await claimCalls(t.db, { workerId: 'w1', now: clock.now(), leaseMs: 30_000, batchSize: 50 });
    assertRejected(await place(org, agentId), '5');
    for (const s of ['dialing', 'in_progress', 'completed'] as const) await move(t.db, org.id, first.body.id, s, clock.now());
    const third = await place(org, agentId);
    assert.equal(third.status, 202, third.raw);
  }
});

test('on_limit queue never rejects, and a call scheduled for later is not checked against now', async () => {
  const queue = await setup({ max_cps: 1 });
  for (let i = 0; i < 3; i++) assert.equal((await place(queue.org, queue.agentId)).status, 202);
  const reject = await setup({ on_limit: 'reject', max_cps: 1 });
  assert.equal((await place(reject.org, reject.agentId)).status, 202);
  const later = new Date(clock.ms + 3_600_000).toISOString();
  assert.equal((await place(reject.org, reject.agentId, { scheduled_at: later })).status, 202);
});
