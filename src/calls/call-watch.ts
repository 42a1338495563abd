/**
 * Follows one call as it happens, for whoever shows it live (GET /v1/calls/{id}/stream, the
 * quickstart's terminal): status transitions re-read from call_events on every notification and on
 * a slow poll (so none is missed or repeated, whatever process runs the call), plus the live-only
 * activity (ringing, turns, latency), and the final call once it has ended.
 */
import type { AppContext } from '../app-context.js';
import type { CallActivityHub } from './activity-hub.js';
import type { LiveTurn } from './activity.js';
import { getCall } from './call-queries.js';
import { isTerminal, type CallStatus } from '../contract/status.js';
import { sql } from '../store/sql.js';

export interface StatusItem {
  id: number;
  call_id: string;
  from_status: CallStatus | null;
  to_status: CallStatus;
  at: string;
  data: Record<string, unknown>;
}

export type CallWatchItem =
  | { kind: 'status'; event: StatusItem }
  | { kind: 'ringing'; at: string; earlyMedia: boolean }
  | { kind: 'turn'; turn: LiveTurn }
  | { kind: 'latency'; latency: Record<string, number> }
  | { kind: 'end'; call: Awaited<ReturnType<typeof getCall>> }
  | { kind: 'error'; error: unknown };

export interface CallWatch {
  stop(): void;
}

/**
 * Starts watching after status event `afterId` (0: from the start). `emit` gets items in order;
 * after `end` (or `error`) nothing more comes and the watch has stopped itself.
 */
export async function watchCallActivity(
  ctx: AppContext,
  hub: CallActivityHub,
  orgId: string,
  callId: string,
  afterId: number,
  emit: (item: CallWatchItem) => void,
  opts: { pollMs?: number } = {},
): Promise<CallWatch> {
  let lastId = afterId;
  let stopped = false;
  let poll: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    clearInterval(poll);
    unsubscribe?.();
  };
  let chain = Promise.resolve();
  const flush = () => {
    chain = chain
      .then(async () => {
        if (stopped) return;
        const r = await ctx.db.query<{ id: number; from_status: CallStatus | null; to_status: CallStatus; at: Date; data: Record<string, unknown> }>(
          sql`select id, from_status, to_status, at, data from call_events
            where org_id = ${orgId} and call_id = ${callId} and id > ${lastId} order by id`,
        );
        let ended = false;
        for (const e of r.rows) {
          if (stopped) return;
          lastId = Number(e.id);
          emit({ kind: 'status', event: { id: lastId, call_id: callId, from_status: e.from_status, to_status: e.to_status, at: e.at.toISOString(), data: e.data } });
          if (isTerminal(e.to_status)) ended = true;
        }
        if (ended && !stopped) {
          const call = await getCall(ctx, orgId, callId);
          stop();
          emit({ kind: 'end', call });
        }
      })
      .catch((error: unknown) => {
        if (stopped) return;
        stop();
        emit({ kind: 'error', error });
      });
  };
  // Subscribed before the first read: nothing that happens in between is missed.
  unsubscribe = await hub.subscribe(callId, (a) => {
    if (stopped) return;
    if (a.kind === 'status') flush();
    else if (a.kind === 'ringing') emit({ kind: 'ringing', at: a.at, earlyMedia: a.earlyMedia });
    else if (a.kind === 'turn') emit({ kind: 'turn', turn: a.turn });
    else emit({ kind: 'latency', latency: a.latency });
  });
  flush();
  poll = setInterval(flush, opts.pollMs ?? 2000);
  poll.unref();
  return { stop };
}
