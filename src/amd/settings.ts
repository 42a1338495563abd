/**
 * The user's tuning for answering-machine detection: defaults and the accepted ranges, written once so
 * the API schema, the stored options and the detector read the same numbers. Keys of AMD_RANGES are
 * the API's field names (machine_detection.*).
 */
import { AMD_TIMING, type IntegerOption } from '../contract/call-defaults.js';
import type { AmdSettings } from './types.js';

export type AmdRange = IntegerOption;

/** The API's ranges and defaults (machine_detection.*), one table: src/contract/call-defaults.ts. */
export const AMD_RANGES = AMD_TIMING;

export const AMD_DEFAULTS: AmdSettings = {
  mode: 'detect',
  totalAnalysisMs: AMD_RANGES.total_analysis_ms.default,
  initialSilenceMs: AMD_RANGES.initial_silence_ms.default,
  greetingMaxMs: AMD_RANGES.greeting_max_ms.default,
  afterGreetingSilenceMs: AMD_RANGES.after_greeting_silence_ms.default,
  beepTimeoutMs: AMD_RANGES.beep_timeout_ms.default,
};
