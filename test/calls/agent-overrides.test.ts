import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOverrides, checkOverrides } from '../../src/calls/agent-overrides.js';
import { OutcallError } from '../../src/errors.js';
import type { AgentRow } from '../../src/store/agent-rows.js';
import { voiceSpecFor } from '../../src/agents/voice-spec.js';

const agent = {
  id: 'agt_1', system_prompt: 'Be brief.', greeting: 'Hi', language: 'en-US', voice: null, flow: null, tools: [], conversation: null,
  stt: { provider: 'deepgram', language: 'en-GB', has_api_key: true },
  llm: { provider: 'anthropic', model: 'claude-haiku-4-5', temperature: 0.2, has_api_key: true, fallbacks: [{ provider: 'openai', model: 'gpt-4o-mini', has_api_key: false }] },
  tts: { provider: 'elevenlabs', voice: 'George', has_api_key: true, fallbacks: [{ provider: 'espeak-ng', voice: 'en-us', has_api_key: false }] },
  speech_to_speech: null,
} as unknown as AgentRow;

test("agent_overrides reach the worker: the call's language for every engine, its voice for the first TTS, its sampling for the first model", () => {
  const secrets = { stt: 'dg', llm: 'an', tts: 'el' };
  const overrides = { language: 'es-MX', voice: 'Lucia', llm: { temperature: 0.7, max_tokens: 80 } };
  const spec = voiceSpecFor(applyOverrides(agent, overrides), { callContext: null, dynamicVariables: {}, options: { agent_overrides: overrides } }, secrets);
  assert.equal(spec?.language, 'es-MX');
  assert.equal(spec?.speech?.stt?.language, 'es-MX', "over the agent's own stt.language");
  assert.equal(spec?.speech?.language, 'es-MX', 'the TTS chain speaks it');
  assert.equal(spec?.speech?.tts?.voice, 'Lucia');
  assert.deepEqual(spec?.speech?.tts?.fallbacks, [{ provider: 'espeak-ng', voice: 'en-us' }], 'a fallback keeps its own voice');
  assert.deepEqual(
    { ...spec?.llm, fallbacks: undefined },
    { provider: 'anthropic', model: 'claude-haiku-4-5', temperature: 0.7, max_tokens: 80, api_key: 'an', fallbacks: undefined },
  );
  // Without overrides the agent's own settings go out unchanged.
  const plain = voiceSpecFor(applyOverrides(agent, null), { callContext: null, dynamicVariables: {} }, secrets);
  // stt.language is more specific than the agent's en-US: the whole call is in it.
  assert.equal(plain?.speech?.stt?.language, 'en-GB');
  assert.equal(plain?.language, 'en-GB');
  assert.equal(plain?.speech?.tts?.voice, 'George');
  assert.equal(plain?.llm?.temperature, 0.2);
  assert.equal(applyOverrides(agent, undefined), agent);
});

test('agent_overrides on a speech-to-speech agent set the model voice and language; an agent without tts gets the voice as its own', () => {
  const s2s = { ...agent, stt: null, tts: null, llm: null, speech_to_speech: { provider: 'openai', voice: 'marin', has_api_key: true } } as unknown as AgentRow;
  const overrides = { voice: 'cedar', language: 'fr-FR' };
  const a = applyOverrides(s2s, overrides);
  assert.deepEqual(a.speech_to_speech, { provider: 'openai', voice: 'cedar', has_api_key: true });
  const spec = voiceSpecFor(a, { callContext: null, dynamicVariables: {}, options: { agent_overrides: overrides } }, { speech_to_speech: 'sk' });
  assert.deepEqual(spec?.speechToSpeech, { provider: 'openai', voice: 'cedar', language: 'fr-FR', api_key: 'sk' }, 'the call language reaches the model');
  assert.equal(a.voice, 'cedar');
  assert.equal(s2s.speech_to_speech?.voice, 'marin', 'the agent row itself is not changed');
});

test("agent_overrides.llm on a speech-to-speech agent sets the Realtime model and its output cap, checked against the Realtime interface's limits", () => {
  const s2s = { ...agent, stt: null, tts: null, llm: null, speech_to_speech: { provider: 'openai', model: 'gpt-realtime', has_api_key: true } } as unknown as AgentRow;
  const a = applyOverrides(s2s, { llm: { model: 'gpt-realtime-mini', max_tokens: 200 } });
  assert.deepEqual(a.speech_to_speech, { provider: 'openai', model: 'gpt-realtime-mini', max_tokens: 200, has_api_key: true });
  assert.doesNotThrow(() => checkOverrides(s2s, { llm: { max_tokens: 200 } }));
  for (const llm of [{ max_tokens: 5000 }, { temperature: 0.5 }]) {
    assert.throws(
      () => checkOverrides(s2s, { llm }),
      (e: unknown) => e instanceof OutcallError && e.code === 'invalid_request' && e.param === 'agent_overrides.llm',
      JSON.stringify(llm),
    );
  }
  const noModel = { ...s2s, speech_to_speech: null } as unknown as AgentRow;
  assert.throws(() => checkOverrides(noModel, { llm: { max_tokens: 10 } }), /needs an agent with llm or speech_to_speech settings/);
});
