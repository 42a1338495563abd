/**
 * Text to speech: one small interface with capability flags. Audio comes out as mono PCM16
 * chunks at the requested sample rate (the provider resamples if its engine cannot produce it),
 * streamed as soon as the engine produces them, so playout can start before synthesis ends.
 */
export interface TtsCapabilities {
  /** Audio arrives while synthesis runs, not all at the end. */
  readonly streaming: boolean;
  /** Rates the engine produces without resampling. */
  readonly nativeSampleRates: readonly number[];
}

export interface TtsRequest {
  text: string;
  sampleRate: number;
  voice?: string;
  /** Aborting stops synthesis and ends the stream (barge-in, hang-up). */
  signal?: AbortSignal;
}

/** What an utterance soon will be, as far as choosing its connection goes. */
export interface TtsPrepareRequest {
  sampleRate: number;
  voice?: string;
}

export interface TtsProvider {
  readonly name: string;
  readonly capabilities: TtsCapabilities;
  synthesize(req: TtsRequest): AsyncIterable<Int16Array>;
  /**
   * An utterance at this rate is likely soon (the callee started talking): get ready now, e.g.
   * open the vendor connection, so it does not pay the set-up. Never throws; what fails here is
   * reported by the utterance itself.
   */
  prepare?(req: TtsPrepareRequest): void;
}
