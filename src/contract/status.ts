/**
 * The call lifecycle: the one place that knows which status may follow which.
 *
 *   outbound: queued -> dispatching -> dialing -> in_progress -> completed
 *   inbound:  ringing -> in_progress -> completed
 *   and no_answer, busy, failed, canceled as the other terminal statuses.
 *
 * A dispatching call may go back to queued (a limit was hit after the claim, or its lease expired
 * before dialing): it was never dialed, so re-queueing cannot dial a number twice. Nothing ever
 * leaves a terminal status.
 */
export const CALL_STATUSES = [
  'queued',
  'dispatching',
  'dialing',
  // An inbound call: the caller's INVITE is in and rings; the agent has not answered yet.
  'ringing',
  'in_progress',
  'completed',
  'no_answer',
  'busy',
  'failed',
  'canceled',
] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

export const TERMINAL_STATUSES = ['completed', 'no_answer', 'busy', 'failed', 'canceled'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
export type ActiveStatus = Exclude<CallStatus, TerminalStatus>;

const LEGAL: Record<CallStatus, readonly CallStatus[]> = {
  queued: ['dispatching', 'canceled', 'failed'],
  dispatching: ['queued', 'dialing', 'canceled', 'failed'],
  // From dialing the SIP outcome decides: answered, or one of the unanswered endings.
  dialing: ['in_progress', 'no_answer', 'busy', 'failed', 'canceled'],
  // An inbound call is answered, or the caller gives up (canceled), or it cannot be answered (failed).
  ringing: ['in_progress', 'canceled', 'failed'],
  // An answered call ends completed (either side hung up, or canceled by API), or failed (worker lost, media error).
  in_progress: ['completed', 'failed'],
  completed: [],
  no_answer: [],
  busy: [],
  failed: [],
  canceled: [],
};

export function isTerminal(status: CallStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

export function canTransition(from: CallStatus, to: CallStatus): boolean {
  return LEGAL[from].includes(to);
}

export function legalNextStatuses(from: CallStatus): readonly CallStatus[] {
  return LEGAL[from];
}

/** Why a call ended. Stable strings: they reach clients in webhooks. */
export const END_REASONS = [
  'callee_hangup',
  // An inbound call: the caller hung up (after the answer; before it, caller_abandoned).
  'caller_hangup',
  'caller_abandoned',
  'agent_hangup',
  'canceled_by_api',
  // The agent was deleted while the call still waited in the queue: it is never dialed.
  'agent_deleted',
  'max_duration_reached',
  'inactivity_timeout',
  'transferred',
  'machine_detected',
  // A machine answered and the agent left its voicemail message after the greeting (voicemail.action leave_message).
  'voicemail_left',
  // The network answered with an intercept (special information tones, "not in service"): status failed.
  'number_unreachable',
  // A fax machine answered (CNG or CED tone): status failed.
  'fax_detected',
  'ring_timeout',
  'busy',
  'declined',
  'no_answer',
  'sip_error',
  // An inbound call over the agent's, trunk's or organization's concurrent-call limit: refused 486, status failed.
  'over_limit',
  'worker_lost',
  // The worker was stopped (SIGTERM) and the call was still live when its drain time (OUTCALL_DRAIN_S) ran out.
  'worker_shutdown',
  // The worker holding the call never reported its end, long past the call's own limits.
  'overdue',
  'dial_error',
  'media_timeout',
  'error_stt',
  'error_llm',
  'error_tts',
] as const;
export type EndReason = (typeof END_REASONS)[number];
