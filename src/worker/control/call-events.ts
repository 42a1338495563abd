/**
 * What a media worker reports about a call, written to the store in the call's lifecycle: ringing
 * (a status callback), answer, live turns and latencies (activity for the stream), and the end
 * (transcript, metrics, recording and the terminal transition with its webhooks, in one
 * transaction). The dialer applies one call's events strictly in order.
 */
import type { AppContext } from '../../app-context.js';
import { publishActivity } from '../../calls/activity.js';
import type { CallRow } from '../../calls/call-object.js';
import { enqueueStatusEvent } from '../../calls/outbox.js';
import { enqueueConversationCreated } from '../../calls/conversation-events.js';
import { recordMachineDetection } from '../../calls/machine-detection-events.js';
import { transitionCall } from '../../calls/transitions.js';
import type { CallStatus } from '../../contract/status.js';
import type { ClaimedCall } from '../../dispatch/types.js';
import { newId } from '../../ids.js';
import type { Queryable } from '../../store/db.js';
import { insertRecording } from '../../store/recordings.js';
import { sql } from '../../store/sql.js';
import { RESULTS_DUE_CHANNEL } from '../../store/channels.js';
import type { WorkerEvent } from '../protocol.js';
import { callMetrics } from './call-metrics.js';
import { DEFAULT_RESULT_SUMMARY_WAIT_MS } from '../../analysis/call-result.js';

/** A call event to record (the worker's own 'ready' and 'log' are not about a call's lifecycle). */
export type CallWorkerEvent = Exclude<WorkerEvent, { type: 'ready' | 'log' | 'incoming' | 'refused-at-edge' | 'registration' }>;

/** A call with a transcript has ended (committed): its analysis may start, and its result is due by `resultDueAt`. */
export type AnalysisDue = (orgId: string, callId: string, resultDueAt: Date | undefined) => void;

export class CallEventWriter {
  constructor(
    private readonly ctx: AppContext,
    private readonly onAnalysisDue?: AnalysisDue,
    /** How long an answered call's result webhook waits for its summary (src/analysis/call-result.ts). */
    private readonly resultWaitMs: number = DEFAULT_RESULT_SUMMARY_WAIT_MS,
  ) {}

  async apply(call: ClaimedCall, e: CallWorkerEvent): Promise<void> {
    const base = { orgId: call.orgId, callId: call.id };
    switch (e.type) {
      case 'ringing':
        await this.ctx.db.transaction(async (tx) => {
          const r = await tx.query<CallRow>(sql`select * from calls where org_id = ${call.orgId} and id = ${call.id}`);
          const row = r.rows[0];
          // Every 18x the far end sends (a 180, a 183, a retransmission) reports ringing; the call rings once.
          if (row && row.status === 'dialing' && (await enqueueStatusEvent(tx, row, 'ringing', this.ctx.now()))) {
            await publishActivity(tx, { kind: 'ringing', callId: call.id, at: this.ctx.now().toISOString(), earlyMedia: e.earlyMedia });
          }
        });
        return;
      case 'answered':
        await this.ctx.db.transaction(async (tx) => {
          const t = await transitionCall(tx, { ...base, to: 'in_progress', expectFrom: call.inbound ? 'ringing' : 'dialing', at: new Date(e.at), data: { codec: e.codec, sample_rate: e.sampleRate } });
          if (e.conversation) await enqueueConversationCreated(tx, t.call, new Date(e.at));
        });
        return;
      case 'greeting-started':
        return;
      case 'amd': {
        const report = { stage: e.stage, answeredBy: e.answeredBy, atMs: e.atMs, cues: e.cues, ...(e.beepHz !== undefined ? { beepHz: e.beepHz } : {}) };
        await this.ctx.db.transaction((tx) => recordMachineDetection(tx, call.orgId, call.id, report, new Date(e.at)));
        return;
      }
      case 'turn': {
        const t = e.turn;
        await publishActivity(this.ctx.db, {
          kind: 'turn',
          callId: call.id,
          turn: { speaker: t.speaker, text: t.text, interrupted: t.interrupted, startMs: t.startMs, endMs: t.endMs },
        });
        return;
      }
      case 'latency': {
        const { turnId, ...figures } = e.latency;
        await publishActivity(this.ctx.db, { kind: 'latency', callId: call.id, latency: { turn_id: turnId, ...snakeKeys(figures) } });
        return;
      }
      case 'ended': {
        let resultDueAt: Date | undefined;
        try {
          resultDueAt = await this.ctx.db.transaction((tx) => this.#end(tx, call, e, true));
        } catch (err) {
          if (!e.recording) throw err;
          // The end of the call must be stored whatever happens to its audio (too large, a bad row).
          this.ctx.logger?.error({ err, callId: call.id }, 'could not store the call recording; ending the call without it');
          resultDueAt = await this.ctx.db.transaction((tx) => this.#end(tx, call, e, false));
        }
        // Committed: the summary is made off the dial path (the status callbacks are already written).
        if (e.transcript !== undefined) this.onAnalysisDue?.(call.orgId, call.id, resultDueAt);
        return;
      }
    }
  }

  /**
   * The terminal transition of a call with what the worker measured and recorded: the transcript,
   * metrics and recording are written first in the same transaction, so the result webhook and a
   * reader of the call find them. A completed call with a transcript keeps its result webhook for
   * its summary (result_due_at, returned): src/analysis/call-result.ts sends it.
   */
  async #end(tx: Queryable, call: ClaimedCall, e: Extract<WorkerEvent, { type: 'ended' }>, withRecording: boolean): Promise<Date | undefined> {
    const turns = e.transcript;
    let transcriptId: string | undefined;
    if (turns !== undefined) {
      transcriptId = newId('tr');
      await tx.query(sql`insert into transcripts (id, org_id, call_id, turns) values (${transcriptId}, ${call.orgId}, ${call.id}, ${JSON.stringify(turns)})`);
    }
    if (e.timings) {
      await tx.query(sql`update calls set metrics = ${JSON.stringify(callMetrics(e.timings))} where org_id = ${call.orgId} and id = ${call.id}`);
    }
    let resultDueAt: Date | undefined;
    if (turns !== undefined) {
      // Post-call analysis is due from now (a sweep finds it if this process dies before it runs).
      const now = this.ctx.now();
      // An answered call's result carries its summary: it waits for it, up to the bound.
      if (e.status === 'completed' && call.options.callback_url) resultDueAt = new Date(now.getTime() + this.resultWaitMs);
      await tx.query(sql`update calls set analysis_due_at = ${now}, result_due_at = ${resultDueAt ?? null} where org_id = ${call.orgId} and id = ${call.id}`);
      // Other processes' runners learn when to sweep for it (at commit), should this process die.
      if (resultDueAt) await tx.query(sql`select pg_notify(${RESULTS_DUE_CHANNEL}, ${call.id})`);
    }
    if (withRecording && e.recording) {
      const r = e.recording;
      await insertRecording(tx, { orgId: call.orgId, callId: call.id, channels: r.channels, sampleRate: r.sampleRate, durationMs: r.durationMs, wav: new Uint8Array(r.wav) });
    }
    await transitionCall(tx, {
      orgId: call.orgId,
      callId: call.id,
      to: e.status,
      at: new Date(e.at),
      facts: {
        sipStatusCode: e.sipStatusCode || null,
        endReason: e.endReason,
        ...(transcriptId ? { transcriptId } : {}),
        // A failed call keeps the worker's words for it: the SIP reason phrase, the transport or provider error.
        ...(e.status === 'failed' ? { errorMessage: e.reason } : {}),
      },
      data: { reason: e.reason },
    });
    return resultDueAt;
  }

  /**
   * Ends a call whose media worker is gone (its thread crashed) failed / worker_lost, unless it
   * already ended: the platform never re-dials a call that may have rung.
   */
  async workerLost(call: ClaimedCall): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      const r = await tx.query<{ status: CallStatus }>(sql`select status from calls where org_id = ${call.orgId} and id = ${call.id}`);
      const status = r.rows[0]?.status;
      if (status === 'dialing' || status === 'ringing' || status === 'in_progress' || status === 'dispatching') {
        await transitionCall(tx, { orgId: call.orgId, callId: call.id, to: 'failed', at: this.ctx.now(), facts: { endReason: 'worker_lost' } });
      }
    });
  }
}

/** sttFinalMs -> stt_final_ms: the API speaks snake_case. */
function snakeKeys(o: Record<string, number | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  return out;
}
