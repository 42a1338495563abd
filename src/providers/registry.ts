/**
 * Which speech engines an agent may name, and the engines of one call built from its settings.
 * The API checks names against SUPPORTED_PROVIDERS when an agent is saved; the media worker builds
 * each call's engines here and refuses (before dialing) a name it does not run, so a typo never
 * becomes a silent call. Engines are made once per registry (one per media thread) and shared by
 * that thread's calls: they keep no per-call state (streams do), and Silero's model session is
 * loaded once per thread.
 */
import { ProviderError } from './errors.js';
import { LLM_PROVIDERS } from './llm/index.js';
import { PocketsphinxStt } from './stt/pocketsphinx.js';
import type { SttProvider } from './stt/types.js';
import { EspeakNgTts } from './tts/espeak-ng.js';
import { FLITE_VOICES, FliteTts } from './tts/flite.js';
import type { TtsProvider } from './tts/types.js';
import { EnergyVad } from './vad/energy.js';
import { FallbackVad } from './vad/fallback.js';
import { SileroVad } from './vad/silero.js';
import type { VadProvider } from './vad/types.js';

export const SUPPORTED_PROVIDERS = {
  tts: ['espeak-ng', 'flite'],
  stt: ['pocketsphinx'],
  vad: ['silero', 'energy'],
  llm: LLM_PROVIDERS,
} as const satisfies Record<string, readonly string[]>;

export type ProviderKind = keyof typeof SUPPORTED_PROVIDERS;

/** What a call uses when the agent names nothing. Silero falls back to energy when its model cannot load. */
export const DEFAULT_PROVIDERS = { tts: 'espeak-ng', stt: 'pocketsphinx', vad: 'silero' } as const;

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
    /** The setting at fault. */
    readonly field: 'provider' | 'voice' | 'options' = 'provider',
  ) {
    super('provider_bad_request', message, false);
    this.name = 'ProviderChoiceError';
  }
}

/** The speech settings of one call (from the agent's tts, stt and conversation.vad). */
export interface SpeechChoice {
  tts?: { provider: string; voice?: string };
  stt?: { provider: string; options?: Record<string, string | number | boolean> };
  vad?: string;
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

export class SpeechRegistry {
  readonly #cache = new Map<string, TtsProvider | SttProvider | VadProvider>();

  constructor(private readonly opts: SpeechRegistryOptions = {}) {}

  /** The engines for one call. Throws ProviderChoiceError for a name (or flite voice) this worker cannot run. */
  engines(choice: SpeechChoice): SpeechEngines {
    checkSpeechChoice(choice);
    return { tts: this.tts(choice.tts), stt: this.stt(choice.stt), vad: this.vad(choice.vad) };
  }

  tts(s: SpeechChoice['tts']): TtsProvider {
    const name = check('tts', s?.provider ?? DEFAULT_PROVIDERS.tts);
    return this.#once(name, () => (name === 'flite' ? new FliteTts() : new EspeakNgTts(this.opts.espeakVoice ? { defaultVoice: this.opts.espeakVoice } : {})));
  }

  stt(s: SpeechChoice['stt']): SttProvider {
    const name = check('stt', s?.provider ?? DEFAULT_PROVIDERS.stt);
    const endSilence = s?.options?.end_silence_ms;
    // Engines with options differ per agent; the process-per-stream engine keeps no state, so this is cheap.
    return this.#once(`${name}:${endSilence ?? ''}`, () => new PocketsphinxStt(endSilence !== undefined ? { endSilenceMs: endSilence as number } : {}));
  }

  vad(name: string | undefined): VadProvider {
    const n = check('vad', name ?? DEFAULT_PROVIDERS.vad);
    if (n === 'energy') return this.#once('energy', () => new EnergyVad());
    return this.#once('silero', () => {
      const silero = new SileroVad(this.opts.sileroModelPath ? { modelPath: this.opts.sileroModelPath } : {});
      return new FallbackVad(silero, this.#once('energy', () => new EnergyVad()), this.opts.onVadFallback);
    });
  }

  #once<T extends TtsProvider | SttProvider | VadProvider>(key: string, make: () => T): T {
    let p = this.#cache.get(key) as T | undefined;
    if (!p) {
      p = make();
      this.#cache.set(key, p);
    }
    return p;
  }
}

/**
 * Everything about a call's speech settings that can be known without running an engine: provider
 * names, flite's voice, pocketsphinx's options. The API runs it when an agent is saved, the worker
 * before dialing. Throws ProviderChoiceError naming the problem.
 */
export function checkSpeechChoice(choice: SpeechChoice): void {
  const tts = check('tts', choice.tts?.provider ?? DEFAULT_PROVIDERS.tts);
  const voice = choice.tts?.voice;
  if (tts === 'flite' && voice !== undefined && !FliteTts.knowsVoice(voice)) {
    throw new ProviderChoiceError('tts', `flite has no voice "${voice}"; voices: ${FLITE_VOICES.join(', ')} (or the path of a .flitevox file)`, 'voice');
  }
  check('stt', choice.stt?.provider ?? DEFAULT_PROVIDERS.stt);
  const endSilence = choice.stt?.options?.end_silence_ms;
  if (endSilence !== undefined && (typeof endSilence !== 'number' || !(endSilence >= 100 && endSilence <= 5000))) {
    throw new ProviderChoiceError('stt', `stt option end_silence_ms must be a number of ms in 100..5000, got ${JSON.stringify(endSilence)}`, 'options');
  }
  check('vad', choice.vad ?? DEFAULT_PROVIDERS.vad);
}

function check(kind: ProviderKind, name: string): string {
  const problem = unsupportedProvider(kind, name);
  if (problem) throw new ProviderChoiceError(kind, problem);
  return name;
}
