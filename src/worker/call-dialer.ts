import { callMetrics } from '../analysis/metrics.js';
import type { AppContext } from '../app-context.js';
import type { CallRow } from '../calls/call-object.js';
import { publishActivity } from '../calls/activity.js';
import { CALL_CANCEL_CHANNEL } from '../calls/call-queries.js';
import { fillTemplate } from '../contract/templates.js';
import { transitionCall } from '../calls/transitions.js';
import type { CallStatus } from '../contract/status.js';
import { beginDial } from '../dispatch/dial-guard.js';
import type { ClaimedCall, Dialer } from '../dispatch/types.js';
import { newId } from '../ids.js';
import { applyOverrides } from '../calls/agent-overrides.js';
import { findAgentRow, providerChainFor, readProviderSecrets, resolvedProvider, secretSlot, type AgentRow, type ProviderSecrets } from '../store/agents.js';
import type { Queryable } from '../store/db.js';
import { insertRecording } from '../store/recordings.js';
import { sql } from '../store/sql.js';
import { enqueueStatusEvent } from '../webhooks/outbox.js';
import type { ConversationSettings } from '../contract/agent.js';
import type { SpeechChoice } from '../providers/registry.js';
import { signingSecrets } from '../webhooks/secrets.js';
import type { DialCommand, VoiceCallSpec, VoiceConversation, WorkerCommand, WorkerEvent } from './protocol.js';

/** Codecs offered by default to a voice agent that hears with pocketsphinx (16 kHz only): wideband first. */
export const WIDEBAND_FIRST = ['L16/16000', 'G722', 'PCMU', 'PCMA'];
const WIDEBAND = new Set(['L16/16000', 'G722']);

/** The same codecs with the wideband ones first (order otherwise kept). */
export function widebandFirst(codecs: readonly string[]): string[] {
  return [...codecs.filter((c) => WIDEBAND.has(c)), ...codecs.filter((c) => !WIDEBAND.has(c))];
}

/**
 * What the media worker needs to run the agent's conversation, or undefined for a greeting-only
 * agent (no flow, no llm, no speech-to-speech settings). Provider keys are decrypted just before the
 * call (`secrets`); a provider without its own key gets the vendor's environment variable.
 */
export function voiceSpecFor(
  agent: AgentRow,
  call: Pick<ClaimedCall, 'callContext' | 'dynamicVariables'>,
  secrets: ProviderSecrets,
  toolContext?: VoiceCallSpec['toolContext'],
): VoiceCallSpec | undefined {
  const flow = agent.flow;
  const hasFlow = flow !== undefined && flow !== null;
  const s2s = agent.speech_to_speech ? resolvedProvider(agent.speech_to_speech, secrets[secretSlot('speech_to_speech')]) : undefined;
  if (!hasFlow && !agent.llm && !s2s) return undefined;
  const llm = agent.llm ? providerChainFor('llm', agent.llm, secrets) : undefined;
  const greeting = agent.greeting ? fillTemplate(agent.greeting, call.dynamicVariables).trim() : '';
  const voice = agent.tts?.voice ?? agent.voice ?? undefined;
  const speech: SpeechChoice = {
    ...(agent.tts ? { tts: { ...providerChainFor('tts', agent.tts, secrets), ...(voice ? { voice } : {}) } } : {}),
    ...(agent.stt ? { stt: { ...(agent.language ? { language: agent.language } : {}), ...providerChainFor('stt', agent.stt, secrets) } } : {}),
    ...(agent.conversation?.vad ? { vad: agent.conversation.vad } : {}),
  };
  const conversation = agent.conversation ? conversationFor(agent.conversation, call.dynamicVariables) : undefined;
  return {
    ...(hasFlow ? { flow } : {}),
    ...(llm ? { llm } : {}),
    ...(s2s ? { speechToSpeech: { ...(agent.language ? { language: agent.language } : {}), ...s2s } } : {}),
    systemPrompt: agent.system_prompt,
    ...(call.callContext ? { callContext: call.callContext } : {}),
    dynamicVariables: call.dynamicVariables,
    ...(greeting ? { greeting } : {}),
    ...(agent.language ? { language: agent.language } : {}),
    ...(voice ? { voice } : {}),
    ...(agent.tools && agent.tools.length > 0 ? { tools: agent.tools, ...(toolContext ? { toolContext } : {}) } : {}),
    ...(Object.keys(speech).length > 0 ? { speech } : {}),
    ...(conversation ? { conversation } : {}),
  };
}

/** The agent's conversation settings in the worker's terms; absent fields stay absent (session defaults). */
export function conversationFor(c: ConversationSettings, vars: Record<string, string>): VoiceConversation {
  const line = (t: string | undefined) => (t === undefined ? undefined : fillTemplate(t, vars).trim() || undefined);
  const out: VoiceConversation = {};
  if (c.first_speaker) out.firstSpeaker = c.first_speaker;
  if (c.barge_in) {
    const b = c.barge_in;
    out.bargeIn = {
      ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
      ...(b.min_speech_ms !== undefined ? { minSpeechMs: b.min_speech_ms } : {}),
      ...(b.min_words !== undefined ? { minWords: b.min_words } : {}),
    };
  }
  if (c.inactivity_timeout_s !== undefined) out.inactivityTimeoutMs = c.inactivity_timeout_s * 1000;
  const prompt = line(c.inactivity_prompt);
  if (prompt) out.inactivityPrompt = prompt;
  const wrap = line(c.wrap_up_line);
  if (wrap) out.wrapUpLine = wrap;
  const apology = line(c.apology_line);
  if (apology) out.apologyLine = apology;
  if (c.filler !== undefined) out.filler = c.filler === null ? null : { afterMs: c.filler.after_ms, phrases: c.filler.phrases.map((p) => fillTemplate(p, vars)) };
  return out;
}


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
  /** Set once the media worker is gone: no call is handed to it any more. */
  #lost = false;
  #off: (() => void) | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: AppContext,
    private readonly media: MediaLink,
    private readonly workerId: string,
    private readonly opts: {
      cancelPollMs?: number;
      codecs?: string[];
      /** A call with a transcript has ended (committed): its post-call analysis may start. */
      onAnalysisDue?: (orgId: string, callId: string) => void;
    } = {},
  ) {}

  async start(): Promise<void> {
    this.#off = this.media.on((e) => this.#onEvent(e));
    this.#unlisten = await this.ctx.db.listen(CALL_CANCEL_CHANNEL, (callId) => {
      if (this.#held.has(callId)) this.media.send({ type: 'cancel', callId });
    });
    // NOTIFY is a hint; a periodic look at held calls catches a lost one.
    const tick = () => {
      this.#poll = setTimeout(() => {
        void this.#pollCancels().finally(tick);
      }, this.opts.cancelPollMs ?? 1000);
      this.#poll.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#poll);
    this.#off?.();
    await this.#unlisten?.();
  }

  get heldCalls(): number {
    return this.#held.size;
  }

  async dial(call: ClaimedCall): Promise<void> {
    const row = await findAgentRow(this.ctx.db, call.orgId, call.agentId);
    // This call's language, voice and model sampling over the agent's (agent_overrides).
    const agent = row ? applyOverrides(row, call.options.agent_overrides) : undefined;
    if (!agent) {
      // Deleted between the claim and now: nobody would speak on this call, so it is never dialed.
      await this.ctx.db.transaction((tx) =>
        transitionCall(tx, { orgId: call.orgId, callId: call.id, to: 'canceled', expectFrom: 'dispatching', at: this.ctx.now(), facts: { endReason: 'agent_deleted' } }),
      );
      return;
    }
    const password = call.trunk.passwordEnc && this.ctx.secrets ? this.ctx.secrets.decrypt(call.trunk.passwordEnc) : undefined;
    // Before the dial guard: a key that cannot be read must not leave a call marked dialing.
    const secrets = readProviderSecrets(this.ctx, agent);
    // http tools are signed like webhooks: without a readable secret the call fails here, before dialing.
    const httpTools = agent.tools?.some((t) => t.type === 'http') ?? false;
    const voice = voiceSpecFor(agent, call, secrets, {
      agentId: agent.id,
      metadata: call.metadata ?? null,
      signingSecrets: httpTools ? await signingSecrets(this.ctx, call.orgId) : [],
      allowPrivateUrls: this.ctx.allowPrivateUrls,
    });
    // Without a media worker the call is left dispatching: its lease runs out and the reaper
    // re-queues it for another worker. It was never dialed, so that cannot dial it twice.
    if (this.#lost) return;
    if (!(await beginDial(this.ctx.db, call, this.workerId, { now: this.ctx.now() }))) return;
    const greeting = agent?.greeting ? fillTemplate(agent.greeting, call.dynamicVariables) : '';
    // pocketsphinx hears 16 kHz only: a voice agent that may hear with it (first or as a fallback)
    // offers the wideband codecs first. A speech-to-speech model hears the leg itself (G.711
    // natively), and cloud recognizers take 8 kHz: those keep the configured order.
    const sttChain = agent.stt ? [agent.stt.provider, ...(agent.stt.fallbacks ?? []).map((f) => f.provider)] : ['pocketsphinx'];
    const pocketsphinx = voice !== undefined && !voice.speechToSpeech && sttChain.includes('pocketsphinx');
    const codecs = pocketsphinx ? widebandFirst(this.opts.codecs ?? WIDEBAND_FIRST) : this.opts.codecs;
    const cmd: DialCommand = {
      type: 'dial',
      callId: call.id,
      to: call.to,
      from: call.fromNumber,
      ...(call.options.caller_id_name ? { callerIdName: call.options.caller_id_name } : {}),
      // Our call id rides on the INVITE so carrier logs and peers can be matched to calls.
      customHeaders: [...call.options.custom_sip_headers, { name: 'X-Outcall-Call-Id', value: call.id }],
      trunk: { host: call.trunk.host, port: call.trunk.port, transport: call.trunk.transport },
      ...(call.trunk.username && password !== undefined ? { credentials: { username: call.trunk.username, password } } : {}),
      ringTimeoutMs: call.options.ring_timeout_s * 1000,
      maxDurationMs: call.options.max_duration_s * 1000,
      greeting: greeting.trim()
        ? {
            text: greeting,
            ...(agent.tts?.voice ? { voice: agent.tts.voice } : agent.voice ? { voice: agent.voice } : {}),
            // A greeting-only agent speaks with its own TTS (and fallbacks), like a voice agent.
            ...(agent.tts ? { tts: providerChainFor('tts', agent.tts, secrets) } : {}),
          }
        : null,
      ...(codecs ? { codecs } : {}),
      ...(voice ? { voice } : {}),
      ...(call.options.record?.enabled ? { record: { channels: call.options.record.channels } } : {}),
    };
    await new Promise<void>((resolve) => {
      this.#held.set(call.id, { call, done: resolve, chain: Promise.resolve() });
      if (this.#lost) void this.mediaLost();
      else this.media.send(cmd);
    });
  }

  #onEvent(e: WorkerEvent): void {
    if (e.type === 'ready' || e.type === 'log') {
      if (e.type === 'log') this.ctx.logger?.[e.level]({ callId: e.callId }, e.message);
      return;
    }
    const held = this.#held.get(e.callId);
    if (!held) return;
    held.chain = held.chain
      .then(() => this.#apply(held.call, e))
      .catch((err: unknown) => this.ctx.logger?.error({ err, callId: e.callId, event: e.type }, 'could not record call event'))
      .finally(() => {
        if (e.type === 'ended') {
          this.#held.delete(e.callId);
          held.done();
        }
      });
  }

  async #apply(call: ClaimedCall, e: Exclude<WorkerEvent, { type: 'ready' | 'log' }>): Promise<void> {
    const base = { orgId: call.orgId, callId: call.id };
    switch (e.type) {
      case 'ringing':
        await this.ctx.db.transaction(async (tx) => {
          const r = await tx.query<CallRow>(sql`select * from calls where org_id = ${call.orgId} and id = ${call.id}`);
          const row = r.rows[0];
          if (row && row.status === 'dialing') {
            await enqueueStatusEvent(tx, row, 'ringing', this.ctx.now());
            await publishActivity(tx, { kind: 'ringing', callId: call.id, at: this.ctx.now().toISOString(), earlyMedia: e.earlyMedia });
          }
        });
        return;
      case 'answered':
        await this.ctx.db.transaction((tx) =>
          transitionCall(tx, { ...base, to: 'in_progress', expectFrom: 'dialing', at: new Date(e.at), data: { codec: e.codec, sample_rate: e.sampleRate } }),
        );
        return;
      case 'greeting-started':
        return;
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
        try {
          await this.ctx.db.transaction((tx) => this.#end(tx, call, e, true));
        } catch (err) {
          if (!e.recording) throw err;
          // The end of the call must be stored whatever happens to its audio (too large, a bad row).
          this.ctx.logger?.error({ err, callId: call.id }, 'could not store the call recording; ending the call without it');
          await this.ctx.db.transaction((tx) => this.#end(tx, call, e, false));
        }
        // Committed: the summary is made off the dial path (the terminal webhooks are already written).
        if (e.transcript !== undefined) this.opts.onAnalysisDue?.(call.orgId, call.id);
        return;
      }
    }
  }

  /**
   * The terminal transition of a call with what the worker measured and recorded: the transcript,
   * metrics and recording are written first in the same transaction, so the result webhook and a
   * reader of the call find them.
   */
  async #end(tx: Queryable, call: ClaimedCall, e: Extract<WorkerEvent, { type: 'ended' }>, withRecording: boolean): Promise<void> {
    const turns = e.transcript;
    let transcriptId: string | undefined;
    if (turns !== undefined) {
      transcriptId = newId('tr');
      await tx.query(sql`insert into transcripts (id, org_id, call_id, turns) values (${transcriptId}, ${call.orgId}, ${call.id}, ${JSON.stringify(turns)})`);
    }
    if (e.timings) {
      await tx.query(sql`update calls set metrics = ${JSON.stringify(callMetrics(e.timings))} where org_id = ${call.orgId} and id = ${call.id}`);
    }
    if (turns !== undefined) {
      // Post-call analysis is due from now (a sweep finds it if this process dies before it runs).
      await tx.query(sql`update calls set analysis_due_at = ${this.ctx.now()} where org_id = ${call.orgId} and id = ${call.id}`);
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
      facts: { sipStatusCode: e.sipStatusCode || null, endReason: e.endReason, ...(transcriptId ? { transcriptId } : {}) },
      data: { reason: e.reason },
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
        await this.ctx.db.transaction(async (tx) => {
          const r = await tx.query<{ status: CallStatus }>(sql`select status from calls where org_id = ${h.call.orgId} and id = ${h.call.id}`);
          const status = r.rows[0]?.status;
          if (status === 'dialing' || status === 'in_progress' || status === 'dispatching') {
            await transitionCall(tx, { orgId: h.call.orgId, callId: h.call.id, to: 'failed', at: this.ctx.now(), facts: { endReason: 'worker_lost' } });
          }
        });
      } catch (err) {
        this.ctx.logger?.error({ err, callId: h.call.id }, 'could not fail a call of a lost media worker');
      } finally {
        h.done();
      }
    }
  }

  async #pollCancels(): Promise<void> {
    if (this.#held.size === 0) return;
    const ids = [...this.#held.keys()];
    const r = await this.ctx.db.query<{ id: string }>(
      sql`select id from calls where id = any(${ids}) and cancel_requested_at is not null and status in ('dialing', 'in_progress')`,
    );
    for (const row of r.rows) this.media.send({ type: 'cancel', callId: row.id });
  }
}

/** sttFinalMs -> stt_final_ms: the API speaks snake_case. */
function snakeKeys(o: Record<string, number | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  return out;
}
