/**
 * An agent deleted between the claim and the dial: its call is canceled (agent_deleted) and never
 * reaches a media worker, because nobody would speak on it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { claimCalls } from '../../src/dispatch/claim.js';
import { deleteAgent } from '../../src/agents/agents.js';
import { sql } from '../../src/store/sql.js';
import type { WorkerCommand, WorkerEvent } from '../../src/worker/protocol.js';
import { CallDialer } from '../../src/worker/control/call-dialer.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { addAgent, queueCalls, statusOf, TestClock } from '../dispatch/helpers.js';

const clock = new TestClock();
let t: TestApp;
before(async () => {
  t = await startTestApp({ now: clock.now });
});
after(async () => t.close());

test('a claimed call whose agent was deleted is canceled with agent_deleted and never sent to media', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 1000 });
  const [claimedId, queuedId] = await queueCalls(t.ctx, t.org.id, agentId, 2);
  clock.advance(1000);
  // One pass claims one call per agent: the other stays queued.
  const r = await claimCalls(t.db, { workerId: 'w1', now: clock.now(), leaseMs: 10_000, batchSize: 50 });
  const claimed = r.claimed.find((c) => c.id === claimedId || c.id === queuedId);
  assert.ok(claimed, 'one of the calls was claimed');
  const stillQueued = claimed.id === claimedId ? queuedId! : claimedId!;

  const res = await deleteAgent(t.ctx, t.org.id, agentId);
  assert.equal(res.canceledCalls, 1, 'the queued call was canceled with the agent');
  assert.equal(await statusOf(t.db, stillQueued), 'canceled');
  assert.equal(await statusOf(t.db, claimed.id), 'dispatching', 'the claimed call is the dialer\'s to settle');

  const sent: WorkerCommand[] = [];
  const dialer = new CallDialer(t.ctx, { send: (c) => sent.push(c), on: (_l: (e: WorkerEvent) => void) => () => {} }, 'w1');
  await dialer.dial(claimed);
  assert.deepEqual(sent, [], 'nothing was dialed');
  assert.equal(await statusOf(t.db, claimed.id), 'canceled');
  const rows = await t.db.query<{ id: string; end_reason: string }>(
    sql`select id, end_reason from calls where id = any(${[claimed.id, stillQueued]}) order by id`,
  );
  assert.deepEqual(rows.rows.map((x) => x.end_reason), ['agent_deleted', 'agent_deleted']);
});
