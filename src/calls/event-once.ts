/**
 * Each status or conversation event of a call happens at most once (a 183 after a 180, a
 * retransmitted 180, two worker events racing): a row per (call, event) in call_event_once, inserted
 * in the transaction that enqueues the event's webhooks. The primary key makes it a store fact: a
 * second transaction's insert waits for the first to commit, then finds the key taken.
 */
import type { Queryable } from '../store/db.js';
import { sql } from '../store/sql.js';

/** True the first time this call reaches `event` (and records it); false ever after. */
export async function claimCallEvent(tx: Queryable, orgId: string, callId: string, event: string, at: Date): Promise<boolean> {
  const r = await tx.query(sql`insert into call_event_once (org_id, call_id, event, at) values (${orgId}, ${callId}, ${event}, ${at})
    on conflict (org_id, call_id, event) do nothing`);
  return r.rowCount > 0;
}

/** Whether this call has reached `event`. */
export async function hasCallEvent(tx: Queryable, orgId: string, callId: string, event: string): Promise<boolean> {
  const r = await tx.query(sql`select 1 from call_event_once where org_id = ${orgId} and call_id = ${callId} and event = ${event}`);
  return r.rowCount > 0;
}
