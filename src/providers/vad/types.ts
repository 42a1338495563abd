/**
 * Voice activity detection: one small interface with capability flags. A stream takes the leg's
 * 20 ms PCM16 frames in order and answers each with the speech probability and any turn events it
 * settled. Times are ms of audio from the stream's first sample (not wall clock), so results are
 * reproducible and line up with the STT's times. `speech_start.atMs` is the onset: it is reported
 * once minSpeechMs of speech confirmed it, i.e. later than atMs, which is what callers want for
 * barge-in decisions and transcript alignment alike.
 */
export interface VadCapabilities {
  /** Rates create() accepts; anything else is refused with 'unsupported_audio'. */
  readonly sampleRates: readonly number[];
}

export interface VadOptions {
  sampleRate: number;
  /** Probability at which speech starts (0..1). Provider default, typically 0.5. */
  threshold?: number;
  /** Probability below which speech stops; lower than threshold (hysteresis). Default threshold - 0.15. */
  stopThreshold?: number;
  /** Speech shorter than this is ignored (clicks, coughs). Default 250 ms. */
  minSpeechMs?: number;
  /** Silence needed to end speech, so short pauses between words do not. Default 400 ms. */
  minSilenceMs?: number;
}

export type VadEvent =
  | { type: 'speech_start'; atMs: number }
  | { type: 'speech_end'; atMs: number; durationMs: number };

export interface VadFrameResult {
  /** Speech probability for the audio up to this frame's end (0..1). */
  probability: number;
  /** Whether the stream is inside a confirmed speech segment after this frame. */
  speaking: boolean;
  /** Events settled by this frame, in order (usually none). */
  events: VadEvent[];
}

export interface VadStream {
  readonly sampleRate: number;
  /**
   * One 20 ms frame (160 samples at 8 kHz, 320 at 16 kHz). Results resolve in push order; calls
   * may overlap (each is queued behind the previous).
   */
  push(frame: Int16Array): Promise<VadFrameResult>;
  /** No more audio: ends a segment still open (speech_end at the end of the audio). */
  end(): Promise<VadEvent[]>;
}

export interface VadProvider {
  readonly name: string;
  readonly capabilities: VadCapabilities;
  /** Rejects with ProviderError('unsupported_audio') for a rate not in capabilities. */
  create(opts: VadOptions): Promise<VadStream>;
  /** Loads the model now rather than at the first create() (see SttProvider.prepare). Never rejects. */
  prepare?(): Promise<void>;
}
