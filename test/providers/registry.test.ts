import { test } from 'node:test';
import type { TtsProvider } from '../../src/providers/tts/types.js';
import assert from 'node:assert/strict';
import { ProviderError } from '../../src/providers/errors.js';
import { withVoice, checkSpeechChoice, DEFAULT_PROVIDERS, defaultTtsProvider, ProviderChoiceError, SpeechRegistry, SUPPORTED_PROVIDERS, unsupportedProvider, localProviders } from '../../src/providers/registry.js';
import { AssemblyAiStt } from '../../src/providers/stt/assemblyai.js';
import { DeepgramStt } from '../../src/providers/stt/deepgram.js';
import { PocketsphinxStt } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakNgTts } from '../../src/providers/tts/espeak-ng.js';
import { FliteTts } from '../../src/providers/tts/flite.js';
import { FliteWasmTts } from '../../src/providers/tts/flite-wasm.js';
import { EnergyVad } from '../../src/providers/vad/energy.js';
import { FallbackVad } from '../../src/providers/vad/fallback.js';
import { defaultSileroModelPath, SileroVad } from '../../src/providers/vad/silero.js';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

test('defaults: flite-wasm, pocketsphinx, Silero (with energy behind it)', () => {
  const e = new SpeechRegistry().engines({});
  assert.ok(e.tts instanceof FliteWasmTts);
  assert.ok(e.stt instanceof PocketsphinxStt);
  assert.ok(e.vad instanceof FallbackVad);
  assert.ok(e.vad.active instanceof SileroVad);
});

test('the default TTS: flite-wasm for English and flite voices; espeak-ng for another language or an espeak-ng voice', () => {
  assert.equal(DEFAULT_PROVIDERS.tts, 'flite-wasm');
  assert.equal(defaultTtsProvider(), 'flite-wasm');
  assert.equal(defaultTtsProvider('en-GB'), 'flite-wasm');
  assert.equal(defaultTtsProvider('en-US', 'rms'), 'flite-wasm');
  assert.equal(defaultTtsProvider('es-MX'), 'espeak-ng', 'flite speaks English only');
  assert.equal(defaultTtsProvider('en-US', 'en-gb+f3'), 'espeak-ng', "an agent's espeak-ng voice keeps espeak-ng");
  const r = new SpeechRegistry();
  // (a voice for the language wraps the engine: its name says which one speaks)
  assert.equal(r.engines({ language: 'en-US' }).tts.name, 'flite-wasm');
  assert.equal(r.engines({ language: 'en-US', defaultVoice: 'en-us' }).tts.name, 'espeak-ng');
  assert.equal(r.engines({ language: 'fr-FR' }).tts.name, 'espeak-ng');
  assert.ok(r.engines({ tts: { provider: 'espeak-ng' } }).tts instanceof EspeakNgTts, 'espeak-ng stays selectable');
  // A set chain is the agent's: the default voice never changes it.
  assert.equal(r.engines({ tts: { provider: 'flite-wasm' }, defaultVoice: 'en-us' }).tts.name, 'flite-wasm');
});

test("the agent's choice is honoured, and engines are shared by a registry's calls", () => {
  const r = new SpeechRegistry();
  const a = r.engines({ tts: { provider: 'flite', voice: 'kal' }, vad: 'energy' });
  const b = r.engines({ tts: { provider: 'flite' }, vad: 'energy' });
  assert.ok(b.tts instanceof FliteTts);
  assert.equal(a.tts.name, 'flite', 'a voice wraps the same engine');
  assert.ok(a.vad instanceof EnergyVad);
  assert.equal(b.tts, r.engines({ tts: { provider: 'flite' } }).tts, 'one flite per thread');
  assert.equal(a.vad, b.vad);
  assert.equal(r.engines({}).vad, r.engines({ vad: 'silero' }).vad, 'one Silero (one model session) per thread');
  assert.notEqual(r.engines({ stt: { provider: 'pocketsphinx', options: { end_silence_ms: 300 } } }).stt, a.stt, 'options make their own engine');
});

test('unknown names are refused with the kind, the field and the supported list', () => {
  assert.equal(unsupportedProvider('tts', 'flite'), undefined);
  assert.match(unsupportedProvider('tts', 'polly') ?? '', /supported: espeak-ng, flite, flite-wasm, elevenlabs, openai, cartesia$/);
  assert.ok(SUPPORTED_PROVIDERS.llm.includes('openai'));
  const cases: Array<[Parameters<typeof checkSpeechChoice>[0], string, string]> = [
    [{ tts: { provider: 'polly' } }, 'tts', 'tts.provider'],
    [{ tts: { provider: 'flite', voice: 'en-us' } }, 'tts', 'tts.voice'],
    [{ stt: { provider: 'whisper' } }, 'stt', 'stt.provider'],
    [{ stt: { provider: 'pocketsphinx', options: { end_silence_ms: 'soon' } } }, 'stt', 'stt.options'],
    [{ stt: { provider: 'pocketsphinx', fallbacks: [{ provider: 'whisper' }] } }, 'stt', 'stt.fallbacks[0].provider'],
    [{ tts: { provider: 'espeak-ng', fallbacks: [{ provider: 'flite', voice: 'nope' }] } }, 'tts', 'tts.fallbacks[0].voice'],
    [{ tts: { provider: 'flite-wasm', voice: 'en-us' } }, 'tts', 'tts.voice'],
    [{ tts: { provider: 'flite-wasm', voice: '/tmp/x.flitevox' } }, 'tts', 'tts.voice'],
    [{ vad: 'webrtc' }, 'vad', 'conversation.vad'],
  ];
  for (const [choice, kind, field] of cases) {
    assert.throws(
      () => new SpeechRegistry().engines(choice),
      (err: unknown) => err instanceof ProviderChoiceError && err.kind === kind && err.path === field && err.code === 'provider_bad_request',
      JSON.stringify(choice),
    );
  }
  // espeak-ng voices are many and not checked here (a wrong one fails at synthesis).
  assert.doesNotThrow(() => checkSpeechChoice({ tts: { provider: 'espeak-ng', voice: 'en-gb' } }));
});

test('Silero that cannot load: energy VAD takes over, and the fallback is reported once', async () => {
  const told: ProviderError[] = [];
  const r = new SpeechRegistry({ sileroModelPath: '/nonexistent/silero.onnx', onVadFallback: (e) => told.push(e) });
  const vad = r.vad(undefined);
  const s1 = await vad.create({ sampleRate: 8000 });
  const s2 = await vad.create({ sampleRate: 16000 });
  assert.equal(s1.sampleRate, 8000);
  assert.equal(s2.sampleRate, 16000);
  assert.equal((await s1.push(new Int16Array(160))).speaking, false, 'a working stream');
  assert.equal(told.length, 1);
  assert.equal(told[0]?.code, 'provider_unavailable');
  assert.ok(vad instanceof FallbackVad && vad.active instanceof EnergyVad);
  // A caller's mistake is not a reason to fall back: it is passed through.
  const fresh = new FallbackVad(new SileroVad(), new EnergyVad(), () => assert.fail('no fallback for a bad rate'));
  await assert.rejects(fresh.create({ sampleRate: 44100 }), (e: unknown) => e instanceof ProviderError && e.code === 'unsupported_audio');
});

test('Silero loads on this machine: it is the live VAD, no fallback', async () => {
  let fellBack = false;
  const vad = new SpeechRegistry({ onVadFallback: () => (fellBack = true) }).vad(undefined);
  await vad.create({ sampleRate: 16000 });
  assert.equal(fellBack, false);
  assert.ok(vad instanceof FallbackVad && vad.active instanceof SileroVad);
});

test('cloud TTS: built per call with its key (the agent key or the env var); no key or a bad option is refused before dialing, naming the field', () => {
  const r = new SpeechRegistry();
  const a = r.tts({ provider: 'elevenlabs', api_key: 'xi-1' });
  const b = r.tts({ provider: 'elevenlabs', api_key: 'xi-2' });
  assert.equal(a.name, 'elevenlabs');
  assert.notEqual(a, b, 'cloud providers carry per-agent keys: never shared between calls');
  assert.throws(
    () => r.engines({ tts: { provider: 'cartesia' } }),
    (e: unknown) => e instanceof ProviderChoiceError && e.kind === 'tts' && e.path === 'tts' && /needs an API key.*CARTESIA_API_KEY/.test(e.message),
  );
  assert.throws(
    () => checkSpeechChoice({ tts: { provider: 'openai', options: { speed: 'fast' } } }),
    (e: unknown) => e instanceof ProviderChoiceError && e.path === 'tts.options',
  );
  assert.throws(
    () => checkSpeechChoice({ tts: { provider: 'espeak-ng', fallbacks: [{ provider: 'elevenlabs', options: { stability: 'x' } }] } }),
    (e: unknown) => e instanceof ProviderChoiceError && e.path === 'tts.fallbacks[0].options',
  );
});

test('cloud STT (deepgram, openai, assemblyai): built per call with its key; no key or a bad option is refused before dialing, naming the field', () => {
  for (const name of ['deepgram', 'openai', 'assemblyai']) assert.ok(SUPPORTED_PROVIDERS.stt.includes(name), name);
  const r = new SpeechRegistry();
  const a = r.stt({ provider: 'assemblyai', api_key: 'aai-1' });
  const b = r.stt({ provider: 'assemblyai', api_key: 'aai-2' });
  assert.ok(a instanceof AssemblyAiStt);
  assert.deepEqual(a.capabilities.sampleRates, [8000, 16000], 'narrowband calls keep the cloud recognizer');
  assert.notEqual(a, b, 'cloud providers carry per-agent keys: never shared between calls');
  assert.ok(r.stt({ provider: 'deepgram', api_key: 'dg-1' }) instanceof DeepgramStt);
  assert.throws(
    () => r.engines({ stt: { provider: 'assemblyai' } }),
    (e: unknown) => e instanceof ProviderChoiceError && e.kind === 'stt' && e.path === 'stt' && /needs an API key.*ASSEMBLYAI_API_KEY/.test(e.message),
  );
  assert.throws(
    () => checkSpeechChoice({ stt: { provider: 'assemblyai', options: { chunk_ms: 20 } } }),
    (e: unknown) => e instanceof ProviderChoiceError && e.path === 'stt.options' && /chunk_ms/.test(e.message),
  );
  assert.throws(
    () => checkSpeechChoice({ stt: { provider: 'deepgram', fallbacks: [{ provider: 'assemblyai', language: 'de-DE' }] } }),
    (e: unknown) => e instanceof ProviderChoiceError && e.path === 'stt.fallbacks[0].options' && /does not hear 'de-DE'/.test(e.message),
  );
  assert.doesNotThrow(() => checkSpeechChoice({ stt: { provider: 'assemblyai', model: 'universal-streaming-multilingual', language: 'es-ES' } }));
});

test('withVoice: each provider of a chain speaks its own voice unless the request names one', async () => {
  const seen: Array<string | undefined> = [];
  const fake: TtsProvider = {
    name: 'fake',
    capabilities: { streaming: true, nativeSampleRates: [8000] },
    async *synthesize(req) {
      seen.push(req.voice);
      yield new Int16Array(8);
    },
    prepare(req) {
      seen.push(`prepare ${req.voice}`);
    },
  };
  const own = withVoice(fake, 'Rachel');
  for await (const _ of own.synthesize({ text: 'a', sampleRate: 8000 })) void _;
  for await (const _ of own.synthesize({ text: 'a', sampleRate: 8000, voice: 'asked' })) void _;
  // Readying a connection goes through too, for the voice its utterances will use.
  own.prepare?.({ sampleRate: 8000 });
  assert.deepEqual(seen, ['Rachel', 'asked', 'prepare Rachel']);
  assert.equal(withVoice(fake, undefined), fake, 'no voice: the provider itself');
});

test("the chains a worker builds (one per call) share cooldowns: the next call's chain puts the unreachable vendor last; another key is another provider", async () => {
  const chain = (key: string) => {
    const switches: unknown[] = [];
    const tts = new SpeechRegistry().tts({ provider: 'elevenlabs', api_key: key, base_url: 'ws://127.0.0.1:7', fallbacks: [{ provider: 'espeak-ng' }] }, { onFallback: (f) => switches.push(f) });
    return { tts, switches };
  };
  const speak = async (tts: TtsProvider) => {
    for await (const _ of tts.synthesize({ text: 'Hi.', sampleRate: 8000 })) void _;
  };
  const first = chain('xi-shared-1');
  await speak(first.tts);
  assert.equal(first.switches.length, 1, 'the first call finds it unreachable');
  const second = chain('xi-shared-1');
  await speak(second.tts);
  assert.equal(second.switches.length, 0, 'the next call speaks with espeak-ng first, no switch');
  const otherKey = chain('xi-shared-2');
  await speak(otherKey.tts);
  assert.equal(otherKey.switches.length, 1, 'the same vendor with another key is tried first');
});

test('a TTS chain: the vendor that cannot be reached is replaced by the next within the same request, and the switch is reported', async () => {
  const switches: unknown[] = [];
  const tts = new SpeechRegistry().tts(
    { provider: 'elevenlabs', api_key: 'xi-test', base_url: 'ws://127.0.0.1:9', fallbacks: [{ provider: 'espeak-ng' }] },
    { onFallback: (f) => switches.push(f) },
  );
  let samples = 0;
  for await (const c of tts.synthesize({ text: 'Hello there.', sampleRate: 8000 })) samples += c.length;
  assert.ok(samples > 4000, `espeak-ng spoke instead (${samples} samples)`);
  assert.equal(switches.length, 1);
  assert.deepEqual(
    { ...(switches[0] as Record<string, unknown>), message: undefined },
    { kind: 'tts', from: 'elevenlabs', to: 'espeak-ng', code: 'provider_unavailable', message: undefined },
  );
});

test('localProviders: the engines that take no vendor key (what the speech bench measures), in registry order', () => {
  const tts = localProviders('tts');
  assert.ok(tts.includes('espeak-ng') && tts.includes('flite'), tts.join());
  for (const cloud of ['elevenlabs', 'openai', 'cartesia']) assert.ok(!tts.includes(cloud), `${cloud} needs a key`);
  assert.ok(tts.every((p) => SUPPORTED_PROVIDERS.tts.includes(p)));
  assert.deepEqual(localProviders('stt'), SUPPORTED_PROVIDERS.stt.filter((p) => !['deepgram', 'openai', 'assemblyai'].includes(p)));
  assert.ok(localProviders('stt').includes('pocketsphinx'));
});

test("prewarm loads Silero's session before any call: the first call's create() builds none (that build held the call's thread at answer)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'outcall-prewarm-'));
  const model = join(dir, 'silero.onnx'); // a path of its own: sessions are kept per model path
  copyFileSync(defaultSileroModelPath(), model);
  const create = ort.InferenceSession.create;
  let builds = 0;
  ort.InferenceSession.create = ((...args: Parameters<typeof create>) => {
    builds++;
    return create.apply(ort.InferenceSession, args);
  }) as typeof create;
  try {
    const r = new SpeechRegistry({ sileroModelPath: model, onVadFallback: (e) => assert.fail(`no fallback: ${e.message}`) });
    await r.prewarm();
    assert.equal(builds, 1, 'the session was built by prewarm');
    await r.vad(undefined).create({ sampleRate: 8000 });
    assert.equal(builds, 1, 'the call reused it');
  } finally {
    ort.InferenceSession.create = create;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prewarm never rejects: a model that cannot load is reported at the call that needs it, which falls back', async () => {
  const told: ProviderError[] = [];
  const r = new SpeechRegistry({ sileroModelPath: '/nonexistent/prewarm.onnx', onVadFallback: (e) => told.push(e) });
  await r.prewarm();
  assert.equal(told.length, 0, 'nothing said before a call needs the VAD');
  await r.vad(undefined).create({ sampleRate: 8000 });
  assert.equal(told.length, 1);
});
