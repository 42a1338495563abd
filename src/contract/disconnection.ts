/**
 * Why a call ended, in the vocabulary common to voice-agent platforms (`disconnection` on the call
 * object and in `call.result`), mapped once from our own end reasons (status.ts). `end_reason`
 * stays the precise word; `disconnection` is the coarse one a client can switch on across vendors.
 */
import type { EndReason } from './status.js';

export const DISCONNECTIONS = [
  'user_hangup',
  'agent_hangup',
  // The agent left a message on a machine (end reason voicemail_left).
  'voicemail',
  'no_answer',
  'busy',
  'declined',
  'failed',
  'canceled',
  'max_duration',
  'inactivity',
  'transferred',
  'machine_detected',
  'error',
] as const;
export type Disconnection = (typeof DISCONNECTIONS)[number];

/**
 * Every end reason and its disconnection. A Record over EndReason, so a new end reason does not
 * compile until it is mapped here.
 */
export const DISCONNECTION_OF: Readonly<Record<EndReason, Disconnection>> = {
  callee_hangup: 'user_hangup',
  caller_hangup: 'user_hangup',
  // The caller hung up while it still rang: nobody was answered, so the call was called off.
  caller_abandoned: 'canceled',
  agent_hangup: 'agent_hangup',
  canceled_by_api: 'canceled',
  // The agent was deleted while the call waited: it was called off before anyone was dialed.
  agent_deleted: 'canceled',
  max_duration_reached: 'max_duration',
  inactivity_timeout: 'inactivity',
  transferred: 'transferred',
  machine_detected: 'machine_detected',
  voicemail_left: 'voicemail',
  number_unreachable: 'failed',
  fax_detected: 'failed',
  ring_timeout: 'no_answer',
  no_answer: 'no_answer',
  busy: 'busy',
  // 603 Decline (RFC 3261 §21.6.2): the callee refused the call, which is not the line being busy.
  declined: 'declined',
  // The far end or the trunk refused the call with a final error status.
  sip_error: 'failed',
  // We could not reach the trunk (transport error, no response, unresolvable host).
  dial_error: 'failed',
  // Our side lost the call: the worker, the media, or a speech provider failed.
  // We refused an inbound call (486 Busy Here): the line was busy from the caller's side.
  over_limit: 'busy',
  worker_lost: 'error',
  worker_shutdown: 'error',
  overdue: 'error',
  media_timeout: 'error',
  error_stt: 'error',
  error_llm: 'error',
  error_tts: 'error',
};

/** The disconnection of a call that has ended with this reason; null while it has not. */
export function disconnectionOf(endReason: EndReason | null): Disconnection | null {
  return endReason === null ? null : DISCONNECTION_OF[endReason];
}
