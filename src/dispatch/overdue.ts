/**
 * The last safety net for "never leave a call in a non-terminal status forever". Leases catch a
 * worker that dies; this catches a worker that lives but never reports an ending (a bug, a wedged
 * leg): a call still dialing long after its ring timeout, or still in progress long after its
 * max_duration, is ended `failed` / `overdue`, with its webhooks, so clients always hear an outcome.
 */
import { transitionCall } from '../calls/transitions.js';
import type { Database } from '../store/db.js';
import { sql } from '../store/sql.js';

/** Slack past the call's own limit before the platform gives up on the worker's report. */
export const OVERDUE_GRACE_S = 120;

export async function failOverdueCalls(db: Database, opts: { now: Date; graceS?: number; limit?: number }): Promise<string[]> {
  const grace = opts.graceS ?? OVERDUE_GRACE_S;
  return db.transaction(async (tx) => {
    const r = await tx.query<{ org_id: string; id: string; status: string; worker_id: string | null }>(sql`
      select org_id, id, status, worker_id from calls
      where (status = 'dialing' and dial_started_at
               + make_interval(secs => (options->>'ring_timeout_s')::int + ${grace}) < ${opts.now})
         -- An inbound call is answered as soon as its agent is ready: ringing this long is a lost report.
         or (status = 'ringing' and created_at + make_interval(secs => 60 + ${grace}) < ${opts.now})
         or (status = 'in_progress' and answered_at
               + make_interval(secs => (options->>'max_duration_s')::int + ${grace}) < ${opts.now})
      order by created_at limit ${opts.limit ?? 100} for update skip locked`);
    for (const c of r.rows) {
      await transitionCall(tx, {
        orgId: c.org_id,
        callId: c.id,
        to: 'failed',
        at: opts.now,
        facts: { endReason: 'overdue' },
        data: { worker_id: c.worker_id, reason: `no ending reported ${grace} s past the call's own limit` },
      });
    }
    return r.rows.map((c) => c.id);
  });
}
