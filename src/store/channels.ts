/**
 * The NOTIFY channels processes wake each other on (LISTEN/NOTIFY: a hint sent at commit; every
 * listener also polls, so a lost notification only delays). One place, so no layer has to import
 * another's service to learn a channel's name.
 */

/** A call was queued or re-queued, or freed a slot by ending: dispatchers run a claim pass. */
export const CALLS_QUEUED_CHANNEL = 'outcall_calls_queued';

/** The API asked to cancel a call (payload: the call id): the worker holding it hangs up. */
export const CALL_CANCEL_CHANNEL = 'outcall_call_cancel';

/** Webhook deliveries were written to the outbox: deliverers wake. */
export const WEBHOOKS_CHANNEL = 'outcall_webhooks';

/**
 * A call's result webhook now waits for its summary (payload: the call id): every post-call runner
 * wakes its sweep for when it falls due, in case the process that ended the call dies first.
 */
export const RESULTS_DUE_CHANNEL = 'outcall_results_due';
