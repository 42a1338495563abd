/** Fixtures for dispatcher tests: agents on trunks, queued calls, a settable clock, a recording dialer. */
import type { AppContext } from '../../src/app-context.js';
import { createOutboundCall } from '../../src/calls/create-call.js';
import { transitionCall } from '../../src/calls/transitions.js';
import type { CallStatus } from '../../src/contract/status.js';
import type { ClaimedCall, Dialer } from '../../src/dispatch/types.js';
import { Metrics } from '../../src/metrics.js';
import { createAgent } from '../../src/agents/agents.js';
import type { Database } from '../../src/store/db.js';
import { createPhoneNumber } from '../../src/agents/phone-numbers.js';
import { sql } from '../../src/store/sql.js';
import { createTrunk } from '../../src/agents/trunks.js';

/** A clock tests move by hand; starts at a round instant after the real now. */
export class TestClock {
  ms: number;
  constructor(start = Math.ceil(Date.now() / 1000) * 1000 + 1000) {
    this.ms = start;
  }
  readonly now = (): Date => new Date(this.ms);
  advance(ms: number): Date {
    this.ms += ms;
    return this.now();
  }
}

export function contextFor(db: Database, now: () => Date): AppContext {
  return { db, secrets: undefined, allowPrivateUrls: false, now, metrics: new Metrics() };
}

let numberSeq = 0;

export interface AgentFixture {
  agentId: string;
  trunkId: string;
  number: string;
}

/** A trunk (or the one given) and a voice agent with a number of its own on it. */
export async function addAgent(
  ctx: AppContext,
  orgId: string,
  opts: { trunkId?: string; maxCps?: number; maxConcurrent?: number | null; onLimit?: 'queue' | 'reject'; trunk?: { maxCps?: number | null; maxConcurrent?: number | null } } = {},
): Promise<AgentFixture> {
  const trunkId =
    opts.trunkId ??
    (await createTrunk(ctx, orgId, { name: 't', host: 'sip.example.com', max_cps: opts.trunk?.maxCps ?? null, max_concurrent_calls: opts.trunk?.maxConcurrent ?? null })).id;
  const agent = await createAgent(ctx, orgId, {
    name: 'a',
    system_prompt: 'You call people.',
    max_cps: opts.maxCps ?? 1,
    max_concurrent_calls: opts.maxConcurrent ?? null,
    on_limit: opts.onLimit ?? 'queue',
  });
  const number = `+1415${String(5_000_000 + ++numberSeq).padStart(7, '0')}`;
  await createPhoneNumber(ctx, orgId, { number, trunk_id: trunkId, outbound_agent_id: agent.id });
  return { agentId: agent.id, trunkId, number };
}

/** Queues n calls for an agent through the real creation path; returns their ids in order. */
export async function queueCalls(ctx: AppContext, orgId: string, agentId: string, n: number, extra: { scheduled_at?: string } = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await createOutboundCall(ctx, orgId, agentId, { to: `+1415666${String(i % 10_000).padStart(4, '0')}`, ...extra }, undefined);
    ids.push(r.call.id);
  }
  return ids;
}

export async function statusOf(db: Database, callId: string): Promise<CallStatus> {
  const r = await db.query<{ status: CallStatus }>(sql`select status from calls where id = ${callId}`);
  const s = r.rows[0]?.status;
  if (s === undefined) throw new Error(`no call ${callId}`);
  return s;
}

export async function move(db: Database, orgId: string, callId: string, to: CallStatus, at: Date): Promise<void> {
  await db.transaction((tx) => transitionCall(tx, { orgId, callId, to, at }));
}

/** Records every dial; settles at once unless told to hold calls. */
export class RecordingDialer implements Dialer {
  readonly calls: ClaimedCall[] = [];
  readonly count = new Map<string, number>();
  #waiters: { n: number; resolve: () => void }[] = [];

  async dial(call: ClaimedCall): Promise<void> {
    this.calls.push(call);
    this.count.set(call.id, (this.count.get(call.id) ?? 0) + 1);
    this.#waiters = this.#waiters.filter((w) => (this.calls.length >= w.n ? (w.resolve(), false) : true));
  }

  /** Resolves when n dials have happened, rejects after timeoutMs. */
  waitFor(n: number, timeoutMs: number): Promise<void> {
    if (this.calls.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.calls.length} of ${n} dials after ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}
