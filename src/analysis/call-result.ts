/**
 * The result webhook of an answered call carries its summary and transcript id. A call that ended
 * `completed` with a transcript and a callback_url does not get `call.result` at its terminal
 * transition (its status callbacks still go then): the transition's transaction sets
 * calls.result_due_at, the end plus the wait bound (OUTCALL_RESULT_SUMMARY_WAIT_S). Then whichever
 * comes first sends it:
 * - the post-call analysis, in the transaction that stores its summary (the LLM's, or the extractive
 *   one when the agent has no LLM or it failed): releaseResult below;
 * - the bound: the process that ended the call arms a timer for result_due_at, and every process's
 *   sweep looks for results past due (a process that died in between leaves the call to them). The
 *   result then carries the extractive summary, which is also stored on the call until the analysis
 *   replaces it: sendDueResult.
 * Both clear result_due_at in the transaction that writes the webhook, only if it is still set (a
 * compare-and-set on the call row), so the result goes exactly once. `analyzed` still follows with
 * the analysis' summary whenever it is ready.
 */
import type { AppContext } from '../app-context.js';
import type { CallRow } from '../calls/call-object.js';
import { enqueueResultWebhook } from '../calls/outbox.js';
import type { Queryable } from '../store/db.js';
import { sql } from '../store/sql.js';
import type { TranscriptTurn } from '../voice/events.js';
import { extractiveSummary } from './extractive-summary.js';

/** How long call.result waits for the LLM's summary by default (OUTCALL_RESULT_SUMMARY_WAIT_S). */
export const DEFAULT_RESULT_SUMMARY_WAIT_MS = 15_000;

/** Writes the call's result webhook if it is still waiting (compare-and-set); true when this call sent it. */
export async function releaseResult(tx: Queryable, orgId: string, callId: string, at: Date): Promise<boolean> {
  const r = await tx.query<CallRow>(sql`update calls set result_due_at = null
    where org_id = ${orgId} and id = ${callId} and result_due_at is not null returning *`);
  const row = r.rows[0];
  if (!row) return false;
  await enqueueResultWebhook(tx, row, at);
  return true;
}

export async function transcriptTurns(db: Queryable, row: Pick<CallRow, 'org_id' | 'transcript_id'>): Promise<TranscriptTurn[]> {
  if (!row.transcript_id) return [];
  const t = await db.query<{ turns: TranscriptTurn[] }>(sql`select turns from transcripts where org_id = ${row.org_id} and id = ${row.transcript_id}`);
  return t.rows[0]?.turns ?? [];
}

/**
 * The bound has passed and the analysis has not sent the result: it goes now, with the extractive
 * summary (stored on the call as its summary until the analysis writes its own). True when this
 * call sent it; false when it was not due yet or already sent.
 */
export async function sendDueResult(ctx: AppContext, orgId: string, callId: string): Promise<boolean> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.now();
    // Locked: the analysis' final transaction (which also sends it) waits for this one, or this one for it.
    const r = await tx.query<CallRow>(sql`select * from calls where org_id = ${orgId} and id = ${callId}
      and result_due_at <= ${now} for update`);
    const row = r.rows[0];
    if (!row) return false;
    if (!row.analyzed_at) {
      const summary = extractiveSummary(await transcriptTurns(tx, row));
      await tx.query(sql`update calls set summary_text = ${summary === '' ? null : summary}, summary_source = 'extractive'
        where org_id = ${orgId} and id = ${callId}`);
    }
    return releaseResult(tx, orgId, callId, now);
  });
}

/** Calls whose result is past due, oldest first (for a sweep). */
export async function dueResults(db: Queryable, now: Date, limit: number): Promise<Array<{ org_id: string; id: string }>> {
  const r = await db.query<{ org_id: string; id: string }>(sql`select org_id, id from calls
    where result_due_at <= ${now} order by result_due_at limit ${limit}`);
  return r.rows;
}

/** When the next waiting result falls due (any process's call), or undefined when none waits. */
export async function nextResultDue(db: Queryable): Promise<Date | undefined> {
  const r = await db.query<{ due: Date | null }>(sql`select min(result_due_at) as due from calls where result_due_at is not null`);
  const due = r.rows[0]?.due;
  return due ? new Date(due) : undefined;
}
