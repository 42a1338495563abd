/**
 * The user's tuning for answering-machine detection: defaults and the accepted ranges, written once so
 * the API schema, the stored options and the detector read the same numbers. Keys of AMD_RANGES are
 * the API's field names (machine_detection.*).
 */
import type { AmdSettings } from './types.js';

export interface AmdRange {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

export const AMD_RANGES = {
  /** Issue 17: 500-60000, default 5000 (the carriers' usual; a verdict is always given by then). */
  total_analysis_ms: { min: 500, max: 60000, default: 5000 },
  /** Silence from the answer before giving up on hearing anyone: 2500 as Asterisk app_amd's initialSilence. */
  initial_silence_ms: { min: 500, max: 10000, default: 2500 },
  /**
   * Speech this long without a wait decides a machine. 1800 ms (Asterisk uses 1500): a person's answer
   * ("Hello?", "Yeah, this is Sam.") lasts 0.3-1.5 s; 1800 keeps the p50 machine verdict under 3 s
   * from the answer while sparing people who add a few words (measured: BENCHMARKS.md).
   */
  greeting_max_ms: { min: 500, max: 10000, default: 1800 },
  /** Silence after a machine's greeting that counts as its end: 800 as Asterisk's afterGreetingSilence (a sentence gap is shorter). */
  after_greeting_silence_ms: { min: 200, max: 5000, default: 800 },
  /**
   * How long after the machine verdict to wait for a beep: 30000 (Twilio's MachineDetectionTimeout
   * default is 30 s): greetings run 3-15 s and some carriers' prompts ("...to leave a callback number,
   * press 5...") longer, and a message started during the greeting is lost.
   */
  beep_timeout_ms: { min: 1000, max: 60000, default: 30000 },
} as const satisfies Record<string, AmdRange>;

export const AMD_DEFAULTS: AmdSettings = {
  mode: 'detect',
  totalAnalysisMs: AMD_RANGES.total_analysis_ms.default,
  initialSilenceMs: AMD_RANGES.initial_silence_ms.default,
  greetingMaxMs: AMD_RANGES.greeting_max_ms.default,
  afterGreetingSilenceMs: AMD_RANGES.after_greeting_silence_ms.default,
  beepTimeoutMs: AMD_RANGES.beep_timeout_ms.default,
};
