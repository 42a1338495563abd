/**
 * Claiming: in one transaction, pick agents with due calls (fairly, oldest due first), take each
 * agent's limit lock without waiting (another dispatcher holding it is serving that agent), lock
 * each agent's oldest due call (FOR UPDATE SKIP LOCKED), check the limits, and move each allowed
 * call to `dispatching` under this worker's lease. Calls over a limit stay queued, untouched.
 */
import type { CallOptions } from '../calls/call-object.js';
import { transitionCall } from '../calls/transitions.js';
import type { Database, Queryable } from '../store/db.js';
import { sql } from '../store/sql.js';
import { agentKey, limitKeys, lockLimitKeys, LimitLedger, tryLockSql, type CallLimits } from '../calls/limits.js';
import type { ClaimedCall } from './types.js';

export interface ClaimOptions {
  workerId: string;
  now: Date;
  leaseMs: number;
  /** At most this many calls per pass (and so at most this many agents). */
  batchSize: number;
}

export interface ClaimResult {
  claimed: ClaimedCall[];
  /** Due calls left queued by a limit in this pass. */
  limited: number;
  /** The window of candidates was full and made progress: more may be claimable right away. */
  more: boolean;
  /** Earliest time a queued call (scheduled, or held back by CPS) may go; null if none is known. */
  nextAt: Date | null;
}

export interface CandidateRow {
  id: string;
  org_id: string;
  agent_id: string;
  trunk_id: string;
  to_address: string;
  from_number: string;
  options: CallOptions;
  metadata: unknown;
  call_context: string | null;
  dynamic_variables: Record<string, string>;
  scheduled_at: Date;
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  username: string | null;
  password_enc: string | null;
  tls_ca_pem: string | null;
  trunk_codecs: string[] | null;
  media_encryption: 'disabled' | 'optional' | 'required';
  sip_auth_username: string | null;
  sip_auth_password_enc: string | null;
  agent_cps: number | null;
  agent_max: number | null;
  trunk_cps: number | null;
  trunk_max: number | null;
  org_max: number | null;
}

/** Candidate agents looked at per pass, as a multiple of batchSize (some are busy elsewhere). */
const AGENT_WINDOW_FACTOR = 4;
/** Retry soon when agents were skipped because another dispatcher held them. */
const CONTENDED_RETRY_MS = 5;

/**
 * Agents with a due queued call whose CPS bucket (and that call's trunk bucket) is open, in order
 * of their oldest due call. No locks: this is the list the pass tries to lock agents from.
 */
function dueAgents(now: Date, limit: number) {
  return sql`with due_agents as (
      select org_id, agent_id, min(scheduled_at) as first_due
      from calls where status = 'queued' and scheduled_at <= ${now}
      group by org_id, agent_id
    )
    select d.org_id, d.agent_id
    from due_agents d
    left join rate_buckets ab on ab.key = 'agent:' || d.org_id || ':' || d.agent_id
    cross join lateral (
      select c.trunk_id from calls c
      where c.org_id = d.org_id and c.agent_id = d.agent_id and c.status = 'queued' and c.scheduled_at <= ${now}
      order by c.scheduled_at, c.created_at, c.id limit 1
    ) x
    left join rate_buckets tb on tb.key = 'trunk:' || d.org_id || ':' || x.trunk_id
    where (ab.next_allowed is null or ab.next_allowed <= ${now}) and (tb.next_allowed is null or tb.next_allowed <= ${now})
    order by d.first_due, d.agent_id
    limit ${limit}`;
}

/** A call with its trunk and limits, as a worker needs it (CandidateRow); from calls c. */
const CANDIDATE_COLUMNS = sql`c.id, c.org_id, c.agent_id, c.trunk_id, c.to_address, c.from_number, c.options, c.metadata,
      c.call_context, c.dynamic_variables, c.scheduled_at, c.sip_auth_username, c.sip_auth_password_enc,
      t.host, t.port, t.transport, t.username, t.password_enc, t.tls_ca_pem, t.codecs as trunk_codecs, t.media_encryption,
      a.max_cps as agent_cps, a.max_concurrent_calls as agent_max,
      t.max_cps as trunk_cps, t.max_concurrent_calls as trunk_max, o.max_concurrent_calls as org_max`;
const CANDIDATE_JOINS = sql`join agents a on a.org_id = c.org_id and a.id = c.agent_id
    join trunks t on t.org_id = c.org_id and t.id = c.trunk_id
    join organizations o on o.id = c.org_id`;

/** One call as a worker holds it (an inbound call the worker has just written, ringing). */
export async function readHeldCall(q: Queryable, orgId: string, id: string, workerId: string, leaseExpiresAt: Date): Promise<ClaimedCall | undefined> {
  const r = await q.query<CandidateRow>(sql`select ${CANDIDATE_COLUMNS} from calls c ${CANDIDATE_JOINS} where c.org_id = ${orgId} and c.id = ${id}`);
  const row = r.rows[0];
  return row ? toClaimed(row, workerId, leaseExpiresAt) : undefined;
}

/**
 * The oldest due call of each given agent, locked. One call per agent per pass is all CPS pacing
 * allows anyway (starting a call pushes the agent's bucket past now), and it is what keeps one busy
 * agent from starving another: every agent with due work gets a turn each pass.
 */
function oldestCallOf(agents: readonly { org_id: string; agent_id: string }[], now: Date) {
  // MATERIALIZED: the picks are computed once, then joined by primary key. Left to itself the
  // planner (with fresh, unanalyzed rows) re-ran the per-agent lookup for every queued call.
  return sql`with picks as materialized (
      select g.ord, x.org_id, x.id
      from unnest(${agents.map((a) => a.org_id)}::text[], ${agents.map((a) => a.agent_id)}::text[]) with ordinality as g(org_id, agent_id, ord)
      cross join lateral (
        select c.org_id, c.id from calls c
        where c.org_id = g.org_id and c.agent_id = g.agent_id and c.status = 'queued' and c.scheduled_at <= ${now}
        order by c.scheduled_at, c.created_at, c.id limit 1
      ) x
    )
    select ${CANDIDATE_COLUMNS}
    from picks p
    join calls c on c.org_id = p.org_id and c.id = p.id
    ${CANDIDATE_JOINS}
    where c.status = 'queued' and c.scheduled_at <= ${now}
    order by p.ord
    for update of c skip locked`;
}

/**
 * Takes the agents' limit locks without waiting, in list order, until `want` are held. An agent
 * held by another dispatcher is being served there right now: skipping it (rather than queueing
 * behind it) lets a second node take the next agents, which is where its throughput comes from.
 * One statement: the scan streams rows through the filter and LIMIT stops it, so in practice no
 * lock is tried past the `want`-th success (if one were, it would only hold an agent back until
 * this transaction ends, never break a limit).
 */
async function tryLockAgents(tx: Queryable, agents: readonly { org_id: string; agent_id: string }[], want: number) {
  if (agents.length === 0) return { held: [], busy: 0 };
  const r = await tx.query<{ org_id: string; agent_id: string; ord: number }>(sql`select g.org_id, g.agent_id, g.ord
    from unnest(${agents.map((a) => a.org_id)}::text[], ${agents.map((a) => a.agent_id)}::text[]) with ordinality as g(org_id, agent_id, ord)
    where ${tryLockSql(sql`'agent:' || g.org_id || ':' || g.agent_id`)}
    limit ${want}`);
  const held = r.rows.map((row) => ({ org_id: row.org_id, agent_id: row.agent_id }));
  // Agents before the last one taken that were not taken are busy elsewhere.
  const last = r.rows.reduce((m, row) => Math.max(m, Number(row.ord)), 0);
  return { held, busy: (held.length < want ? agents.length : last) - held.length };
}

function limitsOf(r: CandidateRow): CallLimits {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    orgId: r.org_id,
    agentId: r.agent_id,
    trunkId: r.trunk_id,
    agentCps: num(r.agent_cps),
    agentMaxConcurrent: r.agent_max,
    trunkCps: num(r.trunk_cps),
    trunkMaxConcurrent: r.trunk_max,
    orgMaxConcurrent: r.org_max,
  };
}

export function toClaimed(r: CandidateRow, workerId: string, leaseExpiresAt: Date): ClaimedCall {
  return {
    id: r.id,
    orgId: r.org_id,
    agentId: r.agent_id,
    trunk: {
      id: r.trunk_id,
      host: r.host,
      port: r.port,
      transport: r.transport,
      username: r.username,
      passwordEnc: r.password_enc,
      tlsCaPem: r.tls_ca_pem,
      codecs: r.trunk_codecs,
      mediaEncryption: r.media_encryption,
    },
    sipAuth: r.sip_auth_username !== null && r.sip_auth_password_enc !== null ? { username: r.sip_auth_username, passwordEnc: r.sip_auth_password_enc } : null,
    fromNumber: r.from_number,
    to: r.to_address,
    options: r.options,
    callContext: r.call_context,
    dynamicVariables: r.dynamic_variables,
    // Stored as the client's text (migration 0010); the dial path (http tools) takes the value.
    metadata: typeof r.metadata === 'string' ? (JSON.parse(r.metadata) as unknown) : (r.metadata ?? null),
    metadataJson: typeof r.metadata === 'string' ? r.metadata : null,
    scheduledAt: r.scheduled_at,
    workerId,
    leaseExpiresAt,
  };
}

/**
 * When the loop should look again: the earliest future scheduled_at, or the earliest time a bucket
 * that holds back a due call opens.
 */
async function nextDueAt(tx: Queryable, now: Date): Promise<Date | null> {
  const r = await tx.query<{ scheduled: Date | null; bucket: Date | null }>(sql`select
      (select min(scheduled_at) from calls where status = 'queued' and scheduled_at > ${now}) as scheduled,
      (select min(greatest(coalesce(ab.next_allowed, '-infinity'), coalesce(tb.next_allowed, '-infinity')))
        from (select distinct org_id, agent_id, trunk_id from calls where status = 'queued' and scheduled_at <= ${now}) d
        left join rate_buckets ab on ab.key = 'agent:' || d.org_id || ':' || d.agent_id
        left join rate_buckets tb on tb.key = 'trunk:' || d.org_id || ':' || d.trunk_id
        where greatest(coalesce(ab.next_allowed, '-infinity'), coalesce(tb.next_allowed, '-infinity')) > ${now}) as bucket`);
  const row = r.rows[0];
  return earliest([row?.scheduled ?? null, row?.bucket ?? null]);
}

function earliest(dates: readonly (Date | null)[]): Date | null {
  let best: Date | null = null;
  for (const d of dates) if (d !== null && (best === null || d.getTime() < best.getTime())) best = d;
  return best;
}

/** One claim pass (see the file comment). */
export async function claimCalls(db: Database, opts: ClaimOptions): Promise<ClaimResult> {
  const { workerId, now, leaseMs, batchSize } = opts;
  const leaseExpiresAt = new Date(now.getTime() + leaseMs);
  return db.transaction(async (tx) => {
    const due = (await tx.query<{ org_id: string; agent_id: string }>(dueAgents(now, batchSize * AGENT_WINDOW_FACTOR))).rows;
    const { held, busy } = await tryLockAgents(tx, due, batchSize);
    const rows = held.length === 0 ? [] : (await tx.query<CandidateRow>(oldestCallOf(held, now))).rows;
    const limits = rows.map(limitsOf);
    // Trunk and organization locks are waited for, in sorted order (no deadlock between waiters);
    // the agent locks taken above are try-locks, which never wait.
    const agentKeys = new Set(held.map((a) => agentKey(a.org_id, a.agent_id)));
    await lockLimitKeys(tx, limits.flatMap(limitKeys).filter((k) => !agentKeys.has(k)));
    const ledger = await LimitLedger.load(tx, now, limits);
    const claimed: ClaimedCall[] = [];
    const retryAts: Date[] = [];
    for (const [i, row] of rows.entries()) {
      const adm = ledger.admit(limits[i] as CallLimits);
      if (!adm.ok) {
        if (adm.retryAt !== null) retryAts.push(adm.retryAt);
        continue;
      }
      await transitionCall(tx, { orgId: row.org_id, callId: row.id, to: 'dispatching', at: now, expectFrom: 'queued', data: { worker_id: workerId } });
      claimed.push(toClaimed(row, workerId, leaseExpiresAt));
    }
    if (claimed.length > 0) {
      await tx.query(sql`update calls c set worker_id = ${workerId}, lease_expires_at = ${leaseExpiresAt}
        from unnest(${claimed.map((c) => c.orgId)}::text[], ${claimed.map((c) => c.id)}::text[]) as g(org_id, id)
        where c.org_id = g.org_id and c.id = g.id`);
    }
    await ledger.save(tx);
    if (busy > 0) retryAts.push(new Date(now.getTime() + CONTENDED_RETRY_MS));
    // A full window that made progress may hide more agents behind it; a window that claimed
    // nothing (every candidate over a concurrency limit) must not spin.
    const more = held.length === batchSize && claimed.length > 0;
    // With more to do the loop goes again at once: when to wake up matters only otherwise.
    const nextAt = earliest([...retryAts, more ? null : await nextDueAt(tx, now)]);
    return { claimed, limited: rows.length - claimed.length, more, nextAt };
  });
}
