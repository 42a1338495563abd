import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

test('GET /v1/calls lists the organisation\'s calls across agents, newest first, with filters and pages', async () => {
  const a = await callFixture(t.org, { greeting: 'Hi' }, '+14155550941');
  const b = await callFixture(t.org, { greeting: 'Hi' }, '+14155550942');
  const ids: string[] = [];
  for (const [agentId, to] of [[a.agentId, '+14155550001'], [b.agentId, '+14155550002'], [a.agentId, '+14155550003']] as const) {
    const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to });
    assert.equal(r.status, 202, r.raw);
    ids.push(r.body.id);
  }
  await t.org.req('POST', `/v1/agents/${a.agentId}/outbound-calls/${ids[0]}/cancel`);

  const all = await t.org.req('GET', '/v1/calls');
  assert.equal(all.status, 200, all.raw);
  assert.deepEqual(all.body.data.map((c: { id: string }) => c.id).slice(0, 3), [...ids].reverse());
  const byAgent = await t.org.req('GET', `/v1/calls?agent_id=${a.agentId}`);
  assert.deepEqual(byAgent.body.data.map((c: { id: string }) => c.id), [ids[2], ids[0]]);
  const canceled = await t.org.req('GET', `/v1/calls?status=canceled&agent_id=${a.agentId}`);
  assert.deepEqual(canceled.body.data.map((c: { id: string }) => c.id), [ids[0]]);
  const byTo = await t.org.req('GET', `/v1/calls?to=${encodeURIComponent('+14155550002')}`);
  assert.deepEqual(byTo.body.data.map((c: { id: string }) => c.id), [ids[1]]);
  const future = await t.org.req('GET', `/v1/calls?created_after=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
  assert.deepEqual(future.body.data, []);

  const p1 = await t.org.req('GET', `/v1/calls?limit=2`);
  assert.equal(p1.body.data.length, 2);
  assert.ok(p1.body.next_cursor);
  const p2 = await t.org.req('GET', `/v1/calls?limit=2&cursor=${encodeURIComponent(p1.body.next_cursor)}`);
  assert.equal(p2.body.data[0].id, ids[0]);

  const other = await t.newOrg('org B');
  assert.deepEqual((await other.req('GET', '/v1/calls')).body.data, [], 'another organisation sees none of them');
  const bad = await t.org.req('GET', '/v1/calls?status=answered');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.param, 'status');
});
