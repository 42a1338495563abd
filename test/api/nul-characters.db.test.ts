/**
 * A NUL character (U+0000) in anything the API would store or look up is refused with 400
 * invalid_request naming the field, before the store sees it (PostgreSQL and PGlite text and jsonb
 * cannot hold it: without the guard these were 500 internal_error). Nothing is written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../../src/store/sql.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let fx: Awaited<ReturnType<typeof callFixture>>;

before(async () => {
  t = await startTestApp();
  fx = await callFixture(t.org);
});
after(async () => t.close());

const count = async (table: 'agents' | 'calls' | 'phone_numbers') =>
  Number((await t.db.query<{ n: number }>(sql`select count(*)::int as n from ${sql([table] as unknown as TemplateStringsArray)}`)).rows[0]?.n);

describe('NUL characters', () => {
  test('in a path id, on every kind of route: 400 invalid_request naming the parameter', async () => {
    const cases: Array<[string, string, unknown?]> = [
      ['GET', '/v1/calls/call_%00abc'],
      ['GET', '/v1/agents/ag%00x'],
      ['PATCH', '/v1/agents/ag%00x', { name: 'x' }],
      ['DELETE', '/v1/trunks/tr%00x'],
      ['POST', '/v1/calls/call_%00/cancel'],
      ['GET', '/v1/transcripts/tr%00'],
      ['POST', '/v1/agents/%00/outbound-calls', { to: '+14155550123' }],
    ];
    for (const [method, url, body] of cases) {
      const r = await t.org.req(method, url, body);
      assert.equal(r.status, 400, `${method} ${url}: ${r.raw}`);
      assert.equal(r.body.error.code, 'invalid_request', r.raw);
      assert.match(r.body.error.message, /NUL character/, r.raw);
      assert.ok(typeof r.body.error.param === 'string' && r.body.error.param.length > 0, r.raw);
    }
  });

  test('in a body field, a nested field, a key or a query parameter: 400 naming it, nothing written', async () => {
    const agents = await count('agents');
    const greeting = await t.org.req('POST', '/v1/agents', { name: 'nul', greeting: 'Hello\u0000there' });
    assert.deepEqual([greeting.status, greeting.body.error.code, greeting.body.error.param], [400, 'invalid_request', 'greeting'], greeting.raw);
    const tool = await t.org.req('POST', '/v1/agents', { name: 'nul', tools: [{ type: 'end_call' }, { type: 'end_call', description: 'bye\u0000' }] });
    assert.deepEqual([tool.status, tool.body.error.param], [400, 'tools[1].description'], tool.raw);
    assert.equal(await count('agents'), agents, 'no agent written');

    const calls = await count('calls');
    const url = `/v1/agents/${fx.agentId}/outbound-calls`;
    const meta = await t.org.req('POST', url, { to: '+14155550123', metadata: { order: { 'id\u0000': 1 } } });
    assert.deepEqual([meta.status, meta.body.error.param], [400, 'metadata.order.id\u0000'], meta.raw);
    const vars = await t.org.req('POST', url, { to: '+14155550123', dynamic_variables: { name: 'A\u0000' } });
    assert.deepEqual([vars.status, vars.body.error.param], [400, 'dynamic_variables.name'], vars.raw);
    assert.equal(await count('calls'), calls, 'no call written');

    const numbers = await count('phone_numbers');
    const pn = await t.org.req('POST', '/v1/phone-numbers', { number: '+14155550999', trunk_id: `${fx.trunkId}\u0000` });
    assert.deepEqual([pn.status, pn.body.error.param], [400, 'trunk_id'], pn.raw);
    assert.equal(await count('phone_numbers'), numbers);

    const q = await t.org.req('GET', '/v1/calls?agent_id=ag%00');
    assert.deepEqual([q.status, q.body.error.code, q.body.error.param], [400, 'invalid_request', 'agent_id'], q.raw);
  });

  test('a NUL written as text ("\\\\u0000" escaped, or anything else) stays fine: only the character is refused', async () => {
    const r = await t.org.req('POST', '/v1/agents', { name: 'escaped', greeting: 'a \\u0000 is six characters here' });
    assert.equal(r.status, 201, r.raw);
    assert.equal(r.body.greeting, 'a \\u0000 is six characters here');
  });
});
