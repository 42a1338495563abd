/**
 * The last check before an INVITE leaves: "never dial a number twice" rests on it.
 *
 * A claimed call may meanwhile have been canceled, or re-queued because this worker's lease expired
 * (and perhaps claimed by another worker). beginDial moves dispatching -> dialing only if the call
 * is still dispatching, still ours and our lease still runs, all under the row lock, and stamps
 * dial_started_at. Exactly one beginDial can ever succeed for a call: once it is dialing, nothing
 * moves it back, and the reaper fails (never re-queues) a dialing call whose worker vanished.
 */
import { transitionCall } from '../calls/transitions.js';
import type { Database } from '../store/db.js';
import { sql } from '../store/sql.js';

export interface BeginDialOptions {
  now: Date;
  /** Lease granted from now on (the dial may outlast the claim's lease); defaults to 30 s. */
  leaseMs?: number;
}

export const DEFAULT_DIAL_LEASE_MS = 30_000;

/** True: send the INVITE now. False: this worker lost the call; send nothing. */
export async function beginDial(
  db: Database,
  call: { orgId: string; id: string },
  workerId: string,
  opts: BeginDialOptions,
): Promise<boolean> {
  const { now } = opts;
  const leaseMs = opts.leaseMs ?? DEFAULT_DIAL_LEASE_MS;
  return db.transaction(async (tx) => {
    const r = await tx.query<{ status: string; worker_id: string | null; lease_expires_at: Date | null }>(
      sql`select status, worker_id, lease_expires_at from calls where org_id = ${call.orgId} and id = ${call.id} for update`,
    );
    const row = r.rows[0];
    if (!row || row.status !== 'dispatching' || row.worker_id !== workerId) return false;
    // An expired lease means the reaper may already consider the call abandoned: it re-queues it
    // (another worker may dial it), so we must not dial it ourselves.
    if (row.lease_expires_at === null || row.lease_expires_at.getTime() <= now.getTime()) return false;
    await transitionCall(tx, { orgId: call.orgId, callId: call.id, to: 'dialing', at: now, expectFrom: 'dispatching', data: { worker_id: workerId } });
    await tx.query(sql`update calls set dial_started_at = ${now}, lease_expires_at = ${new Date(now.getTime() + leaseMs)}
      where org_id = ${call.orgId} and id = ${call.id}`);
    return true;
  });
}
