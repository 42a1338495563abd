/**
 * A call's option defaults and ranges, written once: the request schema (validation and OpenAPI),
 * the options stored with the call (optionsFrom) and the scenario files' checks all read them here.
 */

/** An integer option: its range and the value a call that omits it gets. */
export interface IntegerOption {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

export const RING_TIMEOUT_S: IntegerOption = { min: 5, max: 120, default: 45 };
export const MAX_DURATION_S: IntegerOption = { min: 30, max: 14400, default: 3600 };

export const MACHINE_DETECTION_DEFAULT = { mode: 'disabled', hangup_on_machine: false } as const;

/**
 * Answering-machine detection tuning (ms), named as carriers expose it: the API's ranges and
 * defaults, which the detector (src/amd/settings.ts) reads too. Its internal thresholds, each with
 * the reason for its value, are in src/amd/thresholds.ts.
 */
export const AMD_TIMING = {
  /** Issue 17: 500-60000, default 5000 (the carriers' usual; a verdict is always given by then). */
  total_analysis_ms: { min: 500, max: 60_000, default: 5000 },
  /** Silence from the answer before giving up on hearing anyone: 2500 as Asterisk app_amd's initialSilence. */
  initial_silence_ms: { min: 500, max: 10_000, default: 2500 },
  /**
   * Speech this long without a wait decides a machine. 1800 ms (Asterisk uses 1500): a person's answer
   * ("Hello?", "Yeah, this is Sam.") lasts 0.3-1.5 s; 1800 keeps the p50 machine verdict under 3 s
   * from the answer while sparing people who add a few words (measured: BENCHMARKS.md).
   */
  greeting_max_ms: { min: 500, max: 10_000, default: 1800 },
  /** Silence after a machine's greeting that counts as its end: 800 as Asterisk's afterGreetingSilence (a sentence gap is shorter). */
  after_greeting_silence_ms: { min: 200, max: 5000, default: 800 },
  /**
   * How long after the machine verdict to wait for a beep: 30000 (Twilio's MachineDetectionTimeout
   * default is 30 s): greetings run 3-15 s and some carriers' prompts ("...to leave a callback number,
   * press 5...") longer, and a message started during the greeting is lost.
   */
  beep_timeout_ms: { min: 1000, max: 60_000, default: 30_000 },
} as const satisfies Record<string, IntegerOption>;
export type AmdTimingField = keyof typeof AMD_TIMING;

/** What the agent does when a machine answers (voicemail.action). */
export const VOICEMAIL_ACTIONS = ['hangup', 'leave_message', 'continue'] as const;
export type VoicemailAction = (typeof VOICEMAIL_ACTIONS)[number];
/** Without a voicemail setting the agent goes on as it would with a person (as carriers' AMD does). */
export const VOICEMAIL_ACTION_DEFAULT: VoicemailAction = 'continue';
export const VOICEMAIL_MESSAGE_MAX = 2000;
export const RECORD_CHANNELS_DEFAULT = 'mono';
/** record.track: which side is recorded (inbound: the callee, outbound: the agent). */
export const RECORD_TRACK_DEFAULT = 'both';
export const RECORD_TRIM_SILENCE_DEFAULT = false;
export const STATUS_CALLBACK_METHOD_DEFAULT = 'POST';
/** status_callback.urls: at most this many receivers per call. */
export const STATUS_CALLBACK_MAX_URLS = 5;

/** The largest metadata a call carries: the UTF-8 bytes of its JSON text as sent. */
export const METADATA_MAX_BYTES = 16 * 1024;
