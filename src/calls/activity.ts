/**
 * Live activity of a call, announced with NOTIFY so every API process can stream it (the call may
 * run in another process: `outcall worker`). Status changes carry only the call id: listeners
 * re-read call_events, which are durable and ordered. Things that are not stored row by row while
 * the call runs (ringing, a spoken turn, a turn's latency) travel in the payload itself.
 */
import type { Queryable } from '../store/db.js';
import { sql } from '../store/sql.js';

export const CALL_ACTIVITY_CHANNEL = 'outcall_call_activity';

export interface LiveTurn {
  speaker: 'agent' | 'callee';
  text: string;
  interrupted: boolean;
  /** ms since the answer. */
  startMs: number;
  endMs: number;
}

export type CallActivity =
  | { kind: 'status'; callId: string }
  | { kind: 'ringing'; callId: string; at: string; earlyMedia: boolean }
  | { kind: 'turn'; callId: string; turn: LiveTurn }
  | { kind: 'latency'; callId: string; latency: Record<string, number> };

/** NOTIFY payloads are limited to 8000 bytes (PostgreSQL); a long turn is cut, never dropped. */
const MAX_TEXT = 2000;

export function encodeActivity(a: CallActivity): string {
  if (a.kind === 'turn' && a.turn.text.length > MAX_TEXT) {
    return JSON.stringify({ ...a, turn: { ...a.turn, text: `${a.turn.text.slice(0, MAX_TEXT)}…` } });
  }
  return JSON.stringify(a);
}

/** The activity in a payload, or undefined for one this version does not understand. */
export function decodeActivity(payload: string): CallActivity | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.callId !== 'string') return undefined;
  switch (o.kind) {
    case 'status':
      return { kind: 'status', callId: o.callId };
    case 'ringing':
      return typeof o.at === 'string' ? { kind: 'ringing', callId: o.callId, at: o.at, earlyMedia: o.earlyMedia === true } : undefined;
    case 'turn': {
      const t = o.turn as Record<string, unknown> | undefined;
      if (!t || (t.speaker !== 'agent' && t.speaker !== 'callee') || typeof t.text !== 'string') return undefined;
      return {
        kind: 'turn',
        callId: o.callId,
        turn: { speaker: t.speaker, text: t.text, interrupted: t.interrupted === true, startMs: Number(t.startMs) || 0, endMs: Number(t.endMs) || 0 },
      };
    }
    case 'latency':
      return typeof o.latency === 'object' && o.latency !== null
        ? { kind: 'latency', callId: o.callId, latency: o.latency as Record<string, number> }
        : undefined;
    default:
      return undefined;
  }
}

/** Announce activity; inside a transaction it is delivered at commit, with the data it describes. */
export async function publishActivity(q: Queryable, a: CallActivity): Promise<void> {
  await q.query(sql`select pg_notify(${CALL_ACTIVITY_CHANNEL}, ${encodeActivity(a)})`);
}
