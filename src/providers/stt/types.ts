import type { ProviderError } from '../errors.js';

/**
 * Speech to text: one small interface with capability flags. The voice pipeline pushes the callee's
 * audio as 20 ms mono PCM16 frames and reads recognition events as they happen. Starting is
 * synchronous so a leg the engine cannot hear (wrong sample rate, language) is refused before any
 * audio flows; everything that can only go wrong later (the engine dies, a socket drops) arrives as
 * an `error` event, so one loop over the events handles every outcome.
 */
export interface SttCapabilities {
  /** Results arrive while audio is still being pushed, not only after end(). */
  readonly streaming: boolean;
  /** The engine emits `partial` events (hypotheses that may still change). */
  readonly interimResults: boolean;
  /** Rates accepted by start(); anything else is refused with 'unsupported_audio'. */
  readonly sampleRates: readonly number[];
  /** Hears only a closed vocabulary (a grammar from SttStartOptions.vocabulary): not for open conversation (LLM agents). */
  readonly closedVocabulary?: boolean;
}

export interface SttStartOptions {
  sampleRate: number;
  /** BCP-47 tag, e.g. 'en-US'. Providers refuse languages they cannot recognize. */
  language?: string;
  /** Aborting kills the engine at once (hang-up): no more results, then `closed`. */
  signal?: AbortSignal;
  /**
   * What the dialogue can hear here (keywords or whole expected lines): a hint. A grammar
   * recognizer listens for exactly these (plus yes/no words, digits and fillers); open-vocabulary
   * recognizers ignore it.
   */
  vocabulary?: readonly string[];
}

export type SttEvent =
  /** A hypothesis that may still change; when the engine knows them, the audio it covers (ms from the stream's first sample). */
  | { type: 'partial'; text: string; startMs?: number; endMs?: number }
  /** One utterance, settled. Times are ms from the first pushed sample of this stream. */
  | { type: 'final'; text: string; startMs: number; endMs: number; confidence?: number }
  | { type: 'error'; error: ProviderError }
  /** Always the last event, exactly once; iteration ends after it. */
  | { type: 'closed' };

export interface SttStream extends AsyncIterable<SttEvent> {
  /** One frame of PCM16 at the stream's rate. Ignored once the stream has ended or closed. */
  push(frame: Int16Array): void;
  /** No more audio: the engine settles what it heard (a last `final`), then `closed`. */
  end(): void;
  /** The vocabulary hint (SttStartOptions.vocabulary) from the next utterance on; absent on open-vocabulary engines. */
  setVocabulary?(phrases: readonly string[]): void;
}

export interface SttProvider {
  readonly name: string;
  readonly capabilities: SttCapabilities;
  /** Throws ProviderError('unsupported_audio' | 'provider_bad_request') synchronously. */
  start(opts: SttStartOptions): SttStream;
  /**
   * Loads what the first stream would otherwise load (a model, a decoding thread) now, off the call:
   * a media thread calls it as it starts, so no call's first words wait on it. Never throws; a load
   * that fails is reported by the first start() instead.
   */
  prepare?(): void;
}
