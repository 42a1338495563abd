import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { claimCalls } from '../../src/dispatch/claim.js';
import { sql } from '../../src/store/sql.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { addAgent, move, queueCalls, TestClock } from './helpers.js';

const clock = new TestClock();
let t: TestApp;
before(async () => {
  t = await startTestApp({ now: clock.now });
});
after(async () => t.close());

/** One pass; returns the ids claimed among `mine` (other tests' leftovers are ignored). */
async function claimMine(mine: readonly string[]): Promise<string[]> {
  const r = await claimCalls(t.db, { workerId: 'w1', now: clock.now(), leaseMs: 60_000, batchSize: 50 });
  return r.claimed.map((c) => c.id).filter((id) => mine.includes(id));
}

/** Passes every stepMs for durationMs (the clock moves after each pass); returns all claimed. */
async function claimOver(mine: readonly string[], durationMs: number, stepMs: number): Promise<string[]> {
  const got: string[] = [];
  for (let elapsed = 0; elapsed < durationMs; elapsed += stepMs) {
    got.push(...(await claimMine(mine)));
    clock.advance(stepMs);
  }
  return got;
}

async function finish(orgId: string, id: string) {
  for (const s of ['dialing', 'in_progress', 'completed'] as const) await move(t.db, orgId, id, s, clock.now());
}

test('agent max_cps 2 starts 2 calls per second; the rest stay queued and go as time advances', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 2 });
  const ids = await queueCalls(t.ctx, t.org.id, agentId, 6);
  const first = await claimOver(ids, 1000, 50);
  assert.deepEqual(first, ids.slice(0, 2), 'two calls in the first second, oldest first');
  const queued = await t.db.query<{ n: number }>(sql`select count(*)::int as n from calls where agent_id = ${agentId} and status = 'queued'`);
  assert.equal(queued.rows[0]?.n, 4);
  const second = await claimOver(ids, 1000, 50);
  assert.deepEqual(second, ids.slice(2, 4), 'two more in the next second');
});

test('the pass reports when a CPS-limited call may go', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 4 });
  const ids = await queueCalls(t.ctx, t.org.id, agentId, 2);
  const start = clock.ms;
  assert.equal((await claimMine(ids)).length, 1);
  const r = await claimCalls(t.db, { workerId: 'w1', now: clock.now(), leaseMs: 60_000, batchSize: 50 });
  assert.equal(r.claimed.filter((c) => ids.includes(c.id)).length, 0);
  assert.ok(r.nextAt !== null && r.nextAt.getTime() <= start + 250, `next slot at most 250 ms away, got ${r.nextAt?.toISOString()}`);
  assert.ok(r.nextAt.getTime() > clock.ms);
});

test('trunk max_cps caps calls across all the agents on the trunk', async () => {
  const a = await addAgent(t.ctx, t.org.id, { maxCps: 100, trunk: { maxCps: 1 } });
  const b = await addAgent(t.ctx, t.org.id, { maxCps: 100, trunkId: a.trunkId });
  const c = await addAgent(t.ctx, t.org.id, { maxCps: 100, trunkId: a.trunkId });
  const ids = [
    ...(await queueCalls(t.ctx, t.org.id, a.agentId, 2)),
    ...(await queueCalls(t.ctx, t.org.id, b.agentId, 2)),
    ...(await queueCalls(t.ctx, t.org.id, c.agentId, 2)),
  ];
  assert.equal((await claimOver(ids, 1000, 20)).length, 1, 'one call per second over the trunk');
  assert.equal((await claimOver(ids, 3000, 20)).length, 3, 'and one each second after');
});

test('trunk concurrency: at most max_concurrent_calls active; finishing one frees a slot', async () => {
  const a = await addAgent(t.ctx, t.org.id, { maxCps: 1000, trunk: { maxConcurrent: 2 } });
  const b = await addAgent(t.ctx, t.org.id, { maxCps: 1000, trunkId: a.trunkId });
  const ids = [...(await queueCalls(t.ctx, t.org.id, a.agentId, 3)), ...(await queueCalls(t.ctx, t.org.id, b.agentId, 3))];
  const got = await claimOver(ids, 2000, 100);
  assert.equal(got.length, 2);
  await finish(t.org.id, got[0]!);
  const more = await claimOver(ids, 2000, 100);
  assert.equal(more.length, 1, 'exactly the freed slot is used');
});

test('agent concurrency: at most max_concurrent_calls active for the agent', async () => {
  const a = await addAgent(t.ctx, t.org.id, { maxCps: 1000, maxConcurrent: 1 });
  const ids = await queueCalls(t.ctx, t.org.id, a.agentId, 3);
  const got = await claimOver(ids, 2000, 100);
  assert.deepEqual(got, ids.slice(0, 1));
  await finish(t.org.id, got[0]!);
  assert.deepEqual(await claimOver(ids, 2000, 100), ids.slice(1, 2));
});

test('organization concurrency: holds across agents and trunks', async () => {
  const org = await t.newOrg('limited org');
  await t.db.query(sql`update organizations set max_concurrent_calls = 2 where id = ${org.id}`);
  const a = await addAgent(t.ctx, org.id, { maxCps: 1000 });
  const b = await addAgent(t.ctx, org.id, { maxCps: 1000 });
  const ids = [...(await queueCalls(t.ctx, org.id, a.agentId, 3)), ...(await queueCalls(t.ctx, org.id, b.agentId, 3))];
  const got = await claimOver(ids, 2000, 100);
  assert.equal(got.length, 2);
  await finish(org.id, got[1]!);
  assert.equal((await claimOver(ids, 2000, 100)).length, 1);
  const active = await t.db.query<{ n: number }>(
    sql`select count(*)::int as n from calls where org_id = ${org.id} and status in ('dispatching','dialing','in_progress')`,
  );
  assert.equal(active.rows[0]?.n, 2);
});
