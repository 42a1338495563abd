/**
 * Who answered: the contract between the answering-machine detector (src/amd, pure, runs on the
 * callee's 20 ms frames in the media worker) and the voice runtime that acts on its verdict.
 * Streaming and causal: the detector sees audio and words only as they happen, never the future.
 */
import { ANSWERED_BY_VALUES } from '../contract/machine-detection.js';

/** The classes a verdict can name (the call object's `answered_by`): one list, the API's. */
export const ANSWERED_BY = ANSWERED_BY_VALUES;
export type AnsweredBy = (typeof ANSWERED_BY)[number];

/** The cues a verdict can rest on (the call's `machine_detection_result.cues`). */
export const AMD_CUES = [
  /** Nobody said anything for initial_silence_ms after the answer. */
  'initial_silence',
  /** A short answer ("Hello?") followed by a wait: a person. */
  'short_greeting',
  /** Speech went on longer than greeting_max_ms without a pause a person would leave. */
  'long_greeting',
  /** Many words before the first real pause (a recorded greeting's cadence). */
  'many_words',
  /** The recognizer heard a voicemail phrase ("leave a message", "not available", ...). */
  'voicemail_phrase',
  /** The recognizer heard a call-screening assistant's phrase. */
  'screening_phrase',
  /** The recognizer heard an IVR / intercept phrase ("press one", "not in service", ...). */
  'ivr_phrase',
  /** The recognizer heard what a person says and a recording does not ("how can I help you", "Maria speaking"). */
  'human_phrase',
  /** Words were expected: the recognizer heard the whole greeting and found no phrase, so the cadence verdict stands. */
  'no_phrase',
  /** Words were expected and decided nothing before the hold ran out (WORDS_HOLD_MS): the cadence verdict stands. */
  'words_timeout',
  /** A steady tone 400-2100 Hz after speech: the machine's beep. */
  'beep',
  /** Silence after a machine's greeting long enough to count as its end. */
  'after_greeting_silence',
  /** Special information tones (913.8, 1370.6, 1776.7 Hz in sequence). */
  'sit_tones',
  /** Heard on early media (a 183 before any answer): machine_detection_ms then counts from the early media's start. */
  'early_media',
  /** Fax calling tone (CNG, 1100 Hz) or answer tone (CED, 2100 Hz). */
  'fax_tone',
  /** total_analysis_ms ran out before any cue decided. */
  'timeout',
] as const;
export type AmdCue = (typeof AMD_CUES)[number];

export type AmdMode = 'detect' | 'detect_message_end';

/** Tuning, as carriers expose it (ms). Defaults and ranges: AMD_DEFAULTS and AMD_RANGES in src/amd/settings.ts. */
export interface AmdSettings {
  mode: AmdMode;
  /** Give up (verdict unknown, or machine_end_other when waiting for a machine's end) after this long from the answer. */
  totalAnalysisMs: number;
  /** Silence from the answer this long: machine (a machine that waits) or nobody; verdict per thresholds. */
  initialSilenceMs: number;
  /** Speech this long without a pause: a machine's greeting. */
  greetingMaxMs: number;
  /** Silence after a machine's greeting this long: its end (machine_end_silence). */
  afterGreetingSilenceMs: number;
  /** detect_message_end: after the machine verdict, wait this long for a beep before settling for silence/other. */
  beepTimeoutMs: number;
  /**
   * A recognizer feeds words() (the runtime sets it for cascaded voice sessions). Then a machine
   * verdict resting on cadence alone is held while words may still decide it (a talkative person,
   * a screening assistant); without it the detector decides on audio alone.
   */
  wordsExpected?: boolean;
  /**
   * A recognizer feeds words() (not held for): the end of a machine's greeting found by silence
   * waits, up to WORDS_SETTLE_MS, for the words of its last clause while the verdict may still be
   * taken back, so a talkative person or a screening assistant is not left a voicemail message.
   */
  wordsComing?: boolean;
}

/** What the detector reports, in the order it finds out. `atMs`: audio ms since the answer. */
export type AmdEvent =
  /** Exactly once per call, however it ends (unknown at totalAnalysisMs at the latest). */
  | { type: 'verdict'; answeredBy: AnsweredBy; atMs: number; cues: AmdCue[] }
  /**
   * detect_message_end only, after a machine verdict: the greeting is over and a message may start now.
   * answeredBy is machine_end_beep | machine_end_silence | machine_end_other. At most once.
   */
  | { type: 'greeting_end'; answeredBy: 'machine_end_beep' | 'machine_end_silence' | 'machine_end_other'; atMs: number; cues: AmdCue[]; beepHz?: number }
  /**
   * A machine verdict that rested on cadence alone, taken back by words heard after it (within
   * REVISE_WINDOW_MS, before the greeting's end, a beep or a voicemail phrase confirmed it): a
   * screening assistant's or a person's. At most once; no greeting_end follows.
   */
  | { type: 'revised'; answeredBy: 'screening' | 'human'; atMs: number; cues: AmdCue[] };

export interface MachineDetector {
  /** One 20 ms frame of the callee's audio (PCM16 at `sampleRate`), in order from the answer. */
  push(frame: Int16Array): AmdEvent[];
  /** Words the recognizer heard (partial or final), as they come; `atMs` audio ms since the answer. */
  words(text: string, final: boolean, atMs: number): AmdEvent[];
  /** Whether it is done: verdict given and (detect_message_end after a machine) the greeting end found or given up. */
  readonly done: boolean;
  /**
   * The line as of the last frame pushed, also after done: whether the far end is speaking, and how
   * long it has been quiet (no speech, no tone). For acting after a verdict (answering a screening
   * assistant once it has finished asking).
   */
  line(): { speaking: boolean; quietMs: number };
}
