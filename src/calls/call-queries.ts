import type { AppContext } from '../app-context.js';
import type { CallStatus } from '../contract/status.js';
import { OutcallError } from '../errors.js';
import { afterCursor, page } from '../store/pagination.js';
import { sql } from '../store/sql.js';
import { CALL_CANCEL_CHANNEL } from '../store/channels.js';
import { toCall, type CallRow } from './call-object.js';
import { transitionCall } from './transitions.js';
import { isTerminal } from '../contract/status.js';
import { findAgentRow } from '../store/agent-rows.js';


function notFound(callId: string): OutcallError {
  return new OutcallError('call_not_found', `no call ${callId}`, 'callId');
}

/** A call of the organization; with agentId, only if it belongs to that agent (the nested route). */
export async function getCall(ctx: AppContext, orgId: string, callId: string, agentId?: string) {
  const r = await ctx.db.query<CallRow>(sql`select * from calls where org_id = ${orgId} and id = ${callId}`);
  const row = r.rows[0];
  if (!row || (agentId !== undefined && row.agent_id !== agentId)) throw notFound(callId);
  return toCall(row);
}

export async function listAgentCalls(ctx: AppContext, orgId: string, agentId: string, q: { status?: CallStatus; limit: number; cursor?: string }) {
  if (!(await findAgentRow(ctx.db, orgId, agentId, true))) throw new OutcallError('agent_not_found', `no agent ${agentId}`, 'agentId');
  const status = q.status === undefined ? sql`` : sql`and status = ${q.status}`;
  const r = await ctx.db.query<CallRow>(sql`select * from calls where org_id = ${orgId} and agent_id = ${agentId} ${status}
    ${afterCursor(q.cursor)} order by created_at desc, id desc limit ${q.limit + 1}`);
  return page(r.rows, q.limit, toCall);
}

export interface CallFilter {
  status?: CallStatus;
  agent_id?: string;
  to?: string;
  created_after?: string;
  created_before?: string;
  limit: number;
  cursor?: string;
}

/** An organisation's calls, newest first, across its agents (the dashboard's and the CLI's list). */
export async function listCalls(ctx: AppContext, orgId: string, q: CallFilter) {
  const where = [
    q.status !== undefined ? sql`and status = ${q.status}` : sql``,
    q.agent_id !== undefined ? sql`and agent_id = ${q.agent_id}` : sql``,
    q.to !== undefined ? sql`and to_address = ${q.to}` : sql``,
    q.created_after !== undefined ? sql`and created_at >= ${new Date(q.created_after)}` : sql``,
    q.created_before !== undefined ? sql`and created_at < ${new Date(q.created_before)}` : sql``,
  ];
  const r = await ctx.db.query<CallRow>(sql`select * from calls where org_id = ${orgId} ${where[0]!} ${where[1]!} ${where[2]!} ${where[3]!} ${where[4]!}
    ${afterCursor(q.cursor)} order by created_at desc, id desc limit ${q.limit + 1}`);
  return page(r.rows, q.limit, toCall);
}

/**
 * Cancels a call. Not yet dialed (queued, dispatching): it ends canceled at once, and a dispatcher
 * that claimed it fails its own dispatching -> dialing transition, so it is never dialed. Dialing
 * or in progress: the request is recorded (cancel_requested_at) for the worker that holds the
 * call, which sends CANCEL or BYE and records the outcome. An ended call cannot be canceled.
 */
export async function cancelCall(ctx: AppContext, orgId: string, callId: string, agentId?: string) {
  return ctx.db.transaction(async (tx) => {
    const r = await tx.query<CallRow>(sql`select * from calls where org_id = ${orgId} and id = ${callId} for update`);
    const row = r.rows[0];
    if (!row || (agentId !== undefined && row.agent_id !== agentId)) throw notFound(callId);
    if (isTerminal(row.status)) {
      throw new OutcallError('call_not_cancelable', `call ${callId} has already ended (${row.status})`, 'callId');
    }
    if (row.status === 'queued' || row.status === 'dispatching') {
      await transitionCall(tx, { orgId, callId, to: 'canceled', at: ctx.now(), facts: { endReason: 'canceled_by_api' }, data: { by: 'api' } });
    } else if (row.cancel_requested_at === null) {
      await tx.query(sql`update calls set cancel_requested_at = ${ctx.now()} where org_id = ${orgId} and id = ${callId}`);
      // The worker holding the call hears this at commit (and polls in case it does not).
      await tx.query(sql`select pg_notify(${CALL_CANCEL_CHANNEL}, ${callId})`);
    }
    const after = await tx.query<CallRow>(sql`select * from calls where org_id = ${orgId} and id = ${callId}`);
    return toCall(after.rows[0] as CallRow);
  });
}

export async function listCallEvents(ctx: AppContext, orgId: string, callId: string) {
  const exists = await ctx.db.query(sql`select 1 from calls where org_id = ${orgId} and id = ${callId}`);
  if (exists.rowCount === 0) throw notFound(callId);
  const r = await ctx.db.query<{ id: number; call_id: string; from_status: CallStatus | null; to_status: CallStatus; at: Date; data: Record<string, unknown> }>(
    sql`select id, call_id, from_status, to_status, at, data from call_events
      where org_id = ${orgId} and call_id = ${callId} order by id`,
  );
  return { data: r.rows.map((e) => ({ ...e, id: Number(e.id), at: e.at.toISOString() })) };
}

export async function getTranscript(ctx: AppContext, orgId: string, id: string) {
  const r = await ctx.db.query<{ id: string; call_id: string; turns: unknown[]; created_at: Date }>(
    sql`select id, call_id, turns, created_at from transcripts where org_id = ${orgId} and id = ${id}`,
  );
  const row = r.rows[0];
  if (!row) throw new OutcallError('transcript_not_found', `no transcript ${id}`, 'id');
  return { ...row, created_at: row.created_at.toISOString() };
}
