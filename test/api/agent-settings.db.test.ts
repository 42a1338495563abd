/**
 * Agent settings that could not act are refused with a clear error naming the field: the
 * conversation settings a speech-to-speech model cannot honour (422 setting_not_applicable, at create,
 * at PATCH with the stored settings, and at call create for an agent stored before the rule), a
 * language on a provider other than the recognizer (a call has one language), and end_call's shape.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../../src/store/sql.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

const S2S = { provider: 'openai', api_key: 'sk-rt-0123456789' };

async function refused(method: 'POST' | 'PATCH', url: string, body: Record<string, unknown>, status: number, code: string, param: string, message?: RegExp) {
  const r = await t.org.req(method, url, body);
  assert.equal(r.status, status, `${JSON.stringify(body)} ${r.raw}`);
  assert.equal(r.body.error.code, code, r.raw);
  assert.equal(r.body.error.param, param, r.raw);
  if (message) assert.match(r.body.error.message, message);
}

describe('speech-to-speech agents: what the model cannot honour is refused', () => {
  test('conversation.vad and barge_in.min_words > 0 at create, with the reason; min_speech_ms, enabled, the lines and filler are accepted', async () => {
    await refused('POST', '/v1/agents', { name: 'rt', speech_to_speech: S2S, conversation: { vad: 'energy' } }, 422, 'setting_not_applicable', 'conversation.vad', /speech_to_speech\.options\.vad/);
    await refused('POST', '/v1/agents', { name: 'rt', speech_to_speech: S2S, conversation: { barge_in: { min_words: 2 } } }, 422, 'setting_not_applicable', 'conversation.barge_in.min_words', /only after they stop speaking/);
    const ok = await t.org.req('POST', '/v1/agents', {
      name: 'rt', speech_to_speech: S2S,
      conversation: { barge_in: { enabled: true, min_speech_ms: 800, min_words: 0 }, apology_line: 'Sorry.', filler: { after_ms: 900, phrases: ['One moment.'] } },
    });
    assert.equal(ok.status, 201, ok.raw);
    // The same settings on a cascaded agent are fine.
    const cascaded = await t.org.req('POST', '/v1/agents', { name: 'llm', llm: { provider: 'openai', model: 'm' }, conversation: { vad: 'energy', barge_in: { min_words: 2 } } });
    assert.equal(cascaded.status, 201, cascaded.raw);
  });

  test('PATCH checks the result: a vad on a speech-to-speech agent, or speech_to_speech on an agent with one', async () => {
    const rt = await t.org.req('POST', '/v1/agents', { name: 'rt', speech_to_speech: S2S });
    await refused('PATCH', `/v1/agents/${rt.body.id}`, { conversation: { vad: 'silero' } }, 422, 'setting_not_applicable', 'conversation.vad');
    const llm = await t.org.req('POST', '/v1/agents', { name: 'llm', llm: { provider: 'openai', model: 'm' }, conversation: { barge_in: { min_words: 3 } } });
    await refused('PATCH', `/v1/agents/${llm.body.id}`, { speech_to_speech: S2S, llm: null }, 422, 'setting_not_applicable', 'conversation.barge_in.min_words');
    const unchanged = await t.org.req('GET', `/v1/agents/${llm.body.id}`);
    assert.equal(unchanged.body.speech_to_speech, null, 'nothing was written');
  });

  test('a call to an agent stored with such a setting (before the rule) is refused at create: 422, nothing queued', async () => {
    const trunk = await t.org.req('POST', '/v1/trunks', { name: 'tr', host: 'sip.example.com' });
    const rt = await t.org.req('POST', '/v1/agents', { name: 'rt', speech_to_speech: S2S });
    await t.org.req('POST', '/v1/phone-numbers', { number: '+14155550999', trunk_id: trunk.body.id, outbound_agent_id: rt.body.id });
    await t.db.query(sql`update agents set conversation = ${JSON.stringify({ vad: 'energy' })}::jsonb where id = ${rt.body.id}`);
    const before = await t.db.query<{ n: number }>(sql`select count(*)::int as n from calls`);
    await refused('POST', `/v1/agents/${rt.body.id}/outbound-calls`, { to: '+14155550123', agent_overrides: { voice: 'cedar' } }, 422, 'setting_not_applicable', 'conversation.vad', /^the agent's /);
    await refused('POST', `/v1/agents/${rt.body.id}/outbound-calls`, { to: '+14155550123' }, 422, 'setting_not_applicable', 'conversation.vad');
    const afterCount = await t.db.query<{ n: number }>(sql`select count(*)::int as n from calls`);
    assert.equal(afterCount.rows[0]?.n, before.rows[0]?.n);
  });
});

describe('one language per call', () => {
  test('a language on the llm, a tts or a fallback is refused (422, naming it); stt.language and speech_to_speech.language are the rule', async () => {
    await refused('POST', '/v1/agents', { name: 'a', tts: { provider: 'espeak-ng', language: 'es-MX' } }, 422, 'setting_not_applicable', 'tts.language', /one language/);
    await refused('POST', '/v1/agents', { name: 'a', llm: { provider: 'openai', model: 'm', language: 'es' } }, 422, 'setting_not_applicable', 'llm.language');
    await refused('POST', '/v1/agents', { name: 'a', stt: { provider: 'pocketsphinx', fallbacks: [{ provider: 'deepgram', language: 'es' }] } }, 422, 'setting_not_applicable', 'stt.fallbacks[0].language');
    const ok = await t.org.req('POST', '/v1/agents', { name: 'a', language: 'en-US', stt: { provider: 'deepgram', language: 'es-MX' }, speech_to_speech: null });
    assert.equal(ok.status, 201, ok.raw);
    const agent = await t.org.req('POST', '/v1/agents', { name: 'b' });
    await refused('PATCH', `/v1/agents/${agent.body.id}`, { tts: { provider: 'espeak-ng', language: 'de' } }, 422, 'setting_not_applicable', 'tts.language');
  });
});

describe('end_call', () => {
  test('enabled belongs to end_call; declared once; a disabled one has no name; the built-in name is taken while it is offered', async () => {
    await refused('POST', '/v1/agents', { name: 'a', tools: [{ type: 'send_dtmf', enabled: false }] }, 400, 'invalid_request', 'tools[0].enabled');
    await refused('POST', '/v1/agents', { name: 'a', tools: [{ type: 'end_call' }, { type: 'end_call', name: 'bye' }] }, 400, 'invalid_request', 'tools[1]', /declared twice/);
    await refused('POST', '/v1/agents', { name: 'a', tools: [{ type: 'end_call', enabled: false, description: 'x' }] }, 400, 'invalid_request', 'tools[0]');
    await refused('POST', '/v1/agents', { name: 'a', tools: [{ type: 'http', name: 'end_call', description: 'd', url: 'https://x.example.com/t' }] }, 400, 'invalid_request', 'tools[0].name', /built-in end_call/);
    await refused('POST', '/v1/agents', { name: 'a', tools: [{ type: 'end_call', enabled: 'no' }] }, 400, 'invalid_request', 'tools[0].enabled');
    for (const tools of [
      [{ type: 'end_call', enabled: false }, { type: 'http', name: 'end_call', description: 'd', url: 'https://x.example.com/t' }],
      [{ type: 'end_call', name: 'hang_up', description: 'Hang up when booked.' }, { type: 'http', name: 'end_call', description: 'd', url: 'https://x.example.com/t' }],
    ]) {
      const r = await t.org.req('POST', '/v1/agents', { name: 'ok', tools });
      assert.equal(r.status, 201, r.raw);
      assert.deepEqual(r.body.tools, tools, 'stored as declared');
    }
  });

  test("a flow's tool node cannot run end_call (a flow hangs up with an end node)", async () => {
    const flow = { start: 't', nodes: { t: { type: 'tool', tool: 'end_call', on_success: 'e', on_failure: 'e' }, e: { type: 'end' } } };
    await refused('POST', '/v1/agents', { name: 'f', flow, tools: [{ type: 'end_call' }] }, 400, 'invalid_flow', 'flow.nodes.t.tool');
  });
});

describe('provider settings no engine of that kind reads', () => {
  test('are refused at every path, fallbacks included (422 setting_not_applicable naming the path)', async () => {
    const stt = { provider: 'deepgram' };
    const llm = { provider: 'openai', model: 'gpt-4o-mini' };
    const tts = { provider: 'elevenlabs' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ stt: { ...stt, voice: 'v' } }, 'stt.voice'],
      [{ stt: { ...stt, temperature: 0.5 } }, 'stt.temperature'],
      [{ stt: { ...stt, max_tokens: 10 } }, 'stt.max_tokens'],
      [{ stt: { ...stt, fallbacks: [{ ...stt, voice: 'v' }] } }, 'stt.fallbacks[0].voice'],
      [{ stt: { ...stt, fallbacks: [{ ...stt, temperature: 0.5 }] } }, 'stt.fallbacks[0].temperature'],
      [{ stt: { ...stt, fallbacks: [{ ...stt, max_tokens: 10 }] } }, 'stt.fallbacks[0].max_tokens'],
      [{ stt: { ...stt, fallbacks: [{ ...stt, language: 'es' }] } }, 'stt.fallbacks[0].language'],
      [{ llm: { ...llm, language: 'es' } }, 'llm.language'],
      [{ llm: { ...llm, voice: 'alloy' } }, 'llm.voice'],
      [{ llm: { ...llm, fallbacks: [{ ...llm, language: 'es' }] } }, 'llm.fallbacks[0].language'],
      [{ llm: { ...llm, fallbacks: [{ ...llm, voice: 'alloy' }] } }, 'llm.fallbacks[0].voice'],
      [{ tts: { ...tts, language: 'es' } }, 'tts.language'],
      [{ tts: { ...tts, temperature: 0.5 } }, 'tts.temperature'],
      [{ tts: { ...tts, max_tokens: 10 } }, 'tts.max_tokens'],
      [{ tts: { ...tts, fallbacks: [{ ...tts, language: 'es' }] } }, 'tts.fallbacks[0].language'],
      [{ tts: { ...tts, fallbacks: [{ ...tts, temperature: 0.5 }] } }, 'tts.fallbacks[0].temperature'],
      [{ tts: { ...tts, fallbacks: [{ ...tts, max_tokens: 10 }] } }, 'tts.fallbacks[0].max_tokens'],
    ];
    for (const [body, path] of cases) {
      await refused('POST', '/v1/agents', { name: 'n/a', ...body }, 422, 'setting_not_applicable', path);
    }
    // The Realtime model has no sampling temperature: refused like any other setting it would ignore.
    await refused('POST', '/v1/agents', { name: 'n/a', speech_to_speech: { ...S2S, temperature: 0.8 } }, 422, 'setting_not_applicable', 'speech_to_speech.temperature', /speech-to-speech model/);
  });
});
