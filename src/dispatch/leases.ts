/**
 * Leases: a claimed call belongs to a worker until lease_expires_at, which the worker's heartbeat
 * keeps pushing forward. Every dispatcher also runs the reaper, which handles calls whose worker
 * stopped heart-beating:
 * - dispatching (claimed, never dialed): back to queued for another worker. Safe, because the dial
 *   guard refuses to dial a call that is no longer dispatching under its own worker's live lease.
 * - dialing / in_progress: the INVITE may have left, so the call is ended failed / worker_lost and
 *   never dialed again (a second ring is worse than a lost call).
 */
import { transitionCall } from '../calls/transitions.js';
import type { Database } from '../store/db.js';
import { sql } from '../store/sql.js';
import { CALLS_QUEUED_CHANNEL } from '../store/channels.js';

export async function registerWorker(db: Database, workerId: string, kind: string, now: Date): Promise<void> {
  await db.query(sql`insert into workers (id, kind, started_at, heartbeat_at) values (${workerId}, ${kind}, ${now}, ${now})
    on conflict (id) do update set kind = excluded.kind, heartbeat_at = excluded.heartbeat_at`);
}

export async function deregisterWorker(db: Database, workerId: string): Promise<void> {
  await db.query(sql`delete from workers where id = ${workerId}`);
}

/**
 * Marks the worker alive and extends the leases of the calls it still holds (callIds: the ones it
 * is working on in memory, so a call it forgot about is not kept alive forever). Returns how many
 * leases were extended.
 */
export async function heartbeat(db: Database, workerId: string, now: Date, leaseMs: number, callIds: readonly string[]): Promise<number> {
  await db.query(sql`update workers set heartbeat_at = ${now} where id = ${workerId}`);
  if (callIds.length === 0) return 0;
  const r = await db.query(sql`update calls set lease_expires_at = ${new Date(now.getTime() + leaseMs)}
    where worker_id = ${workerId} and id = any(${[...callIds]}::text[])
      and status in ('dispatching','dialing','ringing','in_progress')`);
  return r.rowCount;
}

export interface ReapResult {
  requeued: string[];
  failed: string[];
}

/**
 * One reaper pass over at most `limit` expired leases. `alive`: calls the reaping worker holds itself
 * and knows to be running; their leases may have run out only because the store was unreachable
 * longer than a lease (a database restart), and its heartbeat renews them, so they are not reaped.
 */
export async function reapExpiredLeases(db: Database, opts: { now: Date; limit?: number; alive?: readonly string[] }): Promise<ReapResult> {
  const { now } = opts;
  const alive = [...(opts.alive ?? [])];
  return db.transaction(async (tx) => {
    // SKIP LOCKED: a call locked right now is in the hands of its worker (or another reaper).
    const r = await tx.query<{ org_id: string; id: string; status: string; worker_id: string | null }>(sql`select org_id, id, status, worker_id
      from calls where status in ('dispatching','dialing','ringing','in_progress') and lease_expires_at <= ${now}
        and not (id = any(${alive}::text[]))
      order by lease_expires_at limit ${opts.limit ?? 100} for update skip locked`);
    const result: ReapResult = { requeued: [], failed: [] };
    for (const c of r.rows) {
      const data = { worker_id: c.worker_id, reason: 'lease_expired' };
      if (c.status === 'dispatching') {
        await transitionCall(tx, { orgId: c.org_id, callId: c.id, to: 'queued', at: now, expectFrom: 'dispatching', data });
        await tx.query(sql`update calls set worker_id = null, lease_expires_at = null where org_id = ${c.org_id} and id = ${c.id}`);
        result.requeued.push(c.id);
      } else {
        await transitionCall(tx, { orgId: c.org_id, callId: c.id, to: 'failed', at: now, facts: { endReason: 'worker_lost' }, data });
        await tx.query(sql`update calls set lease_expires_at = null where org_id = ${c.org_id} and id = ${c.id}`);
        result.failed.push(c.id);
      }
    }
    if (result.requeued.length > 0) await tx.query(sql`select pg_notify(${CALLS_QUEUED_CHANNEL}, 'requeued')`);
    return result;
  });
}

/** Forgets workers silent for longer than staleMs that hold no active call (housekeeping). */
export async function pruneWorkers(db: Database, now: Date, staleMs: number): Promise<number> {
  const r = await db.query(sql`delete from workers w where w.heartbeat_at < ${new Date(now.getTime() - staleMs)}
    and not exists (select 1 from calls c where c.worker_id = w.id and c.status in ('dispatching','dialing','ringing','in_progress'))`);
  return r.rowCount;
}

/**
 * The dialer gave up on a call it never dialed (it threw before beginDial succeeded): end it
 * failed / dial_error rather than re-queue it, so a call that always breaks the dialer cannot loop.
 * Returns false when the call is no longer ours and dispatching (nothing to do).
 */
export async function failUndialed(db: Database, call: { orgId: string; id: string }, workerId: string, now: Date, error: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const r = await tx.query<{ status: string; worker_id: string | null }>(
      sql`select status, worker_id from calls where org_id = ${call.orgId} and id = ${call.id} for update`,
    );
    const row = r.rows[0];
    if (!row || row.status !== 'dispatching' || row.worker_id !== workerId) return false;
    await transitionCall(tx, {
      orgId: call.orgId,
      callId: call.id,
      to: 'failed',
      at: now,
      expectFrom: 'dispatching',
      facts: { endReason: 'dial_error', errorMessage: error },
      data: { worker_id: workerId, error },
    });
    await tx.query(sql`update calls set lease_expires_at = null where org_id = ${call.orgId} and id = ${call.id}`);
    return true;
  });
}
