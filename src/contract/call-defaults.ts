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
 * Answering-machine detection tuning (ms), named as carriers expose it. The defaults are the
 * classic ones of timing-based detectors (Asterisk's AMD application uses the same initial silence,
 * greeting, after-greeting silence and total analysis time), which our cue-based detector refines
 * with words and tones; src/amd/thresholds.ts says why each internal threshold has its value.
 */
export const AMD_TIMING = {
  /** Give the verdict (unknown at worst) no later than this after the answer. */
  total_analysis_ms: { min: 500, max: 60_000, default: 5000 },
  /** Nobody speaks this long after the answer: a machine that waits, or nobody there. */
  initial_silence_ms: { min: 500, max: 10_000, default: 2500 },
  /** One stretch of speech longer than this is a recorded greeting, not a person's "Hello?". */
  greeting_max_ms: { min: 500, max: 10_000, default: 1500 },
  /** Silence this long after a machine's greeting ends it (when no beep comes). */
  after_greeting_silence_ms: { min: 300, max: 5000, default: 800 },
  /** detect_message_end: wait this long after the machine verdict for the beep at most. */
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
