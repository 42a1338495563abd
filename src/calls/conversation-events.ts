/**
 * The agent's conversation on a call, as webhooks a status_callback subscribes to like status
 * events (`events: ["conversation.created", "conversation.ended"]`): created when the callee answers
 * a call that has someone to talk (a voice agent, or a greeting), ended when that call ends, with the
 * transcript's id and its turn count. Each at most once per call (event-once.ts), and ended only
 * after created.
 */
import type { Queryable } from '../store/db.js';
import { sql } from '../store/sql.js';
import type { CallRow } from './call-object.js';
import { toCall } from './call-object.js';
import { claimCallEvent, hasCallEvent } from './event-once.js';
import { statusCallbackTargets, writeEvent } from './outbox.js';

export type ConversationEvent = 'conversation.created' | 'conversation.ended';

async function enqueue(tx: Queryable, row: CallRow, event: ConversationEvent, at: Date, extra: Record<string, unknown>): Promise<void> {
  if (!(await claimCallEvent(tx, row.org_id, row.id, event, at))) return;
  const targets = statusCallbackTargets(row, event);
  if (targets.length === 0) return;
  const c = toCall(row);
  const data = { call_id: c.id, agent_id: c.agent_id, agent_name: c.agent_name, event, at: at.toISOString(), direction: c.direction, ...extra, metadata: c.metadata };
  await writeEvent(tx, row, event, at, data, targets);
}

/** The callee answered and the agent's conversation starts. */
export async function enqueueConversationCreated(tx: Queryable, row: CallRow, at: Date): Promise<void> {
  await enqueue(tx, row, 'conversation.created', at, {});
}

/**
 * The call has ended (called in its terminal transition, so a call ended by a lost worker ends its
 * conversation too): only a call whose conversation was created has one to end.
 */
export async function enqueueConversationEnded(tx: Queryable, row: CallRow, at: Date): Promise<void> {
  if (!(await hasCallEvent(tx, row.org_id, row.id, 'conversation.created'))) return;
  let turnCount = 0;
  if (row.transcript_id !== null) {
    const r = await tx.query<{ n: number }>(sql`select jsonb_array_length(turns) as n from transcripts where org_id = ${row.org_id} and id = ${row.transcript_id}`);
    turnCount = Number(r.rows[0]?.n ?? 0);
  }
  await enqueue(tx, row, 'conversation.ended', at, { transcript_id: row.transcript_id, turn_count: turnCount, end_reason: row.end_reason });
}
