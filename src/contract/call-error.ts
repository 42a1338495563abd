/**
 * A failed call says why on the call itself: `error: {code, message}`. The code is the end reason
 * (stable: `dial_error`, `sip_error`, `error_stt`, `worker_lost`...), the message is what happened in
 * words (the SIP reason phrase, the transport error, the provider's error). Null unless failed.
 */
import type { CallStatus, EndReason } from './status.js';

export interface CallError {
  code: string;
  message: string;
}

/** What a failure says when the code that ended the call gave no words of its own. */
const DEFAULT_MESSAGES: Partial<Record<EndReason, string>> = {
  sip_error: 'the far end refused the call',
  dial_error: 'the call could not be dialed',
  worker_lost: 'the media worker running the call was lost',
  overdue: 'the worker running the call never reported its end',
  media_timeout: 'no audio arrived from the far end',
  error_stt: 'the speech recognizer failed',
  error_llm: 'the language model failed',
  error_tts: 'the speech synthesizer failed',
  number_unreachable: 'the network answered with an intercept: the number is not in service',
  fax_detected: 'a fax machine answered',
};

export function callErrorOf(status: CallStatus, endReason: EndReason | null, message: string | null): CallError | null {
  if (status !== 'failed') return null;
  const code = endReason ?? 'error';
  const words = message !== null && message.trim() !== '' ? message : (endReason !== null ? DEFAULT_MESSAGES[endReason] : undefined);
  return { code, message: words ?? 'the call failed' };
}
