import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../../src/store/sql.js';
import { callFixture, startTestApp, type TestApp, type TestOrg } from '../helpers/test-app.js';

let t: TestApp;
let a: TestOrg;
let b: TestOrg;
before(async () => {
  t = await startTestApp();
  a = t.org;
  b = await t.newOrg('org B');
});
after(async () => t.close());

test('no key, a malformed header, an unknown or revoked key: 401 with the envelope', async () => {
  const none = await t.app.inject({ method: 'GET', url: '/v1/agents' });
  assert.equal(none.statusCode, 401);
  assert.equal(none.json().error.code, 'unauthorized');
  for (const authorization of ['Basic abc', 'Bearer', 'Bearer oc_not_a_real_key']) {
    const r = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization } });
    assert.equal(r.statusCode, 401, authorization);
  }
  await t.db.query(sql`update api_keys set revoked_at = now() where org_id = ${b.id}`);
  const revoked = await b.req('GET', '/v1/agents');
  assert.equal(revoked.status, 401);
  await t.db.query(sql`update api_keys set revoked_at = null where org_id = ${b.id}`);
});

test('X-Api-Key is accepted as well as Bearer, and keys are stored only as hashes', async () => {
  const r = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: { 'x-api-key': a.key } });
  assert.equal(r.statusCode, 200);
  const rows = await t.db.query<{ key_hash: string }>(sql`select key_hash from api_keys`);
  for (const row of rows.rows) {
    assert.match(row.key_hash, /^[0-9a-f]{64}$/);
    assert.notEqual(row.key_hash, a.key);
  }
  const raw = JSON.stringify((await t.db.query(sql`select * from api_keys`)).rows);
  assert.ok(!raw.includes(a.key) && !raw.includes(b.key));
});

test("an organization never sees or touches another's data: 404 everywhere", async () => {
  const fx = await callFixture(a);
  const call = await a.req('POST', `/v1/agents/${fx.agentId}/outbound-calls`, { to: '+14155550123' });
  assert.equal(call.status, 202);
  const probes: Array<[string, string, unknown?]> = [
    ['GET', `/v1/agents/${fx.agentId}`],
    ['PATCH', `/v1/agents/${fx.agentId}`, { name: 'stolen' }],
    ['DELETE', `/v1/agents/${fx.agentId}`],
    ['GET', `/v1/trunks/${fx.trunkId}`],
    ['PATCH', `/v1/trunks/${fx.trunkId}`, { host: 'evil.example' }],
    ['DELETE', `/v1/trunks/${fx.trunkId}`],
    ['GET', `/v1/phone-numbers/${fx.numberId}`],
    ['PATCH', `/v1/phone-numbers/${fx.numberId}`, { outbound_agent_id: null }],
    ['DELETE', `/v1/phone-numbers/${fx.numberId}`],
    ['GET', `/v1/agents/${fx.agentId}/outbound-calls/${call.body.id}`],
    ['GET', `/v1/agents/${fx.agentId}/outbound-calls`],
    ['POST', `/v1/agents/${fx.agentId}/outbound-calls/${call.body.id}/cancel`],
    ['POST', `/v1/agents/${fx.agentId}/outbound-calls`, { to: '+14155550123', from: fx.number }],
    ['GET', `/v1/calls/${call.body.id}`],
    ['GET', `/v1/calls/${call.body.id}/events`],
  ];
  for (const [method, url, body] of probes) {
    const r = await b.req(method, url, body);
    assert.equal(r.status, 404, `${method} ${url}: ${r.raw}`);
  }
  // B cannot use A's trunk or agent by id either.
  const n = await b.req('POST', '/v1/phone-numbers', { number: '+14155550999', trunk_id: fx.trunkId });
  assert.equal(n.status, 404);
  // B's lists are empty; A's data is untouched.
  for (const u of ['/v1/agents', '/v1/trunks', '/v1/phone-numbers']) assert.deepEqual((await b.req('GET', u)).body.data, [], u);
  assert.equal((await a.req('GET', `/v1/agents/${fx.agentId}`)).body.name, 'Caller');
  assert.equal((await a.req('GET', `/v1/calls/${call.body.id}`)).body.status, 'queued');
  // The same number may exist in two organizations.
  const bt = await b.req('POST', '/v1/trunks', { name: 'b', host: 'b.example' });
  assert.equal((await b.req('POST', '/v1/phone-numbers', { number: fx.number, trunk_id: bt.body.id })).status, 201);
});

test('idempotency keys are per organization', async () => {
  const fa = await callFixture(a, {}, '+14155550101');
  const bt = await b.req('POST', '/v1/trunks', { name: 'b2', host: 'b.example' });
  const bag = await b.req('POST', '/v1/agents', { name: 'B agent' });
  await b.req('POST', '/v1/phone-numbers', { number: '+14155550555', trunk_id: bt.body.id, outbound_agent_id: bag.body.id });
  const ra = await a.req('POST', `/v1/agents/${fa.agentId}/outbound-calls`, { to: '+14155550123' }, { 'idempotency-key': 'shared' });
  const rb = await b.req('POST', `/v1/agents/${bag.body.id}/outbound-calls`, { to: '+14155550123' }, { 'idempotency-key': 'shared' });
  assert.equal(ra.status, 202);
  assert.equal(rb.status, 202);
  assert.notEqual(ra.body.id, rb.body.id);
});
