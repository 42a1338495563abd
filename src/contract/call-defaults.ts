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
export const RECORD_CHANNELS_DEFAULT = 'mono';
/** record.track: which side is recorded (inbound: the callee, outbound: the agent). */
export const RECORD_TRACK_DEFAULT = 'both';
export const RECORD_TRIM_SILENCE_DEFAULT = false;
export const STATUS_CALLBACK_METHOD_DEFAULT = 'POST';
/** status_callback.urls: at most this many receivers per call. */
export const STATUS_CALLBACK_MAX_URLS = 5;

/** The largest metadata a call carries: the UTF-8 bytes of its JSON text as sent. */
export const METADATA_MAX_BYTES = 16 * 1024;
