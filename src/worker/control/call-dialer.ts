import type { AppContext } from '../../app-context.js';
import { readProviderSecrets } from '../../agents/provider-secrets.js';
import { greetingOnlyVoiceSpecFor, voiceSpecFor } from '../../agents/voice-spec.js';
import { applyOverrides } from '../../calls/agent-overrides.js';
import { transitionCall } from '../../calls/transitions.js';
import { beginDial } from '../../dispatch/dial-guard.js';
import type { ClaimedCall, Dialer } from '../../dispatch/types.js';
import { findAgentRow } from '../../store/agent-rows.js';
import { CALL_CANCEL_CHANNEL } from '../../store/channels.js';
import { isConnectionError, isStorageFull } from '../../store/pg-errors.js';
import { sql } from '../../store/sql.js';
import { signingSecrets } from '../../webhooks/secrets.js';
import type { WorkerCommand, WorkerEvent } from '../protocol.js';
import { CallEventWriter, type AnalysisDue, type CallWorkerEvent } from './call-events.js';
import { dialCommandFor, type DialInputs } from './dial-command.js';

/** How long a stopping worker keeps trying to record call events while the store is unreachable. */
const STOP_RETRY_MS = 10_000;

/** What a call's media command is made from, read before it is handed over. */
type Prepared = Omit<DialInputs, 'codecs'>;

interface Held {
  call: ClaimedCall;
  done: () => void;
  /** Events of one call are applied to the store strictly in order. */
  chain: Promise<void>;
}

export interface MediaLink {
  send(cmd: WorkerCommand): void;
  on(listener: (e: WorkerEvent) => void): () => void;
}

/**
 * The dispatcher's Dialer for real calls: takes the last-moment dial guard, hands the call to a
 * media worker, and turns what the worker reports into the call's lifecycle (status, SIP code, end
 * reason, status callbacks) in the store. dial() settles when the call has ended, which is how the
 * dispatcher knows to stop renewing the call's lease.
 */
export class CallDialer implements Dialer {
  readonly #held = new Map<string, Held>();
  readonly #events: CallEventWriter;
  /** Set once the media worker is gone: no call is handed to it any more. */
  #lost = false;
  #off: (() => void) | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #poll: NodeJS.Timeout | undefined;
  /** After stop(): events still retried while the store is unreachable, but only until then. */
  #giveUpAt = Infinity;

  constructor(
    private readonly ctx: AppContext,
    private readonly media: MediaLink,
    private readonly workerId: string,
    private readonly opts: {
      cancelPollMs?: number;
      codecs?: string[];
      /** A call with a transcript has ended (committed): its post-call analysis may start. */
      onAnalysisDue?: AnalysisDue;
      /** How long an answered call's result webhook waits for its summary. */
      resultWaitMs?: number;
    } = {},
  ) {
    this.#events = new CallEventWriter(ctx, opts.onAnalysisDue, opts.resultWaitMs);
  }

  async start(): Promise<void> {
    this.#off = this.media.on((e) => this.#onEvent(e));
    this.#unlisten = await this.ctx.db.listen(CALL_CANCEL_CHANNEL, (callId) => {
      if (this.#held.has(callId)) this.media.send({ type: 'cancel', callId });
    });
    // NOTIFY is a hint; a periodic look at held calls catches a lost one.
    const tick = () => {
      this.#poll = setTimeout(() => {
        void this.#pollCancels()
          .catch((err: unknown) => this.ctx.logger?.warn({ err }, 'cancel poll failed (the store may be unreachable)'))
          .finally(tick);
      }, this.opts.cancelPollMs ?? 1000);
      this.#poll.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#giveUpAt = Date.now() + STOP_RETRY_MS;
    clearTimeout(this.#poll);
    this.#off?.();
    await this.#unlisten?.();
  }

  get heldCalls(): number {
    return this.#held.size;
  }

  async dial(call: ClaimedCall): Promise<void> {
    const ready = await this.#prepare(call);
    if (!ready) return;
    // Without a media worker the call is left dispatching: its lease runs out and the reaper
    // re-queues it for another worker. It was never dialed, so that cannot dial it twice.
    if (this.#lost) return;
    if (!(await beginDial(this.ctx.db, call, this.workerId, { now: this.ctx.now() }))) return;
    await this.#hand(call, ready);
  }

  /**
   * Answers an inbound call (written ringing, held by this worker) with its agent, as dial() places
   * an outbound one; settles when the call has ended. An agent deleted meanwhile: the caller hears
   * 480 and the call ends failed.
   */
  async answer(call: ClaimedCall, inviteId: string): Promise<void> {
    let ready: Prepared | undefined;
    try {
      ready = await this.#prepare(call);
    } catch (err) {
      // The agent cannot run (a key that cannot be read): nobody would talk to the caller.
      this.media.send({ type: 'reject', inviteId, status: 480, reason: 'Temporarily Unavailable' });
      await this.#events.apply(call, { type: 'ended', callId: call.id, status: 'failed', sipStatusCode: 480, endReason: 'dial_error', reason: `the agent cannot answer: ${(err as Error).message}`, at: this.ctx.now().getTime() });
      return;
    }
    if (!ready || this.#lost) {
      this.media.send({ type: 'reject', inviteId, status: 480, reason: 'Temporarily Unavailable' });
      if (ready) await this.#events.workerLost(call);
      return;
    }
    await this.#hand(call, ready, inviteId);
  }

  /** The call's agent and what its media command carries; undefined (the call ended) when its agent is gone. */
  async #prepare(call: ClaimedCall): Promise<Prepared | undefined> {
    const row = await findAgentRow(this.ctx.db, call.orgId, call.agentId);
    // This call's language, voice and model sampling over the agent's (agent_overrides).
    const agent = row ? applyOverrides(row, call.options.agent_overrides) : undefined;
    if (!agent) {
      // Deleted between the claim and now: nobody would speak on this call, so it is never dialed
      // (an inbound one is refused: it fails, as the caller heard a refusal).
      await this.ctx.db.transaction((tx) =>
        call.inbound
          ? transitionCall(tx, { orgId: call.orgId, callId: call.id, to: 'failed', expectFrom: 'ringing', at: this.ctx.now(), facts: { endReason: 'agent_deleted', sipStatusCode: 480 } })
          : transitionCall(tx, { orgId: call.orgId, callId: call.id, to: 'canceled', expectFrom: 'dispatching', at: this.ctx.now(), facts: { endReason: 'agent_deleted' } }),
      );
      return undefined;
    }
    const password = call.trunk.passwordEnc && this.ctx.secrets ? this.ctx.secrets.decrypt(call.trunk.passwordEnc) : undefined;
    // A call's own credentials replace the trunk's; without the key to read them (removed since) it has none.
    const callCredentials = call.sipAuth && this.ctx.secrets ? { username: call.sipAuth.username, password: this.ctx.secrets.decrypt(call.sipAuth.passwordEnc) } : undefined;
    // Before the dial guard: a key that cannot be read must not leave a call marked dialing.
    const secrets = readProviderSecrets(this.ctx, agent);
    // http tools are signed like webhooks: without a readable secret the call fails here, before dialing.
    const httpTools = agent.tools?.some((t) => t.type === 'http') ?? false;
    const voice = voiceSpecFor(agent, call, secrets, {
      agentId: agent.id,
      metadata: call.metadata ?? null,
      metadataJson: call.metadataJson ?? null,
      signingSecrets: httpTools ? await signingSecrets(this.ctx, call.orgId) : [],
      allowPrivateUrls: this.ctx.allowPrivateUrls,
    }) ??
      // A greeting-only agent detecting machines plays its line in a session that can act on the verdict.
      (call.options.machine_detection.mode !== 'disabled' ? greetingOnlyVoiceSpecFor(agent, call, secrets) : undefined);
    return { agent, voice, secrets, password, callCredentials };
  }

  /** Hands the call to a media thread (a dial, or an answer of inviteId) and holds it until it has ended. */
  async #hand(call: ClaimedCall, ready: Prepared, inviteId?: string): Promise<void> {
    const dial = dialCommandFor(call, { ...ready, codecs: this.opts.codecs });
    const cmd: WorkerCommand = inviteId === undefined ? dial : { ...dial, type: 'answer', inviteId };
    await new Promise<void>((resolve) => {
      this.#held.set(call.id, { call, done: resolve, chain: Promise.resolve() });
      if (this.#lost) void this.mediaLost();
      else this.media.send(cmd);
    });
  }

  #onEvent(e: WorkerEvent): void {
    if (e.type === 'ready' || e.type === 'log' || e.type === 'incoming' || e.type === 'refused-at-edge' || e.type === 'registration') {
      if (e.type === 'log') this.ctx.logger?.[e.level]({ callId: e.callId }, e.message);
      return;
    }
    const held = this.#held.get(e.callId);
    if (!held) return;
    held.chain = held.chain
      .then(() => this.#applyUntilStored(held.call, e))
      .catch((err: unknown) => this.ctx.logger?.error({ err, callId: e.callId, event: e.type }, 'could not record call event'))
      .finally(() => {
        if (e.type === 'ended') {
          this.#held.delete(e.callId);
          held.done();
        }
      });
  }

  /**
   * A media worker is gone (its thread crashed): every call it held is over, and the platform never
   * re-dials a call that may have rung. They end failed / worker_lost. Without ids: all held calls.
   * When no media worker is left, no call is handed out any more.
   */
  async mediaLost(callIds?: readonly string[], allLost = true): Promise<void> {
    if (allLost) this.#lost = true;
    const ids = callIds ?? [...this.#held.keys()];
    const held = ids.map((id) => this.#held.get(id)).filter((h): h is Held => h !== undefined);
    for (const h of held) this.#held.delete(h.call.id);
    for (const h of held) {
      try {
        await this.#events.workerLost(h.call);
      } catch (err) {
        this.ctx.logger?.error({ err, callId: h.call.id }, 'could not fail a call of a lost media worker');
      } finally {
        h.done();
      }
    }
  }

  /**
   * Records one event of a call, again and again while the store is unreachable (a database restart or
   * outage) or its disk is full: the call goes on talking meanwhile, and its answer, end and result
   * are written, in order, once the store is back (or space is freed; a recording that alone does not
   * fit is dropped and the call ends without it: CallEvents' 'ended'). Any other failure is the
   * caller's to log.
   */
  async #applyUntilStored(call: ClaimedCall, e: CallWorkerEvent): Promise<void> {
    for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.#events.apply(call, e);
        return;
      } catch (err) {
        const full = isStorageFull(err);
        if ((!full && !isConnectionError(err)) || Date.now() + wait > this.#giveUpAt) throw err;
        if (full) this.ctx.logger?.error({ callId: call.id, event: e.type, retryInMs: wait }, "the store's disk is full; the call event will be recorded once space is freed");
        else this.ctx.logger?.warn({ callId: call.id, event: e.type, retryInMs: wait }, 'the store is unreachable; the call event will be recorded when it is back');
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  async #pollCancels(): Promise<void> {
    if (this.#held.size === 0) return;
    const ids = [...this.#held.keys()];
    const r = await this.ctx.db.query<{ id: string }>(
      sql`select id from calls where id = any(${ids}) and cancel_requested_at is not null and status in ('dialing', 'ringing', 'in_progress')`,
    );
    for (const row of r.rows) this.media.send({ type: 'cancel', callId: row.id });
  }
}
