import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../../src/store/sql.js';
import { DEMO_FLOW } from '../../src/sandbox/seed.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * An LLM agent needs a recognizer that hears any words. When its only recognizer is the npm grammar
 * recognizer (named, or the local default on a machine without pocketsphinx), the call is refused
 * at create time (422, before anything is queued or dialed), with what to install or set.
 */
let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

const LLM = { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-test' };

async function calls(agentId: string): Promise<number> {
  const r = await t.db.query<{ n: number }>(sql`select count(*)::int as n from calls where agent_id = ${agentId}`);
  return Number(r.rows[0]?.n);
}

test('an LLM agent hearing only with soundswallower is refused before dialing; pocketsphinx, a cloud fallback or a flow agent are not', async () => {
  const grammarOnly = await callFixture(t.org, { llm: LLM, stt: { provider: 'soundswallower' } }, '+14155550111');
  const res = await t.org.req('POST', `/v1/agents/${grammarOnly.agentId}/outbound-calls`, { to: '+14155550123' });
  assert.equal(res.status, 422, res.raw);
  assert.equal(res.body.error.code, 'open_vocabulary_stt_required');
  assert.equal(res.body.error.param, 'stt.provider');
  assert.match(res.body.error.message, /apt-get install pocketsphinx pocketsphinx-en-us/);
  assert.match(res.body.error.message, /deepgram, openai or assemblyai/);
  assert.equal(await calls(grammarOnly.agentId), 0, 'nothing queued');

  const withCloud = await callFixture(t.org, { llm: LLM, stt: { provider: 'soundswallower', fallbacks: [{ provider: 'deepgram', api_key: 'dg-test' }] } }, '+14155550112');
  assert.equal((await t.org.req('POST', `/v1/agents/${withCloud.agentId}/outbound-calls`, { to: '+14155550123' })).status, 202);

  const flow = await callFixture(t.org, { flow: DEMO_FLOW, stt: { provider: 'soundswallower' } }, '+14155550113');
  assert.equal((await t.org.req('POST', `/v1/agents/${flow.agentId}/outbound-calls`, { to: '+14155550123' })).status, 202);
});

test('an LLM agent naming no recognizer is refused when the local default is the grammar recognizer, accepted with pocketsphinx', async () => {
  const agent = await callFixture(t.org, { llm: LLM }, '+14155550114');
  const before = process.env.OUTCALL_LOCAL_STT;
  try {
    process.env.OUTCALL_LOCAL_STT = 'soundswallower'; // as on a machine without pocketsphinx_continuous
    const res = await t.org.req('POST', `/v1/agents/${agent.agentId}/outbound-calls`, { to: '+14155550123' });
    assert.equal(res.status, 422, res.raw);
    assert.equal(res.body.error.code, 'open_vocabulary_stt_required');
    assert.match(res.body.error.message, /no pocketsphinx/);
    process.env.OUTCALL_LOCAL_STT = 'pocketsphinx';
    assert.equal((await t.org.req('POST', `/v1/agents/${agent.agentId}/outbound-calls`, { to: '+14155550123' })).status, 202);
  } finally {
    if (before === undefined) delete process.env.OUTCALL_LOCAL_STT;
    else process.env.OUTCALL_LOCAL_STT = before;
  }
});

test('inbound: a number is not given an LLM agent that hears only a grammar (422 naming inbound_agent_id); a flow agent is', async () => {
  const grammarOnly = await callFixture(t.org, { llm: LLM, stt: { provider: 'soundswallower' } }, '+14155550115');
  const trunk = (await t.org.req('POST', '/v1/trunks', { name: 'in', host: '127.0.0.1' })).body.id as string;
  const refused = await t.org.req('POST', '/v1/phone-numbers', { number: '+14155550116', trunk_id: trunk, inbound_agent_id: grammarOnly.agentId });
  assert.equal(refused.status, 422, refused.raw);
  assert.deepEqual([refused.body.error.code, refused.body.error.param], ['open_vocabulary_stt_required', 'inbound_agent_id']);
  assert.equal((await t.org.req('GET', '/v1/phone-numbers/+14155550116')).status, 404, 'nothing stored');
  const flow = await callFixture(t.org, { flow: DEMO_FLOW, stt: { provider: 'soundswallower' } }, '+14155550117');
  const number = await t.org.req('POST', '/v1/phone-numbers', { number: '+14155550118', trunk_id: trunk, inbound_agent_id: flow.agentId });
  assert.equal(number.status, 201, number.raw);
  // Given to a number already: a PATCH to it is checked the same way.
  const patched = await t.org.req('PATCH', `/v1/phone-numbers/${number.body.id}`, { inbound_agent_id: grammarOnly.agentId });
  assert.equal(patched.status, 422, patched.raw);
});
