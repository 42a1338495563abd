/**
 * The one language of a call (src/agents/voice-spec.ts callLanguage), the most specific setting
 * winning, and where it goes: the recognizer, every TTS (a voiceless espeak-ng picks the language's
 * voice), and the model's instructions; with the prompt's {{variables}} filled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callLanguage, greetingFor, voiceSpecFor } from '../../src/agents/voice-spec.js';
import { SpeechRegistry } from '../../src/providers/registry.js';
import { espeakVoiceFor, ttsVoiceForLanguage } from '../../src/providers/tts/voice-for-language.js';
import type { TtsProvider, TtsRequest } from '../../src/providers/tts/types.js';
import type { AgentRow } from '../../src/store/agent-rows.js';
import { LlmAgentBrain } from '../../src/voice/llm-brain.js';
import { languageInstruction } from '../../src/voice/instructions.js';
import { realtimeInstructions } from '../../src/worker/media/realtime-call.js';
import { ScriptedLlm } from '../../src/providers/llm/scripted.js';
import { checkElevenLabsTtsSettings } from '../../src/providers/tts/elevenlabs.js';

const agent = {
  id: 'agt_1', system_prompt: 'You call {{name}} about order {{order}}.', greeting: 'Hola {{name}}', language: 'en-US', voice: null, flow: null, tools: [], conversation: null,
  stt: null, tts: null, speech_to_speech: null, llm: { provider: 'openai', model: 'm', has_api_key: false },
} as unknown as AgentRow;

test('callLanguage: the call override, then the hearing engine\'s own language, then the agent\'s', () => {
  assert.equal(callLanguage(agent, undefined), 'en-US');
  const withStt = { ...agent, stt: { provider: 'deepgram', language: 'es-MX', has_api_key: false } } as AgentRow;
  assert.equal(callLanguage(withStt, undefined), 'es-MX', 'stt.language over the agent language');
  assert.equal(callLanguage(withStt, 'fr-FR'), 'fr-FR', 'the call override over everything');
  const s2s = { ...agent, speech_to_speech: { provider: 'openai', language: 'de-DE', has_api_key: false }, stt: { provider: 'deepgram', language: 'es-MX', has_api_key: false } } as AgentRow;
  assert.equal(callLanguage(s2s, undefined), 'de-DE', "a speech-to-speech agent hears with its model: speech_to_speech.language");
});

test('voiceSpecFor: one language for the recognizer, the TTS chain and the model; the system prompt filled', () => {
  const row = { ...agent, stt: { provider: 'deepgram', language: 'es-MX', has_api_key: false }, tts: { provider: 'elevenlabs', has_api_key: false, fallbacks: [{ provider: 'espeak-ng', has_api_key: false }] } } as AgentRow;
  const spec = voiceSpecFor(row, { callContext: 'vip', dynamicVariables: { name: 'Ana', order: '4471' } }, {});
  assert.equal(spec?.language, 'es-MX');
  assert.equal(spec?.speech?.stt?.language, 'es-MX');
  assert.equal(spec?.speech?.language, 'es-MX', 'the TTS chain speaks the call language');
  assert.equal(spec?.systemPrompt, 'You call Ana about order 4471.');
  const overridden = voiceSpecFor(row, { callContext: null, dynamicVariables: { name: 'Ana', order: '1' }, options: { agent_overrides: { language: 'pt-BR' } } }, {});
  assert.deepEqual([overridden?.language, overridden?.speech?.stt?.language, overridden?.speech?.language], ['pt-BR', 'pt-BR', 'pt-BR']);
  assert.equal(greetingFor(agent, { name: 'Ana' }, {}, 'es-MX')?.language, 'es-MX', 'a greeting-only agent speaks it too');
});

test('the model is told the language: the LLM brain as a system message, the Realtime model in its instructions', async () => {
  assert.equal(languageInstruction('es-MX'), 'Speak Mexican Spanish (es-MX) on this call: the callee is heard and spoken to in that language.');
  const llm = new ScriptedLlm().reply({ text: ['Hola.'] });
  const brain = new LlmAgentBrain({ llm, systemPrompt: 'You call Ana.', language: 'es-MX', callContext: { call_context: 'vip' } });
  for await (const _ of brain.respond({ type: 'utterance', text: 'hola' }, new AbortController().signal)) void _;
  const messages = llm.requests[0]?.messages ?? [];
  assert.deepEqual(messages.slice(0, 2), [{ role: 'system', content: 'You call Ana.' }, { role: 'system', content: languageInstruction('es-MX') }]);
  assert.match(messages[2]?.content ?? '', /call_context: \{"call_context":"vip"\}/);
  const instructions = realtimeInstructions({ systemPrompt: 'You call Ana.', language: 'de-DE', dynamicVariables: { name: 'Ana' }, callContext: 'vip' });
  assert.equal(instructions, `You call Ana.\n\n${languageInstruction('de-DE')}\n\ncall_context: {"dynamic_variables":{"name":"Ana"},"call_context":"vip"}`);
});

test("espeak-ng's voice for a language: the tag, its language, its main region; none for languages it lacks", () => {
  assert.equal(espeakVoiceFor('es-MX'), 'es');
  assert.equal(espeakVoiceFor('en-GB'), 'en-gb');
  assert.equal(espeakVoiceFor('fr'), 'fr-fr');
  assert.equal(espeakVoiceFor('pt-BR'), 'pt-br');
  assert.equal(espeakVoiceFor('zh-CN'), 'cmn');
  assert.equal(espeakVoiceFor('xx-YY'), undefined);
  assert.equal(ttsVoiceForLanguage('espeak-ng', 'es-MX'), 'es');
  assert.equal(ttsVoiceForLanguage('espeak-ng', 'en-US'), undefined, 'the default voice (en-us) already speaks English');
  assert.equal(ttsVoiceForLanguage('espeak-ng', 'en-US', 'en-gb'), undefined, "an operator's English default is kept for English");
  assert.equal(ttsVoiceForLanguage('espeak-ng', 'fr-CA', 'en-gb'), 'fr-fr');
  assert.equal(ttsVoiceForLanguage('flite', 'es-MX'), undefined, "flite's voices are all English: its default stays");
  assert.equal(ttsVoiceForLanguage('elevenlabs', 'es-MX'), undefined, 'cloud voices are multilingual (the language goes as a parameter)');
});

/** Records the voice each request asked for. */
class VoiceProbe implements TtsProvider {
  readonly name = 'espeak-ng';
  readonly capabilities = { streaming: true, nativeSampleRates: [8000] } as const;
  readonly voices: Array<string | undefined> = [];
  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    this.voices.push(req.voice);
    yield new Int16Array(160);
  }
}

test('the registry: a voiceless espeak-ng speaks the call language with its voice; a set voice wins', async () => {
  const registry = new SpeechRegistry();
  const probe = new VoiceProbe();
  registry.shared('espeak-ng', () => probe); // the engine espeak-ng's maker shares
  const say = async (tts: TtsProvider) => {
    for await (const _ of tts.synthesize({ text: 'hola', sampleRate: 8000 })) void _;
  };
  await say(registry.tts(undefined, {}, 'es-MX'));
  await say(registry.engines({ language: 'es-MX', tts: { provider: 'espeak-ng', voice: 'en-us' } }).tts);
  await say(registry.tts({ provider: 'espeak-ng' }, {}, 'en-US'));
  assert.deepEqual(probe.voices, ['es', 'en-us', undefined]);
  // The default engine (no tts settings) is flite-wasm for English; flite speaks English only, so
  // espeak-ng (whose voice is the language's) is the default for a call in another language.
  assert.equal(registry.tts(undefined, {}, 'en-US').name, 'flite-wasm');
  assert.equal(registry.tts(undefined, {}, 'es-MX').name, 'espeak-ng');
});

test("ElevenLabs gets the call's language as language_code only on the models that take it (the others refuse it)", () => {
  assert.equal(checkElevenLabsTtsSettings({ provider: 'elevenlabs', language: 'es-MX' }).languageCode, 'es', 'the default model, flash v2.5');
  assert.equal(checkElevenLabsTtsSettings({ provider: 'elevenlabs', model: 'eleven_turbo_v2_5', language: 'es-MX' }).languageCode, 'es');
  assert.equal(checkElevenLabsTtsSettings({ provider: 'elevenlabs', model: 'eleven_multilingual_v2', language: 'es-MX' }).languageCode, undefined);
  assert.equal(checkElevenLabsTtsSettings({ provider: 'elevenlabs', model: 'eleven_multilingual_v2', options: { language_code: 'es' } }).languageCode, 'es', 'an explicit option is sent as given');
});
