import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallStatus } from '../../src/contract/status.js';
import { transitionCall } from '../../src/calls/transitions.js';
import { failOverdueCalls, OVERDUE_GRACE_S } from '../../src/dispatch/overdue.js';
import { sql } from '../../src/store/sql.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let agentId: string;
const t0 = Date.parse('2026-07-01T10:00:00Z');
before(async () => {
  t = await startTestApp();
  agentId = (await callFixture(t.org)).agentId;
});
after(async () => t.close());

async function callIn(status: 'dialing' | 'in_progress', body: Record<string, unknown>): Promise<string> {
  const c = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', callback_url: 'https://client.example.com/r', ...body });
  const path: CallStatus[] = status === 'dialing' ? ['dispatching', 'dialing'] : ['dispatching', 'dialing', 'in_progress'];
  for (const to of path) await t.db.transaction((tx) => transitionCall(tx, { orgId: t.org.id, callId: c.body.id, to, at: new Date(t0) }));
  await t.db.query(sql`update calls set dial_started_at = ${new Date(t0)} where id = ${c.body.id}`);
  return c.body.id;
}

test('a call past its own limit plus the grace is failed as overdue, once, with its result webhook; one within it is left alone', async () => {
  const ringing = await callIn('dialing', { ring_timeout_s: 30 });
  const talking = await callIn('in_progress', { max_duration_s: 60 });
  const at = (s: number) => new Date(t0 + s * 1000);
  assert.deepEqual(await failOverdueCalls(t.db, { now: at(30 + OVERDUE_GRACE_S) }), [], 'not one second early');
  assert.deepEqual(await failOverdueCalls(t.db, { now: at(30 + OVERDUE_GRACE_S + 1) }), [ringing]);
  assert.deepEqual(await failOverdueCalls(t.db, { now: at(60 + OVERDUE_GRACE_S + 1) }), [talking]);
  assert.deepEqual(await failOverdueCalls(t.db, { now: at(10_000) }), [], 'each only once');
  for (const id of [ringing, talking]) {
    const c = (await t.org.req('GET', `/v1/calls/${id}`)).body;
    assert.deepEqual([c.status, c.end_reason], ['failed', 'overdue']);
    const ev = await t.db.query<{ type: string }>(sql`select type from webhook_events where call_id = ${id}`);
    assert.deepEqual(ev.rows.map((e) => e.type), ['call.result']);
  }
});
