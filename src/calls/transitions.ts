import { publishActivity } from './activity.js';
import { OutcallError } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { CALLS_QUEUED_CHANNEL } from '../store/channels.js';
import { join, sql, type SqlFragment } from '../store/sql.js';
import { enqueueTransitionWebhooks } from './outbox.js';
import { enqueueConversationEnded } from './conversation-events.js';
import { enqueueRecordingWebhooks } from './recording-webhooks.js';
import type { CallRow } from './call-object.js';
import { canTransition, isTerminal, legalNextStatuses, type CallStatus, type EndReason } from '../contract/status.js';

/** Facts a transition may record on the call beside its new status. */
export interface TransitionFacts {
  sipStatusCode?: number | null;
  endReason?: EndReason | null;
  summaryText?: string | null;
  transcriptId?: string | null;
  /** Why a failed call failed, in words (the call's error.message; its code is the end reason). */
  errorMessage?: string | null;
}

export interface TransitionRequest {
  orgId: string;
  callId: string;
  to: CallStatus;
  at: Date;
  /** When given, the transition only happens from this status (compare-and-set). */
  expectFrom?: CallStatus;
  facts?: TransitionFacts;
  /** Stored with the event (e.g. worker id, SIP reason phrase). */
  data?: Record<string, unknown>;
}

export interface TransitionResult {
  from: CallStatus;
  to: CallStatus;
  eventId: number;
  /** The call as it is after the transition. */
  call: CallRow;
}

/**
 * Moves a call to a new status inside the caller's transaction: locks the row, checks the move is
 * legal (status.ts), sets the status and its timestamp, and stores the event and the webhooks it
 * produces (the transactional outbox). Because they are written in the same transaction, a status
 * never changes without its event and its webhooks, and the
 * unique index on terminal events makes "terminal exactly once" a database fact too.
 */
export async function transitionCall(tx: Queryable, req: TransitionRequest): Promise<TransitionResult> {
  const cur = await tx.query<{ status: CallStatus }>(
    sql`select status from calls where org_id = ${req.orgId} and id = ${req.callId} for update`,
  );
  const row = cur.rows[0];
  if (!row) throw new OutcallError('call_not_found', `no call ${req.callId}`, 'callId');
  const from = row.status;
  if (req.expectFrom !== undefined && req.expectFrom !== from) {
    throw new OutcallError('illegal_transition', `call ${req.callId} is ${from}, not ${req.expectFrom}`);
  }
  if (!canTransition(from, req.to)) {
    const next = legalNextStatuses(from);
    throw new OutcallError(
      'illegal_transition',
      `call ${req.callId} cannot go from ${from} to ${req.to}` + (next.length ? ` (allowed: ${next.join(', ')})` : ' (it has ended)'),
    );
  }
  const sets: SqlFragment[] = [sql`status = ${req.to}`];
  if (req.to === 'dispatching') sets.push(sql`dispatched_at = ${req.at}`);
  if (req.to === 'queued') sets.push(sql`dispatched_at = null`);
  if (req.to === 'in_progress') sets.push(sql`answered_at = ${req.at}`);
  if (isTerminal(req.to)) sets.push(sql`ended_at = ${req.at}`);
  const f = req.facts ?? {};
  if (f.sipStatusCode !== undefined) sets.push(sql`sip_status_code = ${f.sipStatusCode}`);
  if (f.endReason !== undefined) sets.push(sql`end_reason = ${f.endReason}`);
  if (f.summaryText !== undefined) sets.push(sql`summary_text = ${f.summaryText}`);
  if (f.transcriptId !== undefined) sets.push(sql`transcript_id = ${f.transcriptId}`);
  if (f.errorMessage !== undefined) sets.push(sql`error_message = ${f.errorMessage}`);
  const updated = await tx.query<CallRow>(
    sql`update calls set ${join(sets, ', ')} where org_id = ${req.orgId} and id = ${req.callId} returning *`,
  );
  const ev = await tx.query<{ id: number }>(sql`insert into call_events (org_id, call_id, from_status, to_status, terminal, at, data)
    values (${req.orgId}, ${req.callId}, ${from}, ${req.to}, ${isTerminal(req.to)}, ${req.at}, ${JSON.stringify(req.data ?? {})})
    returning id`);
  const call = updated.rows[0] as CallRow;
  // The conversation ends with the call (before the call's own terminal webhooks, in event order).
  if (isTerminal(req.to)) await enqueueConversationEnded(tx, call, req.at);
  await enqueueTransitionWebhooks(tx, call, req.to, req.at);
  await enqueueRecordingWebhooks(tx, call, req.to, req.at);
  // An ended call frees a concurrency slot (and a re-queued one is due again): wake the dispatchers.
  if (isTerminal(req.to) || req.to === 'queued') await tx.query(sql`select pg_notify(${CALLS_QUEUED_CHANNEL}, ${req.callId})`);
  // Live watchers (GET /v1/calls/{id}/stream) re-read the events when this commits.
  await publishActivity(tx, { kind: 'status', callId: req.callId });
  return { from, to: req.to, eventId: Number(ev.rows[0]?.id), call };
}
