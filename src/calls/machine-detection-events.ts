/**
 * Who answered, as the worker decided it, written to the call (`calls.amd`, shown as `answered_by`
 * and `machine_detection_result`) and sent as opt-in status callbacks (subscribed as
 * `machine_detection` and `machine_detection_ended`, sent as `call.machine_detection` and
 * `call.machine_detection_ended` like the other status events) when the verdict is reached and when
 * a machine's greeting end is found. Each at most
 * once per call (event-once.ts): a worker's retried report cannot send twice.
 */
import type { Queryable } from '../store/db.js';
import { sql } from '../store/sql.js';
import { toCall, type AmdRecord, type CallRow } from './call-object.js';
import { claimCallEvent } from './event-once.js';
import { statusCallbackTargets, writeEvent } from './outbox.js';

export interface AmdReport {
  stage: 'verdict' | 'ended' | 'revised';
  answeredBy: AmdRecord['answered_by'];
  atMs: number;
  cues: string[];
  beepHz?: number;
}

/** Records the verdict (or the greeting's end) on the call and enqueues its status callback. */
export async function recordMachineDetection(tx: Queryable, orgId: string, callId: string, report: AmdReport, at: Date): Promise<void> {
  const r = await tx.query<CallRow>(sql`select * from calls where org_id = ${orgId} and id = ${callId} for update`);
  const row = r.rows[0];
  if (!row) return;
  if (report.stage === 'revised') {
    // The verdict taken back (a screening assistant or a person after all): the call shows it; the
    // verdict's status callback went out already, once, and the result webhook carries the new one.
    if (!row.amd) return;
    const amd: AmdRecord = { ...row.amd, answered_by: report.answeredBy, cues: [...new Set([...row.amd.cues, ...report.cues])] };
    await tx.query(sql`update calls set amd = ${JSON.stringify(amd)} where org_id = ${orgId} and id = ${callId}`);
    return;
  }
  const event = report.stage === 'verdict' ? 'machine_detection' : 'machine_detection_ended';
  if (!(await claimCallEvent(tx, orgId, callId, event, at))) return;
  const prior = row.amd;
  const amd: AmdRecord =
    report.stage === 'verdict' || !prior
      ? { answered_by: report.answeredBy, decided_ms: report.atMs, cues: report.cues, message_end_ms: null, beep_hz: null }
      : {
          ...prior,
          answered_by: report.answeredBy,
          cues: [...new Set([...prior.cues, ...report.cues])],
          message_end_ms: report.atMs,
          beep_hz: report.beepHz ?? null,
        };
  const u = await tx.query<CallRow>(sql`update calls set amd = ${JSON.stringify(amd)} where org_id = ${orgId} and id = ${callId} returning *`);
  const updated = u.rows[0] as CallRow;
  const targets = statusCallbackTargets(updated, event);
  if (targets.length === 0) return;
  const c = toCall(updated);
  const data = {
    call_id: c.id,
    agent_id: c.agent_id,
    agent_name: c.agent_name,
    event,
    at: at.toISOString(),
    direction: c.direction,
    answered_by: amd.answered_by,
    machine_detection_ms: amd.decided_ms,
    cues: report.cues,
    ...(report.stage === 'ended' ? { message_end_ms: amd.message_end_ms, beep_hz: amd.beep_hz } : {}),
    metadata: c.metadata,
  };
  await writeEvent(tx, updated, `call.${event}`, at, data, targets);
}
