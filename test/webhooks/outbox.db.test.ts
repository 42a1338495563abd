import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallStatus } from '../../src/contract/status.js';
import { transitionCall } from '../../src/calls/transitions.js';
import { sql } from '../../src/store/sql.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let agentId: string;
before(async () => {
  t = await startTestApp();
  agentId = (await callFixture(t.org, { webhook_url: 'https://agent-default.example.com/hook' })).agentId;
});
after(async () => t.close());

async function events(callId: string) {
  const r = await t.db.query<{ type: string; body: string }>(sql`select e.type, e.body from webhook_events e where call_id = ${callId} order by e.created_at, e.id`);
  return r.rows;
}

async function walk(callId: string, path: CallStatus[], facts: Record<string, unknown> = {}) {
  for (const to of path) {
    await t.db.transaction((tx) => transitionCall(tx, { orgId: t.org.id, callId, to, at: new Date(), facts: to === path.at(-1) ? facts : {} }));
  }
}

test('status callbacks fire for subscribed events only, and the result webhook at the terminal status', async () => {
  const metadataText = '{"zeta":{"y":1,"x":[3,2,1]},"alpha":"ü","n":1.5}';
  const c = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, `{"to":"+14155550123","metadata":${metadataText},"callback_url":"https://client.example.com/result","status_callback":{"url":"https://client.example.com/status","events":["initiated","answered","completed"]}}`);
  assert.equal(c.status, 202, c.raw);
  await walk(c.body.id, ['dispatching', 'dialing', 'in_progress', 'completed'], { sipStatusCode: 200, endReason: 'callee_hangup' });
  const evs = await events(c.body.id);
  assert.deepEqual(evs.map((e) => e.type), ['call.initiated', 'call.answered', 'call.completed', 'call.result']);
  const result = evs.at(-1)!;
  assert.ok(result.body.includes(`"metadata":${metadataText}`), 'metadata echoed verbatim, key order and all');
  const data = JSON.parse(result.body).data;
  assert.equal(data.status, 'completed');
  assert.equal(data.sip_status_code, 200);
  assert.equal(data.end_reason, 'callee_hangup');
  assert.equal(data.transcript_id, null);
  assert.equal(typeof data.duration_s, 'number');
  const deliveries = await t.db.query<{ url: string; method: string; status: string }>(
    sql`select d.url, d.method, d.status from webhook_deliveries d join webhook_events e on e.id = d.event_id where e.call_id = ${c.body.id} order by d.created_at, d.id`,
  );
  assert.deepEqual(deliveries.rows.map((d) => d.url), [
    'https://client.example.com/status',
    'https://client.example.com/status',
    'https://client.example.com/status',
    'https://client.example.com/result',
  ]);
  assert.ok(deliveries.rows.every((d) => d.status === 'pending' && d.method === 'POST'));
});

test("the agent's webhook_url is the default callback; without status_callback there are no status events", async () => {
  const c = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123' });
  await walk(c.body.id, ['dispatching', 'dialing', 'busy'], { sipStatusCode: 486, endReason: 'busy' });
  const evs = await events(c.body.id);
  assert.deepEqual(evs.map((e) => e.type), ['call.result']);
  const d = await t.db.query<{ url: string }>(sql`select d.url from webhook_deliveries d join webhook_events e on e.id = d.event_id where e.call_id = ${c.body.id}`);
  assert.deepEqual(d.rows.map((r) => r.url), ['https://agent-default.example.com/hook']);
  assert.equal(JSON.parse(evs[0]!.body).data.sip_status_code, 486);
});

test('a canceled queued call gets exactly one result webhook', async () => {
  const c = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', callback_url: 'https://client.example.com/r', status_callback: { url: 'https://client.example.com/s' } });
  await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls/${c.body.id}/cancel`);
  const evs = await events(c.body.id);
  assert.deepEqual(evs.map((e) => e.type), ['call.canceled', 'call.result']);
  assert.equal(JSON.parse(evs[1]!.body).data.end_reason, 'canceled_by_api');
});

test('events exist exactly when the status does: a rolled-back transition leaves none', async () => {
  const c = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', callback_url: 'https://client.example.com/r' });
  await walk(c.body.id, ['dispatching', 'dialing']);
  await assert.rejects(
    t.db.transaction(async (tx) => {
      await transitionCall(tx, { orgId: t.org.id, callId: c.body.id, to: 'failed', at: new Date() });
      throw new Error('crash before commit');
    }),
  );
  assert.deepEqual(await events(c.body.id), []);
  const status = await t.org.req('GET', `/v1/calls/${c.body.id}`);
  assert.equal(status.body.status, 'dialing');
});
