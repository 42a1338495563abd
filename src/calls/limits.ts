/**
 * Calls-per-second and concurrency limits, shared by every dispatcher through the store.
 *
 * CPS: one `rate_buckets` row per agent and per trunk holds `next_allowed`, the earliest time the
 * next call may start. A call may start when next_allowed <= now; starting it sets
 * next_allowed = max(next_allowed, now) + 1/cps (idle time earns no burst credit).
 * Concurrency: calls in dispatching/dialing/in_progress, counted per trunk, agent and organization.
 *
 * Dispatchers serialize on a transaction-scoped advisory lock per limited entity (lockLimitKeys),
 * taken in sorted order so two dispatchers can never deadlock. Whoever holds the lock counts,
 * decides and commits before the next one counts, so two nodes never both take the last slot.
 */
import { OutcallError } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { sql, type SqlFragment } from '../store/sql.js';

/** When a concurrency slot frees is unknown (calls last minutes): clients are told to retry soon. */
export const CONCURRENCY_RETRY_AFTER_S = 5;

export const agentKey = (orgId: string, agentId: string) => `agent:${orgId}:${agentId}`;
export const trunkKey = (orgId: string, trunkId: string) => `trunk:${orgId}:${trunkId}`;
export const orgKey = (orgId: string) => `org:${orgId}`;

/** The limits that apply to one call; null means unlimited. */
export interface CallLimits {
  orgId: string;
  agentId: string;
  trunkId: string;
  agentCps: number | null;
  agentMaxConcurrent: number | null;
  trunkCps: number | null;
  trunkMaxConcurrent: number | null;
  orgMaxConcurrent: number | null;
}

export type Admission =
  | { ok: true }
  /** retryAt: when the CPS limit opens again; null when only a concurrency slot can free it. */
  | { ok: false; reason: 'agent_cps' | 'trunk_cps' | 'agent_concurrency' | 'trunk_concurrency' | 'org_concurrency'; retryAt: Date | null };

/** The keys a call's limits use: the advisory locks a claimer must hold, sorted by the caller. */
export function limitKeys(l: CallLimits): string[] {
  const keys = [agentKey(l.orgId, l.agentId)];
  if (l.trunkCps !== null || l.trunkMaxConcurrent !== null) keys.push(trunkKey(l.orgId, l.trunkId));
  if (l.orgMaxConcurrent !== null) keys.push(orgKey(l.orgId));
  return keys;
}

/** The advisory lock id of a limit key (one 64-bit hash namespace for all of Outcall's limit locks). */
function lockId(key: string | SqlFragment) {
  return sql`hashtextextended('outcall:limit:' || (${key})::text, 0)`;
}

/** SQL that takes a key's lock if free, without waiting; true when taken. The key may be SQL. */
export function tryLockSql(key: string | SqlFragment) {
  return sql`pg_try_advisory_xact_lock(${lockId(key)})`;
}

/** Takes the advisory locks of keys in sorted order (a fixed order is what rules out deadlocks). */
export async function lockLimitKeys(tx: Queryable, keys: Iterable<string>): Promise<void> {
  const sorted = [...new Set(keys)].sort();
  // One statement per key: the order in which one statement evaluates its rows is not guaranteed.
  for (const k of sorted) await tx.query(sql`select pg_advisory_xact_lock(${lockId(k)})`);
}

const isUnlimitedCps = (cps: number | null): cps is null => cps === null || !(cps > 0);

/**
 * Limit state for the keys of one claim pass, loaded while their locks are held; it decides each
 * call in turn and remembers what the pass has taken, then writes the buckets back.
 */
export class LimitLedger {
  readonly #now: number;
  readonly #active: Map<string, number>;
  readonly #next: Map<string, number>;
  readonly #dirty = new Set<string>();

  constructor(now: Date, active: Map<string, number>, nextAllowed: Map<string, number>) {
    this.#now = now.getTime();
    this.#active = active;
    this.#next = nextAllowed;
  }

  /** Loads active counts and bucket times for the calls' keys (lock them first). */
  static async load(tx: Queryable, now: Date, calls: readonly CallLimits[]): Promise<LimitLedger> {
    // Ids are globally unique (prefixed ULIDs), so agent and trunk ids need no org beside them.
    const agents = uniq(calls.map((c) => c.agentId));
    const trunks = uniq(calls.filter((c) => c.trunkMaxConcurrent !== null).map((c) => c.trunkId));
    const orgs = uniq(calls.filter((c) => c.orgMaxConcurrent !== null).map((c) => c.orgId));
    const active = new Map<string, number>();
    if (agents.length > 0) {
      const r = await tx.query<{ org_id: string; agent_id: string; n: number }>(sql`select org_id, agent_id, count(*)::int as n from calls
        where status in ('dispatching','dialing','ringing','in_progress')
          and agent_id = any(${agents}::text[])
        group by org_id, agent_id`);
      for (const row of r.rows) active.set(agentKey(row.org_id, row.agent_id), Number(row.n));
    }
    if (trunks.length > 0) {
      const r = await tx.query<{ org_id: string; trunk_id: string; n: number }>(sql`select org_id, trunk_id, count(*)::int as n from calls
        where status in ('dispatching','dialing','ringing','in_progress') and trunk_id = any(${trunks}::text[])
        group by org_id, trunk_id`);
      for (const row of r.rows) active.set(trunkKey(row.org_id, row.trunk_id), Number(row.n));
    }
    if (orgs.length > 0) {
      const r = await tx.query<{ org_id: string; n: number }>(sql`select org_id, count(*)::int as n from calls
        where status in ('dispatching','dialing','ringing','in_progress') and org_id = any(${orgs}::text[])
        group by org_id`);
      for (const row of r.rows) active.set(orgKey(row.org_id), Number(row.n));
    }
    const bucketKeys = uniq(calls.flatMap((c) => [agentKey(c.orgId, c.agentId), ...(isUnlimitedCps(c.trunkCps) ? [] : [trunkKey(c.orgId, c.trunkId)])]));
    const next = new Map<string, number>();
    if (bucketKeys.length > 0) {
      // The row lock is a second guard beside the advisory lock: a bucket row is only ever
      // read-modified-written by its lock holder.
      const r = await tx.query<{ key: string; next_allowed: Date }>(
        sql`select key, next_allowed from rate_buckets where key = any(${bucketKeys}::text[]) order by key for update`,
      );
      for (const row of r.rows) next.set(row.key, row.next_allowed.getTime());
    }
    return new LimitLedger(now, active, next);
  }

  /** Decides one call; an admitted call counts against its limits for the rest of the pass. */
  admit(l: CallLimits): Admission {
    const a = agentKey(l.orgId, l.agentId);
    const t = trunkKey(l.orgId, l.trunkId);
    const o = orgKey(l.orgId);
    if (l.agentMaxConcurrent !== null && this.#count(a) >= l.agentMaxConcurrent) return { ok: false, reason: 'agent_concurrency', retryAt: null };
    if (l.trunkMaxConcurrent !== null && this.#count(t) >= l.trunkMaxConcurrent) return { ok: false, reason: 'trunk_concurrency', retryAt: null };
    if (l.orgMaxConcurrent !== null && this.#count(o) >= l.orgMaxConcurrent) return { ok: false, reason: 'org_concurrency', retryAt: null };
    const agentNext = isUnlimitedCps(l.agentCps) ? -Infinity : (this.#next.get(a) ?? -Infinity);
    if (agentNext > this.#now) return { ok: false, reason: 'agent_cps', retryAt: new Date(agentNext) };
    const trunkNext = isUnlimitedCps(l.trunkCps) ? -Infinity : (this.#next.get(t) ?? -Infinity);
    if (trunkNext > this.#now) return { ok: false, reason: 'trunk_cps', retryAt: new Date(trunkNext) };
    this.#take(a, l.agentCps);
    this.#take(t, l.trunkCps);
    this.#active.set(a, this.#count(a) + 1);
    this.#active.set(t, this.#count(t) + 1);
    this.#active.set(o, this.#count(o) + 1);
    return { ok: true };
  }

  #count(key: string): number {
    return this.#active.get(key) ?? 0;
  }

  #take(key: string, cps: number | null): void {
    if (isUnlimitedCps(cps)) return;
    const prev = this.#next.get(key) ?? -Infinity;
    this.#next.set(key, Math.max(prev, this.#now) + 1000 / cps);
    this.#dirty.add(key);
  }

  /** Writes the buckets this pass moved (inside the same transaction, still under the locks). */
  async save(tx: Queryable): Promise<void> {
    const keys = [...this.#dirty].sort();
    this.#dirty.clear();
    if (keys.length === 0) return;
    const times = keys.map((k) => new Date(this.#next.get(k) as number).toISOString());
    await tx.query(sql`insert into rate_buckets (key, next_allowed)
      select k, t from unnest(${keys}::text[], ${times}::timestamptz[]) as g(k, t)
      on conflict (key) do update set next_allowed = excluded.next_allowed`);
  }
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** The limits of an agent + trunk + organization, read from their rows. */
export async function readCallLimits(q: Queryable, orgId: string, agentId: string, trunkId: string): Promise<CallLimits | undefined> {
  const r = await q.query<{ agent_cps: number; agent_max: number | null; trunk_cps: number | null; trunk_max: number | null; org_max: number | null }>(
    sql`select a.max_cps as agent_cps, a.max_concurrent_calls as agent_max, t.max_cps as trunk_cps,
        t.max_concurrent_calls as trunk_max, o.max_concurrent_calls as org_max
      from agents a join trunks t on t.org_id = a.org_id and t.id = ${trunkId} join organizations o on o.id = a.org_id
      where a.org_id = ${orgId} and a.id = ${agentId}`,
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    orgId,
    agentId,
    trunkId,
    agentCps: row.agent_cps === null ? null : Number(row.agent_cps),
    agentMaxConcurrent: row.agent_max,
    trunkCps: row.trunk_cps === null ? null : Number(row.trunk_cps),
    trunkMaxConcurrent: row.trunk_max,
    orgMaxConcurrent: row.org_max,
  };
}

/**
 * Would a new call for this agent over this trunk be over a limit right now? Calls already queued
 * and due are ahead of it, so they count: against concurrency as slots about to be taken, and
 * against CPS as the slots they will use first. Read-only: a check at creation time, not a claim.
 */
export async function checkAdmissionNow(q: Queryable, limits: CallLimits, now: Date): Promise<Admission> {
  const { orgId, agentId, trunkId } = limits;
  const r = await q.query<{ agent_n: number; agent_q: number; trunk_n: number; trunk_q: number; org_n: number }>(sql`select
      count(*) filter (where agent_id = ${agentId} and status <> 'queued')::int as agent_n,
      count(*) filter (where agent_id = ${agentId} and status = 'queued')::int as agent_q,
      count(*) filter (where trunk_id = ${trunkId} and status <> 'queued')::int as trunk_n,
      count(*) filter (where trunk_id = ${trunkId} and status = 'queued')::int as trunk_q,
      count(*)::int as org_n
    from calls where org_id = ${orgId}
      and (status in ('dispatching','dialing','ringing','in_progress') or (status = 'queued' and scheduled_at <= ${now}))`);
  const c = r.rows[0] ?? { agent_n: 0, agent_q: 0, trunk_n: 0, trunk_q: 0, org_n: 0 };
  const agentAll = Number(c.agent_n) + Number(c.agent_q);
  const trunkAll = Number(c.trunk_n) + Number(c.trunk_q);
  if (limits.agentMaxConcurrent !== null && agentAll >= limits.agentMaxConcurrent) return { ok: false, reason: 'agent_concurrency', retryAt: null };
  if (limits.trunkMaxConcurrent !== null && trunkAll >= limits.trunkMaxConcurrent) return { ok: false, reason: 'trunk_concurrency', retryAt: null };
  if (limits.orgMaxConcurrent !== null && Number(c.org_n) >= limits.orgMaxConcurrent) return { ok: false, reason: 'org_concurrency', retryAt: null };
  const b = await q.query<{ key: string; next_allowed: Date }>(
    sql`select key, next_allowed from rate_buckets where key = any(${[agentKey(orgId, agentId), trunkKey(orgId, trunkId)]}::text[])`,
  );
  const nextOf = (key: string) => b.rows.find((row) => row.key === key)?.next_allowed.getTime() ?? -Infinity;
  // The slot this call would get at the paced rate: once the bucket is open, after each due call
  // queued ahead of it. "Over the limit" means more than max_cps calls within the coming second,
  // i.e. a slot a full second or more away (at max_cps 1000 a 1 ms wait is not a refusal).
  // It may go once its slot is under a second away: that is when a retry is accepted.
  const t = now.getTime();
  for (const [cps, key, ahead, reason] of [
    [limits.agentCps, agentKey(orgId, agentId), Number(c.agent_q), 'agent_cps'],
    [limits.trunkCps, trunkKey(orgId, trunkId), Number(c.trunk_q), 'trunk_cps'],
  ] as const) {
    if (isUnlimitedCps(cps)) continue;
    const slot = Math.max(nextOf(key), t) + (ahead * 1000) / cps;
    if (slot - t >= 1000) return { ok: false, reason, retryAt: new Date(slot - 1000 + 1) };
  }
  return { ok: true };
}

/** The 429 a refused creation answers, with Retry-After in whole seconds (at least 1). */
export function rateLimitedError(adm: Exclude<Admission, { ok: true }>, now: Date): OutcallError {
  const retryAfterS =
    adm.retryAt === null ? CONCURRENCY_RETRY_AFTER_S : Math.max(1, Math.ceil((adm.retryAt.getTime() - now.getTime()) / 1000));
  const what: Record<typeof adm.reason, string> = {
    agent_cps: "the agent's calls-per-second limit (max_cps)",
    trunk_cps: "the trunk's calls-per-second limit (max_cps)",
    agent_concurrency: "the agent's concurrent-call limit",
    trunk_concurrency: "the trunk's concurrent-call limit",
    org_concurrency: "the organization's concurrent-call limit",
  };
  return new OutcallError(
    'rate_limited',
    `this call would exceed ${what[adm.reason]} and the agent's on_limit is "reject"; retry after ${retryAfterS} s`,
    null,
    { 'retry-after': String(retryAfterS) },
  );
}

/**
 * For on_limit 'reject': throws rate_limited (429 + Retry-After) when the call cannot start now.
 * Run it inside the creating transaction: it takes the same advisory locks as the claimers, so
 * concurrent creations for one agent check one after the other and each sees the calls the
 * previous one queued (they commit before the lock is released).
 */
export async function assertCanStartNow(tx: Queryable, orgId: string, agentId: string, trunkId: string, now: Date): Promise<void> {
  const limits = await readCallLimits(tx, orgId, agentId, trunkId);
  // Foreign keys make this impossible once the caller has resolved agent and number.
  if (!limits) throw new Error(`no agent ${agentId} with trunk ${trunkId} in ${orgId}`);
  await lockLimitKeys(tx, limitKeys(limits));
  const adm = await checkAdmissionNow(tx, limits, now);
  if (!adm.ok) throw rateLimitedError(adm, now);
}
