import type { CallRow } from './call-object.js';
import { toCall } from './call-object.js';
import { isTerminal, type CallStatus } from '../contract/status.js';
import { newId } from '../ids.js';
import type { Queryable } from '../store/db.js';
import { sql } from '../store/sql.js';
import { WEBHOOKS_CHANNEL } from '../store/channels.js';
import { stringifyJson } from '../contract/raw-json.js';
import { claimCallEvent } from './event-once.js';

/** Status callback events of the call's lifecycle (status_callback.events; conversation.* are in conversation-events.ts). */
export type StatusEvent = 'initiated' | 'ringing' | 'answered' | 'completed' | 'no_answer' | 'busy' | 'failed' | 'canceled' | 'analyzed';

export interface WebhookTarget {
  url: string;
  method: 'POST' | 'GET';
}


/** Which status callback event a transition produces, if any. */
export function statusEventFor(to: CallStatus): StatusEvent | undefined {
  if (to === 'dialing') return 'initiated';
  if (to === 'in_progress') return 'answered';
  if (isTerminal(to)) return to;
  return undefined;
}

/** The result webhook's data: what a client needs to act on the outcome, metadata echoed verbatim. */
export function resultData(row: CallRow) {
  const c = toCall(row);
  return {
    call_id: c.id,
    agent_id: c.agent_id,
    status: c.status,
    to: c.to,
    from: c.from,
    metadata: c.metadata,
    summary_text: c.summary_text,
    summary_source: c.summary_source,
    transcript_id: c.transcript_id,
    recording: c.recording,
    sip_status_code: c.sip_status_code,
    end_reason: c.end_reason,
    disconnection: c.disconnection,
    error: c.error,
    direction: c.direction,
    agent_name: c.agent_name,
    created_at: c.created_at,
    dispatched_at: c.dispatched_at,
    answered_at: c.answered_at,
    ended_at: c.ended_at,
    duration_s: c.duration_s,
    answered_by: c.answered_by,
    machine_detection_result: c.machine_detection_result,
  };
}

/** One event, delivered to each target as its own delivery (own retries), all with the event's id as webhook-id. */
export async function writeEvent(tx: Queryable, row: CallRow, type: string, at: Date, data: unknown, targets: readonly WebhookTarget[]) {
  const id = newId('evt');
  // Serialized once: every attempt sends these exact bytes (the client's metadata as sent: stringifyJson).
  const body = stringifyJson({ type, created_at: at.toISOString(), data });
  await tx.query(sql`insert into webhook_events (id, org_id, call_id, type, body, created_at)
    values (${id}, ${row.org_id}, ${row.id}, ${type}, ${body}, ${at})`);
  for (const dest of targets) {
    await tx.query(sql`insert into webhook_deliveries (id, org_id, event_id, url, method, status, next_attempt_at, created_at)
      values (${newId('dlv')}, ${row.org_id}, ${id}, ${dest.url}, ${dest.method}, 'pending', ${at}, ${at})`);
  }
  await tx.query(sql`select pg_notify(${WEBHOOKS_CHANNEL}, ${id})`);
}

/** Where the call's status callbacks go when it subscribed to `event` (status_callback.url or .urls); none otherwise. */
export function statusCallbackTargets(row: CallRow, event: string): WebhookTarget[] {
  const sc = row.options.status_callback;
  if (!sc || !(sc.events ?? []).includes(event as never)) return [];
  const method = sc.method ?? 'POST';
  return (sc.urls ?? (sc.url !== undefined ? [sc.url] : [])).map((url) => ({ url, method }));
}

/**
 * The call has reached `event`: recorded once per call (event-once.ts), and its status callback
 * enqueued if the call subscribed. Returns false, enqueuing nothing, when the call had already
 * reached it (a 183 after a 180).
 */
export async function enqueueStatusEvent(tx: Queryable, row: CallRow, event: StatusEvent, at: Date): Promise<boolean> {
  if (!(await claimCallEvent(tx, row.org_id, row.id, event, at))) return false;
  const targets = statusCallbackTargets(row, event);
  if (targets.length === 0) return true;
  const c = toCall(row);
  const data = {
    call_id: c.id,
    agent_id: c.agent_id,
    event,
    status: c.status,
    to: c.to,
    from: c.from,
    at: at.toISOString(),
    sip_status_code: c.sip_status_code,
    end_reason: c.end_reason,
    disconnection: c.disconnection,
    error: c.error,
    answered_by: c.answered_by,
    metadata: c.metadata,
    // The analysis result, which the terminal webhooks (written before it) could not carry.
    ...(event === 'analyzed' ? { summary_text: c.summary_text, summary_source: c.summary_source, transcript_id: c.transcript_id, recording: c.recording } : {}),
  };
  await writeEvent(tx, row, `call.${event}`, at, data, targets);
  return true;
}

/** The result webhook (call.result) to callback_url, as the call row is now. */
export async function enqueueResultWebhook(tx: Queryable, row: CallRow, at: Date): Promise<void> {
  if (row.options.callback_url) await writeEvent(tx, row, 'call.result', at, resultData(row), [{ url: row.options.callback_url, method: 'POST' }]);
}

/**
 * Called by transitionCall inside its transaction, so the events exist exactly when the status
 * does: the status callback for the transition, and at a terminal status the result webhook,
 * unless the call's result waits for its summary (result_due_at set: src/analysis/call-result.ts).
 */
export async function enqueueTransitionWebhooks(tx: Queryable, row: CallRow, to: CallStatus, at: Date): Promise<void> {
  const event = statusEventFor(to);
  if (event) await enqueueStatusEvent(tx, row, event, at);
  if (isTerminal(to) && !row.result_due_at) await enqueueResultWebhook(tx, row, at);
}
