/**
 * Which speech engines an agent may name, and the engines of one call built from its settings.
 * The API checks names against SUPPORTED_PROVIDERS when an agent is saved; the media worker builds
 * each call's engines here and refuses (before dialing) a name it does not run, so a typo never
 * becomes a silent call. Engines are made once per registry (one per media thread) and shared by
 * that thread's calls: they keep no per-call state (streams do), and Silero's model session is
 * loaded once per thread.
 */
import { ProviderError } from './errors.js';
import { identify, workerCooldowns } from './fallback/cooldowns.js';
import { FallbackStt, FallbackTts, type FallbackSwitch } from './fallback/index.js';
import { LLM_PROVIDERS } from './llm/index.js';
import { checkAssemblyAiSttSettings, createAssemblyAiStt } from './stt/assemblyai.js';
import { checkDeepgramSttSettings, createDeepgramStt } from './stt/deepgram.js';
import { checkOpenAiSttSettings, createOpenAiStt } from './stt/openai.js';
import { PocketsphinxStt } from './stt/pocketsphinx.js';
import { defaultLocalStt } from './stt/local-default.js';
import { SoundswallowerStt } from './stt/soundswallower.js';
import type { SttProvider } from './stt/types.js';
import { EspeakNgTts } from './tts/espeak-ng.js';
import { checkCartesiaTtsSettings, createCartesiaTts } from './tts/cartesia.js';
import { checkElevenLabsTtsSettings, createElevenLabsTts } from './tts/elevenlabs.js';
import { FLITE_VOICES, FliteTts } from './tts/flite.js';
import { FLITE_WASM_VOICES } from './tts/flite-wasi.js';
import { FliteWasmTts } from './tts/flite-wasm.js';
import { checkOpenAiTtsSettings, createOpenAiTts } from './tts/openai.js';
import type { TtsProvider } from './tts/types.js';
import { primaryLanguage, ttsVoiceForLanguage } from './tts/voice-for-language.js';
import { EnergyVad } from './vad/energy.js';
import { FallbackVad } from './vad/fallback.js';
import { SileroVad } from './vad/silero.js';
import type { VadProvider } from './vad/types.js';
import type { ProviderChain, ProviderFallbackEvent, ResolvedProviderSettings } from './settings.js';

/** How a provider of one kind is made from its settings. Local engines are shared per registry (no per-call state). */
interface Maker<P> {
  make: (s: ResolvedProviderSettings, r: SpeechRegistry) => P;
  /** The settings this provider acts on; any other one an agent sets is refused when it is saved. */
  takes: readonly SettingField[];
  /** Checks what can be known without running the engine or the network; throws ProviderChoiceError. */
  check?: (s: ResolvedProviderSettings, path: string) => void;
}

/** The provider settings an agent may give (besides `provider` and `fallbacks`). */
export type SettingField = 'model' | 'voice' | 'language' | 'base_url' | 'api_key' | 'temperature' | 'max_tokens' | 'options';
export const SETTING_FIELDS: readonly SettingField[] = ['model', 'voice', 'language', 'base_url', 'api_key', 'temperature', 'max_tokens', 'options'];

// What each kind of engine acts on. Local engines have no endpoint, key or model to choose.
// A speech engine speaks the call's one language (src/agents/voice-spec.ts callLanguage), never one of its own.
const CLOUD_TTS: readonly SettingField[] = ['model', 'voice', 'base_url', 'api_key', 'options'];
const CLOUD_STT: readonly SettingField[] = ['model', 'language', 'base_url', 'api_key', 'options'];
/** Every language model client takes these (OpenAI-compatible and Anthropic alike); none speaks or hears. */
export const LLM_TAKES: readonly SettingField[] = ['model', 'base_url', 'api_key', 'temperature', 'max_tokens', 'options'];
/** The Realtime model: no temperature (the GA session object has no sampling temperature; the beta's was removed). */
export const SPEECH_TO_SPEECH_TAKES: readonly SettingField[] = ['model', 'voice', 'language', 'base_url', 'api_key', 'max_tokens', 'options'];

/** A vendor's settings check (its ProviderError) as a ProviderChoiceError naming the agent's field. */
function cloudCheck(kind: 'tts' | 'stt', check: (s: ResolvedProviderSettings) => unknown): (s: ResolvedProviderSettings, path: string) => void {
  return (s, path) => {
    try {
      check(s);
    } catch (err) {
      if (err instanceof ProviderError) throw new ProviderChoiceError(kind, err.message, `${path}.options`);
      throw err;
    }
  };
}

const TTS_MAKERS: Record<string, Maker<TtsProvider>> = {
  'espeak-ng': { takes: ['voice'], make: (_s, r) => r.shared('espeak-ng', () => new EspeakNgTts(r.opts.espeakVoice ? { defaultVoice: r.opts.espeakVoice } : {})) },
  flite: {
    takes: ['voice'],
    make: (_s, r) => r.shared('flite', () => new FliteTts()),
    check: (s, path) => {
      if (s.voice !== undefined && !FliteTts.knowsVoice(s.voice)) {
        throw new ProviderChoiceError('tts', `flite has no voice "${s.voice}"; voices: ${FLITE_VOICES.join(', ')} (or the path of a .flitevox file)`, `${path}.voice`);
      }
    },
  },
  // flite from npm, in-process (WebAssembly): what speaks on a machine with nothing but npm.
  'flite-wasm': {
    takes: ['voice'],
    // Made when a media thread starts (it is the default): its synthesis threads start now, not on the first call.
    make: (_s, r) =>
      r.shared('flite-wasm', () => {
        const tts = new FliteWasmTts();
        tts.prepare();
        return tts;
      }),
    check: (s, path) => {
      if (s.voice !== undefined && !FliteWasmTts.knowsVoice(s.voice)) {
        throw new ProviderChoiceError('tts', `flite-wasm has no voice "${s.voice}"; voices: ${FLITE_WASM_VOICES.join(', ')}`, `${path}.voice`);
      }
    },
  },
  elevenlabs: { takes: CLOUD_TTS, make: (s) => createElevenLabsTts(s), check: cloudCheck('tts', checkElevenLabsTtsSettings) },
  openai: { takes: CLOUD_TTS, make: (s) => createOpenAiTts(s), check: cloudCheck('tts', checkOpenAiTtsSettings) },
  cartesia: { takes: CLOUD_TTS, make: (s) => createCartesiaTts(s), check: cloudCheck('tts', checkCartesiaTtsSettings) },
};

const STT_MAKERS: Record<string, Maker<SttProvider>> = {
  pocketsphinx: {
    takes: ['language', 'options'],
    // The process-per-stream engine keeps no state; engines with options differ per agent.
    make: (s, r) => {
      const endSilence = s.options?.end_silence_ms as number | undefined;
      return r.shared(`pocketsphinx:${endSilence ?? ''}`, () => new PocketsphinxStt(endSilence !== undefined ? { endSilenceMs: endSilence } : {}));
    },
    check: (s, path) => {
      const endSilence = s.options?.end_silence_ms;
      if (endSilence !== undefined && (typeof endSilence !== 'number' || !(endSilence >= 100 && endSilence <= 5000))) {
        throw new ProviderChoiceError('stt', `stt option end_silence_ms must be a number of ms in 100..5000, got ${JSON.stringify(endSilence)}`, `${path}.options`);
      }
    },
  },
  // npm only (WASM, in-process): a grammar of what the dialogue expects; its decoders are pooled per thread.
  soundswallower: { takes: ['language'], make: (_s, r) => r.shared('soundswallower', () => new SoundswallowerStt()) },
  // Cloud recognizers take 8 kHz (narrowband calls) and 16 kHz audio.
  deepgram: { takes: CLOUD_STT, make: (s) => createDeepgramStt(s), check: cloudCheck('stt', checkDeepgramSttSettings) },
  openai: { takes: CLOUD_STT, make: (s) => createOpenAiStt(s), check: cloudCheck('stt', checkOpenAiSttSettings) },
  assemblyai: { takes: CLOUD_STT, make: (s) => createAssemblyAiStt(s), check: cloudCheck('stt', checkAssemblyAiSttSettings) },
};

const VAD_NAMES = ['silero', 'energy'] as const;

/** Speech-to-speech models the worker runs instead of stt + llm + tts (src/voice/realtime). */
const SPEECH_TO_SPEECH: readonly string[] = ['openai'];

export const SUPPORTED_PROVIDERS = {
  tts: Object.keys(TTS_MAKERS),
  stt: Object.keys(STT_MAKERS),
  vad: VAD_NAMES,
  llm: LLM_PROVIDERS,
  speech_to_speech: SPEECH_TO_SPEECH,
} as const satisfies Record<string, readonly string[]>;

export type ProviderKind = keyof typeof SUPPORTED_PROVIDERS;

/**
 * What a call uses when the agent names nothing. Silero falls back to energy when its model cannot load.
 * The TTS is flite from npm (it needs no system package); defaultTtsProvider says when espeak-ng speaks instead.
 */
export const DEFAULT_PROVIDERS = { tts: 'flite-wasm', stt: 'pocketsphinx', vad: 'silero' } as const;

/**
 * The TTS of an agent that names no tts provider. flite-wasm (DEFAULT_PROVIDERS.tts) speaks English
 * only, so espeak-ng (a voice per language) speaks a call in another language, and an agent whose
 * `voice` is not a flite voice keeps espeak-ng: before flite-wasm was the default, an agent's voice
 * was an espeak-ng voice ("en-us", "en-gb+f3"), and such an agent must sound as it did.
 */
export function defaultTtsProvider(language?: string, voice?: string): 'flite-wasm' | 'espeak-ng' {
  if (voice !== undefined) return FliteWasmTts.knowsVoice(voice) ? 'flite-wasm' : 'espeak-ng';
  if (language !== undefined && primaryLanguage(language) !== 'en') return 'espeak-ng';
  return 'flite-wasm';
}

/** Why `name` cannot be used as a `kind` provider (listing the ones that can), or undefined when it can. */
export function unsupportedProvider(kind: ProviderKind, name: string): string | undefined {
  const known: readonly string[] = SUPPORTED_PROVIDERS[kind];
  if (known.includes(name)) return undefined;
  return `${kind} provider "${name}" is not supported; supported: ${known.join(', ')}`;
}

/** A provider the worker cannot build for a call; `kind` says which engine (and so which end reason). */
export class ProviderChoiceError extends ProviderError {
  constructor(
    readonly kind: ProviderKind,
    message: string,
    /** The agent setting at fault, e.g. 'tts.voice' or 'stt.fallbacks[0].provider'. */
    readonly path: string = `${kind}.provider`,
  ) {
    super('provider_bad_request', message, false);
    this.name = 'ProviderChoiceError';
  }
}

/** The speech settings of one call (from the agent's tts, stt and conversation.vad), keys resolved. */
export interface SpeechChoice {
  tts?: ProviderChain;
  stt?: ProviderChain;
  vad?: string;
  /**
   * The call's language (src/agents/voice-spec.ts callLanguage): every TTS of the chain (the default
   * one included) speaks it, and one whose voice is not set picks that language's voice.
   */
  language?: string;
  /** The agent's voice when it names no tts provider: with the language, it picks the default engine (defaultTtsProvider). */
  defaultVoice?: string;
}

export interface SpeechEngines {
  tts: TtsProvider;
  stt: SttProvider;
  vad: VadProvider;
}

export interface SpeechRegistryOptions {
  /** espeak-ng's voice when neither the agent nor the request names one. */
  espeakVoice?: string;
  sileroModelPath?: string;
  /** Told once when Silero cannot load and energy VAD takes over. */
  onVadFallback?: (err: ProviderError) => void;
}

export interface EngineHooks {
  /** A chain switched to its next provider (the call records it). */
  onFallback?: (e: ProviderFallbackEvent) => void;
}

export class SpeechRegistry {
  readonly #cache = new Map<string, TtsProvider | SttProvider | VadProvider>();

  constructor(readonly opts: SpeechRegistryOptions = {}) {}

  /**
   * Makes and readies the default engines (the local recognizer, Silero's model session, flite's
   * synthesis threads) before any call: loading them at a call's answer held the thread that
   * carries its RTP for 0.1-0.4 s (Silero's session is built synchronously), right while the callee
   * said hello. A media thread awaits this before it reports ready. Never rejects: an engine that
   * cannot load says so at the call that needs it (or falls back, as Silero does to the energy VAD).
   */
  async prewarm(): Promise<void> {
    try {
      this.stt(undefined).prepare?.();
      this.tts(undefined);
      await this.vad(undefined).prepare?.();
    } catch {
      // (reported by the call that needs the engine)
    }
  }

  /** The engines for one call. Throws ProviderChoiceError for a name (or setting) this worker cannot run. */
  engines(choice: SpeechChoice, hooks: EngineHooks = {}): SpeechEngines {
    checkSpeechChoice(choice);
    return { tts: this.tts(choice.tts, hooks, choice.language, choice.defaultVoice), stt: this.stt(choice.stt, hooks), vad: this.vad(choice.vad) };
  }

  /**
   * The TTS chain (without one, the default engine for `language` and the agent's `defaultVoice`:
   * defaultTtsProvider); with `language`, each provider speaks it.
   */
  tts(s: ProviderChain | undefined, hooks: EngineHooks = {}, language?: string, defaultVoice?: string): TtsProvider {
    const chain = inLanguage(s ?? { provider: defaultTtsProvider(language, defaultVoice) }, language);
    return chainOf(this.#build('tts', TTS_MAKERS, chain), (list) => fallbackTts(list, hooks));
  }

  /** The STT chain; without one, the local default (pocketsphinx when installed, else soundswallower: stt/local-default.ts). */
  stt(s: ProviderChain | undefined, hooks: EngineHooks = {}): SttProvider {
    return chainOf(this.#build('stt', STT_MAKERS, s ?? { provider: defaultLocalStt() }), (list) => fallbackStt(list, hooks));
  }

  vad(name: string | undefined): VadProvider {
    const n = name ?? DEFAULT_PROVIDERS.vad;
    checkName('vad', n, 'conversation.vad');
    if (n === 'energy') return this.shared('energy', () => new EnergyVad());
    return this.shared('silero', () => {
      const silero = new SileroVad(this.opts.sileroModelPath ? { modelPath: this.opts.sileroModelPath } : {});
      return new FallbackVad(silero, this.shared('energy', () => new EnergyVad()), this.opts.onVadFallback);
    });
  }

  /** One engine per key for this registry (a media thread): for engines without per-call state. */
  shared<T extends TtsProvider | SttProvider | VadProvider>(key: string, make: () => T): T {
    let p = this.#cache.get(key) as T | undefined;
    if (!p) {
      p = make();
      this.#cache.set(key, p);
    }
    return p;
  }

  #build<P>(kind: 'tts' | 'stt', makers: Record<string, Maker<P>>, chain: ProviderChain): P[] {
    return chainEntries(chain).map(([s, path]) => {
      const maker = makers[checkName(kind, s.provider, `${kind}${path}.provider`)] as Maker<P>;
      try {
        const made = maker.make(s, this);
        // Each TTS of a chain speaks with its own voice (a fallback vendor has other voice names);
        // one without a voice speaks the call's language with that language's voice, if it has one.
        const voice = kind === 'tts' ? (s.voice ?? ttsVoiceForLanguage(s.provider, s.language, this.opts.espeakVoice)) : undefined;
        const p = kind === 'tts' ? (withVoice(made as TtsProvider, voice) as P) : made;
        return identify(p as object, kind, s) as P;
      } catch (err) {
        // A cloud provider without a key, or with an option of the wrong type: refused before dialing.
        if (err instanceof ProviderError && !(err instanceof ProviderChoiceError)) throw new ProviderChoiceError(kind, err.message, `${kind}${path}`);
        throw err;
      }
    });
  }
}

/** The chain's settings in order, each with its path under the kind ('' for the first). */
function chainEntries(chain: ProviderChain): Array<[ResolvedProviderSettings, string]> {
  const { fallbacks, ...first } = chain;
  return [[first, ''], ...(fallbacks ?? []).map((f, i): [ResolvedProviderSettings, string] => [f, `.fallbacks[${i}]`])];
}

/** The chain with the call's language on every provider (the call has one language: voice-spec's callLanguage). */
function inLanguage(chain: ProviderChain, language: string | undefined): ProviderChain {
  if (language === undefined) return chain;
  const { fallbacks, ...first } = chain;
  return { ...first, language, ...(fallbacks ? { fallbacks: fallbacks.map((f) => ({ ...f, language })) } : {}) };
}

function chainOf<P>(list: P[], wrap: (list: P[]) => P): P {
  return list.length === 1 ? (list[0] as P) : wrap(list);
}

/**
 * Everything about a call's speech settings that can be known without running an engine: provider
 * names (fallbacks included), flite's voice, pocketsphinx's options. The API runs it when an agent is
 * saved, the worker before dialing. Throws ProviderChoiceError naming the problem.
 */
export function checkSpeechChoice(choice: SpeechChoice): void {
  for (const [kind, makers] of [['tts', TTS_MAKERS], ['stt', STT_MAKERS]] as const) {
    const chain: ProviderChain = choice[kind] ?? { provider: kind === 'tts' ? defaultTtsProvider(choice.language, choice.defaultVoice) : DEFAULT_PROVIDERS[kind] };
    for (const [s, path] of chainEntries(chain)) {
      const name = checkName(kind, s.provider, `${kind}${path}.provider`);
      (makers as Record<string, Maker<unknown>>)[name]?.check?.(s, `${kind}${path}`);
    }
  }
  checkName('vad', choice.vad ?? DEFAULT_PROVIDERS.vad, 'conversation.vad');
}

/**
 * A setting the provider would ignore (a model for espeak-ng, a temperature for a recognizer, a voice
 * for a language model) is refused when an agent is saved, naming the field and what the provider
 * takes. Not run by the worker: an agent stored before this check keeps working as it did.
 */
export function checkProviderFields(kind: ProviderKind, s: Partial<Record<SettingField, unknown>> & { provider: string }, path: string): void {
  const takes =
    kind === 'llm' ? LLM_TAKES
    : kind === 'speech_to_speech' ? SPEECH_TO_SPEECH_TAKES
    : kind === 'tts' || kind === 'stt' ? ((kind === 'tts' ? TTS_MAKERS : STT_MAKERS) as Record<string, Maker<unknown>>)[s.provider]?.takes
    : undefined;
  if (takes === undefined) return; // an unknown provider is refused by name elsewhere
  for (const f of SETTING_FIELDS) {
    if (s[f] === undefined || takes.includes(f)) continue;
    const what = kind === 'llm' ? 'a language model' : kind === 'speech_to_speech' ? 'the speech-to-speech model' : `${kind} provider ${s.provider}`;
    throw new ProviderChoiceError(kind, `"${path}.${f}" does not apply to ${what}, which would ignore it (it takes: ${takes.join(', ')})`, `${path}.${f}`);
  }
}

function checkName(kind: ProviderKind, name: string, path: string): string {
  const problem = unsupportedProvider(kind, name);
  if (problem) throw new ProviderChoiceError(kind, problem, path);
  return name;
}

/** A fallback adapter's switch in the call's terms. */
export function fallbackEvent(s: FallbackSwitch): ProviderFallbackEvent {
  return { kind: s.kind, from: s.from, to: s.to, code: s.error.code, message: s.error.message };
}

function fallbackTts(list: TtsProvider[], hooks: EngineHooks): TtsProvider {
  return new FallbackTts(list, { onFallback: (s) => hooks.onFallback?.(fallbackEvent(s)), cooldowns: workerCooldowns });
}

function fallbackStt(list: SttProvider[], hooks: EngineHooks): SttProvider {
  return new FallbackStt(list, { onFallback: (s) => hooks.onFallback?.(fallbackEvent(s)), cooldowns: workerCooldowns });
}

/** The provider with `voice` on every request that names none. */
export function withVoice(tts: TtsProvider, voice: string | undefined): TtsProvider {
  if (voice === undefined) return tts;
  return {
    name: tts.name,
    capabilities: tts.capabilities,
    synthesize: (req) => tts.synthesize(req.voice === undefined ? { ...req, voice } : req),
    // The connection readied must be the one that voice's utterances will use.
    prepare: (req) => tts.prepare?.(req.voice === undefined ? { ...req, voice } : req),
  };
}

/**
 * The providers of a kind that run on this machine (they take no vendor key): what a bench such as
 * bench/speech-wer.ts measures, so a new local engine is measured as soon as it is registered.
 */
export function localProviders(kind: 'tts' | 'stt'): string[] {
  const makers: Record<string, Maker<unknown>> = kind === 'tts' ? TTS_MAKERS : STT_MAKERS;
  return Object.entries(makers).filter(([, m]) => !m.takes.includes('api_key')).map(([name]) => name);
}
