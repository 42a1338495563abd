/**
 * A call's voice agent on OpenAI's Realtime API (speech to speech): the callee's audio goes to the
 * model, the model's audio comes back to the leg through the same paced Playout as VoiceSession's,
 * with the same outward contract (VoiceEvents, transcript, latencies, untilSpoken/endAfterTurn/
 * expectRemoteEnd for the tools). The socket is opened and configured while the phone rings, and the
 * opening line is asked for then too; nothing is written to the leg before 'answered'.
 * Protocol: GA interface, https://developers.openai.com/api/reference/resources/realtime/client-events
 * and .../server-events.
 */
import type { LlmToolSpec } from '../../providers/llm/types.js';
import { ProviderError } from '../../providers/errors.js';
import type { Clock, TimerHandle } from '../../time/clock.js';
import { runSafely, type ToolRunner } from '../brain.js';
import type { TranscriptTurn, TurnLatency, VoiceEndReason, VoiceEvent } from '../events.js';
import { END_CALL_TOOL } from '../llm-brain.js';
import { Playout } from '../playout.js';
import { bargeInOf, linesOf, type VoiceSessionOptions } from '../policy.js';
import { AudioDecoder, AudioEncoder, formatForCodec, formatForOffer, sameFormat, type RealtimeAudioFormat } from './audio.js';
import { connectRealtime, eventError, type ClientEvent, type RealtimeSocket, type ServerEvent } from './client.js';
import type { RealtimeConfig } from './config.js';
import { formatUpdate, sayLine, sessionUpdate } from './events.js';
import { RealtimeResponse } from './response.js';
import { CalleeTranscript, str } from './callee.js';
import type { LegEvent, Leg } from '../leg.js';

export interface RealtimeSessionDeps {
  leg: Leg;
  clock: Clock;
  config: RealtimeConfig;
  /** System prompt and the call's context, as the model's session instructions. */
  instructions: string;
  /** The agent's tools except end_call (the session offers and handles end_call itself). */
  tools: readonly LlmToolSpec[];
  runTool: ToolRunner;
  options: VoiceSessionOptions;
  /** The codecs offered on the leg, best first: the audio format primed before answer. */
  offeredCodecs?: readonly string[];
  emit?: (e: VoiceEvent) => void;
  connect?: typeof connectRealtime;
}

/** Errors the server reports for races that need no action (a cancel after the response ended...). */
const BENIGN = new Set(['response_cancel_not_active', 'conversation_already_has_active_response', 'item_truncate_invalid_audio_end_ms']);
/** How long a last line (goodbye, wrap-up) may take before the call is hung up anyway. */
const LAST_LINE_MS = 20_000;

type TimerKey = 'inactivity' | 'max' | 'last';

export class RealtimeSession {
  readonly transcript: TranscriptTurn[] = [];
  readonly #keys: number[] = [];
  /** Orders transcript lines (see #addTurn). */
  #order = 0;
  readonly latencies: TurnLatency[] = [];
  readonly events: VoiceEvent[] = [];
  /** Client events sent, audio appends excepted (tests read them). */
  readonly sent: ClientEvent[] = [];
  readonly #d: RealtimeSessionDeps;
  #socket: RealtimeSocket | undefined;
  /** The format the server is known to use (session.updated) and the one asked for. */
  #serverFormat: RealtimeAudioFormat;
  #wantedFormat: RealtimeAudioFormat;
  /** Events from before the answer, replayed at answer with the format in force when they came. */
  #early: Array<[ServerEvent, RealtimeAudioFormat]> | undefined = [];
  #unsent: string[] = [];
  #rate = 0;
  #answeredAt = 0;
  #encoder: AudioEncoder | undefined;
  readonly #decoders = new Map<string, AudioDecoder>();
  #playout: Playout | undefined;
  readonly #responses = new Map<string, RealtimeResponse>();
  /** The response the server is producing (only one at a time), and our requests waiting for it. */
  #active: RealtimeResponse | undefined;
  #queued: Array<{ ev: ClientEvent; endAfter?: VoiceEndReason }> = [];
  #nextEndAfter: VoiceEndReason[] = [];
  #turnSeq = 0;
  /** Clock time of the last speech_stopped not yet answered (the latency baseline). */
  #speechEndAt: number | undefined;
  readonly #callee = new CalleeTranscript();
  #timers = new Map<TimerKey, TimerHandle>();
  #prompted = false;
  #ending: VoiceEndReason | undefined;
  #remoteEnd: VoiceEndReason | undefined;
  #spokenWaiters: Array<() => void> = [];
  readonly #toolAc = new AbortController();
  /** Hang up for this reason once the playout is idle (the last words heard in full). */
  #endWhenIdle: VoiceEndReason | undefined;
  #hungUp = false;
  #ended = false;
  readonly #unsubscribe: () => void;

  constructor(deps: RealtimeSessionDeps) {
    this.#d = deps;
    this.#serverFormat = this.#wantedFormat = formatForOffer(deps.offeredCodecs);
    this.#unsubscribe = deps.leg.on((e) => this.#onLeg(e));
    void this.#open(); // #open reports every failure as an event
  }

  async #open(): Promise<void> {
    const { config } = this.#d;
    try {
      const socket = await (this.#d.connect ?? connectRealtime)({
        url: config.url,
        apiKey: config.apiKey,
        timeoutMs: config.connectTimeoutMs,
        onEvent: (e) => this.#onServer(e),
        onFailure: (err) => this.#fail(err),
      });
      if (this.#hungUp) return socket.close();
      this.#socket = socket;
    } catch (err) {
      return this.#fail(err);
    }
    const tools = [...this.#d.tools, END_CALL_TOOL];
    const interruptResponse = bargeInOf(this.#d.options).enabled;
    this.#send(sessionUpdate(config, { instructions: this.#d.instructions, tools, format: this.#wantedFormat, interruptResponse }));
    if (this.#rate !== 0) this.#afterAnswerOpen();
    // The opening line is made while it rings; its audio waits for the answer (#early).
    else if (this.#d.options.firstSpeaker === 'agent') this.#opening();
    for (const a of this.#unsent.splice(0)) this.#socket.send({ type: 'input_audio_buffer.append', audio: a });
  }

  #opening(): void {
    const g = this.#d.options.greeting;
    this.#request(g !== undefined && g.trim() !== '' ? sayLine(g) : { type: 'response.create' });
  }

  /** One 20 ms frame of the callee's audio at the leg's rate. */
  pushAudio(frame: Int16Array): void {
    if (this.#hungUp || !this.#encoder) return;
    const audio = this.#encoder.encode(frame);
    if (this.#socket) this.#socket.send({ type: 'input_audio_buffer.append', audio });
    else if (this.#unsent.length < 100) this.#unsent.push(audio); // 2 s while the socket still opens
  }

  untilSpoken(): Promise<void> {
    if (!this.#playout?.busy || this.#hungUp) return Promise.resolve();
    return new Promise((resolve) => this.#spokenWaiters.push(resolve));
  }

  /** A tool moved the call elsewhere: no more responses; the call ends once what was said has played. */
  endAfterTurn(reason: VoiceEndReason): void {
    if (this.#hungUp) return;
    this.#ending ??= reason;
    this.#queued = [];
    const open = [...this.#responses.values()].filter((r) => !r.cut);
    const last = open.at(-1);
    if (last) {
      last.endAfter ??= reason;
      last.wantsFollowUp = false;
    } else this.#endOnIdle(reason);
  }

  expectRemoteEnd(reason: VoiceEndReason | undefined): void {
    this.#remoteEnd = reason;
  }

  #now(): number {
    return this.#d.clock.now();
  }

  #emit(e: VoiceEvent): void {
    this.events.push(e);
    this.#d.emit?.(e);
  }

  #send(ev: ClientEvent): void {
    this.sent.push(ev);
    this.#socket?.send(ev);
  }

  /** response.create now, or once the response in progress is done (one at a time per conversation). */
  #request(ev: ClientEvent, endAfter?: VoiceEndReason): void {
    if (this.#active || !this.#socket) return void this.#queued.push({ ev, ...(endAfter ? { endAfter } : {}) });
    this.#nextEndAfter.push(...(endAfter ? [endAfter] : []));
    this.#send(ev);
  }

  /**
   * A transcript line, times from the answer. Lines are kept in the order things happened (`key`:
   * when the callee started speaking, when a response was created): a callee's words arrive late,
   * after the model may already have answered them.
   */
  #addTurn(turn: TranscriptTurn, key: number): void {
    let i = this.transcript.length;
    while (i > 0 && (this.#keys[i - 1] as number) > key) i--;
    this.transcript.splice(i, 0, turn);
    this.#keys.splice(i, 0, key);
    this.#emit({ type: 'turn', turn });
  }

  #sinceAnswer(t: number): number {
    return Math.max(0, Math.round(t - this.#answeredAt));
  }

  #onLeg(e: LegEvent): void {
    if (e.type === 'answered') this.#start(e.sampleRate, e.codec);
    else if (e.type === 'dtmf') this.#onDtmf(e.digit);
    else if (e.type === 'ended' && !this.#hungUp) {
      this.#hungUp = true;
      const reason = this.#remoteEnd ?? 'callee_hangup';
      for (const r of this.#responses.values()) if (r.toolCalls.length > 0) this.#record(r, r.heardText(), true);
      this.#teardown();
      this.#emit({ type: 'end_requested', reason, atMs: this.#now() });
      this.#emitEnded(reason);
    }
  }

  #start(sampleRate: number, codec: string): void {
    if (this.#rate !== 0 || this.#hungUp) return;
    this.#rate = sampleRate;
    this.#answeredAt = this.#now();
    const format = formatForCodec(codec);
    this.#encoder = new AudioEncoder(sampleRate, format);
    this.#playout = new Playout(this.#d.leg, { sampleRate, clock: this.#d.clock });
    this.#playout.on((e) => {
      if (e.type === 'first_frame') this.#onFirstFrame(e.id);
      else if (e.type === 'played') this.#onPlayed(e.report.id);
      else {
        for (const w of this.#spokenWaiters.splice(0)) w();
        if (this.#endWhenIdle) return this.#hangup(this.#endWhenIdle);
        this.#settle();
      }
    });
    const o = this.#d.options;
    this.#setTimer('max', o.maxDurationMs, () => this.#endWithLine(linesOf(o).wrapUp, 'max_duration_reached'));
    if (!sameFormat(format, this.#wantedFormat)) {
      this.#wantedFormat = format;
      if (this.#socket) this.#send(formatUpdate(format));
    }
    if (this.#socket) this.#afterAnswerOpen();
  }

  /** Answered and connected: replay what came while ringing; a callee-first call starts listening. */
  #afterAnswerOpen(): void {
    const early = this.#early ?? [];
    this.#early = undefined;
    if (!sameFormat(this.#serverFormat, this.#wantedFormat) && early.length === 0) this.#send(formatUpdate(this.#wantedFormat));
    for (const [e, f] of early) this.#handle(e, f);
    if (this.#d.options.firstSpeaker === 'agent' && !this.#turnSeq && !this.#active && this.#queued.length === 0 && this.sent.every((s) => s.type !== 'response.create')) this.#opening();
    if (this.#d.options.firstSpeaker === 'callee') this.#armInactivity();
  }

  #onServer(e: ServerEvent): void {
    if (this.#hungUp) return;
    if (e.type === 'session.updated') {
      const f = outputFormatOf(e);
      if (f) this.#serverFormat = f;
      return;
    }
    if (e.type === 'error') return this.#onError(e);
    if (this.#early) this.#early.push([e, this.#serverFormat]);
    else this.#handle(e, this.#serverFormat);
  }

  #onError(e: ServerEvent): void {
    const err = eventError(e, this.#d.config.apiKey);
    const code = typeof (e.error as { code?: unknown } | undefined)?.code === 'string' ? (e.error as { code: string }).code : '';
    if (BENIGN.has(code)) return;
    this.#fail(err);
  }

  #handle(e: ServerEvent, format: RealtimeAudioFormat): void {
    if (this.#hungUp) return;
    const now = this.#now();
    switch (e.type) {
      case 'input_audio_buffer.speech_started':
        return this.#onSpeechStarted(e);
      case 'input_audio_buffer.speech_stopped':
        this.#speechEndAt = now;
        this.#callee.stopped(str(e.item_id), num(e.audio_end_ms), ++this.#order);
        this.#emit({ type: 'callee_speech_ended', atMs: now });
        return;
      case 'conversation.item.input_audio_transcription.completed': {
        const done = this.#callee.completed(str(e.item_id), str(e.transcript));
        if (!done) return;
        this.#emit({ type: 'transcript_final', text: done.turn.text, atMs: now });
        return this.#addTurn(done.turn, done.key);
      }
      case 'response.created': {
        const id = str((e.response as { id?: unknown } | undefined)?.id);
        const r = new RealtimeResponse(id, ++this.#turnSeq, format, now, this.#speechEndAt, ++this.#order);
        this.#speechEndAt = undefined;
        r.endAfter = this.#nextEndAfter.shift();
        this.#responses.set(id, r);
        this.#active = r;
        this.#clearTimer('inactivity');
        // While ending, only our own last line may speak.
        if (this.#ending && !r.endAfter) return this.#cut(r, new Map());
        this.#emit({ type: 'agent_turn_started', turnId: r.turnId, atMs: now });
        return;
      }
      case 'response.output_audio.delta':
        return this.#onAudio(e, now);
      case 'response.output_audio_transcript.delta': {
        const r = this.#responses.get(str(e.response_id));
        if (r && !r.cut) r.item(str(e.item_id)).transcript += str(e.delta);
        return;
      }
      case 'response.output_audio_transcript.done': {
        const r = this.#responses.get(str(e.response_id));
        if (r && !r.cut) r.item(str(e.item_id)).transcript = str(e.transcript);
        return;
      }
      case 'response.output_audio.done': {
        const r = this.#responses.get(str(e.response_id));
        if (!r || r.cut) return;
        r.item(str(e.item_id)).audioDone = true;
        this.#playout?.finish(str(e.item_id));
        return;
      }
      case 'response.function_call_arguments.done':
        return this.#onFunctionCall(e);
      case 'response.done':
        return this.#onResponseDone(e);
      default:
        return;
    }
  }

  #onAudio(e: ServerEvent, now: number): void {
    const r = this.#responses.get(str(e.response_id));
    const playout = this.#playout;
    if (!r || r.cut || !playout) return;
    const itemId = str(e.item_id);
    const delta = str(e.delta);
    const item = r.item(itemId);
    const decoder = this.#decoder(r.format);
    if (item.receivedMs === 0) playout.start(itemId, '');
    r.firstDelta(now);
    item.receivedMs += decoder.ms(delta);
    playout.push(itemId, decoder.decode(delta));
  }

  #decoder(f: RealtimeAudioFormat): AudioDecoder {
    let d = this.#decoders.get(f.type);
    if (!d) this.#decoders.set(f.type, (d = new AudioDecoder(this.#rate, f)));
    return d;
  }

  #responseOfItem(itemId: string): RealtimeResponse | undefined {
    for (const r of this.#responses.values()) if (r.items.has(itemId)) return r;
    return undefined;
  }

  #onFirstFrame(itemId: string): void {
    const r = this.#responseOfItem(itemId);
    if (r && r.firstFrame(this.#now())) this.#emit({ type: 'agent_first_audio', turnId: r.turnId, atMs: this.#now() });
  }

  #onPlayed(itemId: string): void {
    const r = this.#responseOfItem(itemId);
    const item = r?.items.get(itemId);
    if (item) item.played = true;
    this.#settle();
  }

  #onSpeechStarted(e: ServerEvent): void {
    const now = this.#now();
    this.#callee.started(str(e.item_id), num(e.audio_start_ms), ++this.#order);
    this.#prompted = false;
    this.#clearTimer('inactivity');
    this.#emit({ type: 'callee_speech_started', atMs: now });
    if (!bargeInOf(this.#d.options).enabled || this.#ending) return;
    const speaking = [...this.#responses.values()].filter((r) => !r.cut && (!r.done || !r.settled));
    if (speaking.length === 0 || !this.#playout) return;
    // Barge-in: drop unplayed audio, tell the model how much of each item was heard, stop the response.
    const reports = new Map(this.#playout.clear().map((rep) => [rep.id, rep]));
    for (const w of this.#spokenWaiters.splice(0)) w();
    for (const r of speaking) {
      for (const it of r.items.values()) {
        const rep = reports.get(it.id);
        if (!rep || it.receivedMs === 0) continue;
        const audioEndMs = Math.min(Math.floor(it.receivedMs), rep.playedMs);
        this.#send({ type: 'conversation.item.truncate', item_id: it.id, content_index: 0, audio_end_ms: audioEndMs });
      }
      this.#cut(r, reports);
    }
  }

  /** Stops a response: cancels it if still running, records what was heard as an interrupted turn. */
  #cut(r: RealtimeResponse, reports: ReadonlyMap<string, { playedMs: number }>): void {
    if (r.cut) return;
    r.cut = true;
    r.wantsFollowUp = false;
    if (!r.done) this.#send({ type: 'response.cancel', response_id: r.id });
    const heard = r.heardText(reports);
    let playedMs = 0;
    for (const it of r.items.values()) playedMs += it.played ? it.receivedMs : (reports.get(it.id)?.playedMs ?? 0);
    this.#record(r, heard, true);
    this.#responses.delete(r.id);
    if (r.firstFrameAt !== undefined || !this.#ending) {
      this.#emit({ type: 'agent_turn_interrupted', turnId: r.turnId, heardText: heard, playedMs: Math.round(playedMs), atMs: this.#now() });
    }
  }

  #onFunctionCall(e: ServerEvent): void {
    const r = this.#responses.get(str(e.response_id));
    if (!r || r.cut) return;
    const callId = str(e.call_id);
    const name = str(e.name);
    let args: unknown;
    try {
      args = JSON.parse(str(e.arguments) || '{}');
    } catch {
      args = undefined;
    }
    if (name === END_CALL_TOOL.name) {
      this.#send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: '{"ok":true}' } });
      this.#ending ??= 'agent_hangup';
      this.#queued = [];
      const goodbye = goodbyeOf(args);
      // The goodbye is the model's own voice saying the line; the call ends once it has played.
      if (goodbye) this.#request(sayLine(goodbye), 'agent_hangup');
      else r.endAfter ??= 'agent_hangup';
      return;
    }
    const rec = { id: callId, name, arguments: args };
    r.toolCalls.push(rec);
    r.pendingTools++;
    r.wantsFollowUp = true;
    this.#emit({ type: 'tool_call_started', id: callId, name, arguments: args, atMs: this.#now() });
    const run = args === undefined
      ? Promise.resolve({ ok: false, result: { error: 'the arguments were not valid JSON' } })
      : runSafely(this.#d.runTool, name, args, this.#toolAc.signal);
    void run.then((res) => {
      Object.assign(rec, res);
      r.pendingTools--;
      if (this.#hungUp) return;
      this.#emit({ type: 'tool_call_finished', id: callId, name, ...res, atMs: this.#now() });
      this.#send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: JSON.stringify(res) } });
      this.#followUp(r);
      this.#settle();
    });
  }

  /** Tools answered and the response is over: the model speaks again with their results. */
  #followUp(r: RealtimeResponse): void {
    if (!r.done || r.pendingTools > 0 || !r.wantsFollowUp || this.#ending) return;
    r.wantsFollowUp = false;
    // A silent tool call is no reply yet: the callee is still waiting for the follow-up's first audio.
    if (r.firstFrameAt === undefined && r.latency) {
      this.#speechEndAt ??= r.base;
      r.latency = undefined;
    }
    this.#request({ type: 'response.create' });
  }

  #onResponseDone(e: ServerEvent): void {
    const resp = (e.response ?? {}) as { id?: unknown; status?: unknown; status_details?: { error?: { message?: unknown; code?: unknown } } };
    const r = this.#responses.get(str(resp.id));
    if (this.#active?.id === str(resp.id)) this.#active = undefined;
    if (resp.status === 'failed') {
      const err = resp.status_details?.error;
      return this.#fail(new ProviderError('provider_failed', `openai realtime: response failed: ${str(err?.message) || 'no details'}`, true));
    }
    if (r && !r.cut) {
      r.done = true;
      for (const it of r.items.values()) if (!it.audioDone) this.#playout?.finish(it.id);
      this.#followUp(r);
    }
    const next = this.#queued.shift();
    if (next) this.#request(next.ev, next.endAfter);
    this.#settle();
  }

  /** Finishes, in order, the responses that are done and heard. */
  #settle(): void {
    for (const r of [...this.#responses.values()]) {
      if (r.cut) continue;
      if (!r.settled) return;
      this.#responses.delete(r.id);
      const text = r.heardText();
      this.#record(r, text, false);
      this.#emit({ type: 'agent_turn_finished', turnId: r.turnId, text, atMs: this.#now() });
      if (r.endAfter) return this.#endOnIdle(r.endAfter);
    }
    if (this.#responses.size === 0 && !this.#active && this.#queued.length === 0 && !this.#playout?.busy) this.#armInactivity();
  }

  #endOnIdle(reason: VoiceEndReason): void {
    if (this.#playout?.busy) this.#endWhenIdle ??= reason;
    else this.#hangup(reason);
  }

  #record(r: RealtimeResponse, text: string, interrupted: boolean): void {
    if (text !== '' || r.toolCalls.length > 0) {
      const start = r.firstFrameAt ?? r.createdAt;
      this.#addTurn({
        speaker: 'agent', text, startMs: this.#sinceAnswer(start), endMs: this.#sinceAnswer(this.#now()), interrupted,
        ...(r.toolCalls.length > 0 ? { toolCalls: r.toolCalls } : {}),
      }, r.order);
    }
    if (r.latency) {
      this.latencies.push(r.latency);
      this.#emit({ type: 'turn_latency', latency: r.latency });
    }
  }

  #onDtmf(digit: string): void {
    if (this.#hungUp || this.#rate === 0) return;
    this.#emit({ type: 'dtmf', digit, atMs: this.#now() });
    this.#clearTimer('inactivity');
    if (this.#ending) return;
    this.#send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `[the callee pressed ${digit}]` }] } });
    this.#request({ type: 'response.create' });
  }

  #armInactivity(): void {
    if (this.#ending || this.#hungUp || this.#rate === 0) return;
    this.#setTimer('inactivity', this.#d.options.inactivityTimeoutMs, () => {
      if (this.#responses.size > 0 || this.#active || this.#ending) return;
      if (this.#prompted) return this.#hangup('inactivity_timeout');
      this.#prompted = true;
      this.#request(sayLine(linesOf(this.#d.options).inactivityPrompt));
    });
  }

  /** Cut what is playing, say a last line, hang up once it has played (or after LAST_LINE_MS anyway). */
  #endWithLine(text: string, reason: VoiceEndReason): void {
    if (this.#hungUp || this.#ending !== undefined) return;
    this.#ending = reason;
    this.#queued = [];
    const reports = new Map((this.#playout?.clear() ?? []).map((rep) => [rep.id, rep]));
    for (const r of [...this.#responses.values()]) this.#cut(r, reports);
    this.#request(sayLine(text), reason);
    this.#setTimer('last', LAST_LINE_MS, () => this.#hangup(reason));
  }

  #fail(err: unknown): void {
    if (this.#hungUp) return;
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'unknown';
    this.#emit({ type: 'error', source: 'llm', code, message: err instanceof Error ? err.message : String(err), endReason: 'error_llm', atMs: this.#now() });
    // No TTS on this path: with the model gone there is no voice for an apology. End at once.
    this.#hangup('error_llm');
  }

  #hangup(reason: VoiceEndReason): void {
    if (this.#hungUp) return;
    this.#hungUp = true;
    this.#emit({ type: 'end_requested', reason, atMs: this.#now() });
    const answered = this.#rate !== 0;
    this.#teardown();
    // Before the answer (the model refused us while it rang) the call is cancelled, never answered into silence.
    (answered ? this.#d.leg.hangup() : this.#d.leg.cancel()).then(
      () => this.#emitEnded(reason),
      () => this.#emitEnded(reason),
    );
  }

  #teardown(): void {
    for (const k of [...this.#timers.keys()]) this.#clearTimer(k);
    this.#toolAc.abort();
    this.#playout?.close();
    for (const w of this.#spokenWaiters.splice(0)) w();
    this.#socket?.close();
    this.#unsubscribe();
  }

  #emitEnded(reason: VoiceEndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#emit({ type: 'ended', reason, atMs: this.#now() });
  }

  #setTimer(k: TimerKey, ms: number, fn: () => void): void {
    this.#clearTimer(k);
    this.#timers.set(k, this.#d.clock.setTimer(ms, () => {
      this.#timers.delete(k);
      fn();
    }));
  }

  #clearTimer(k: TimerKey): void {
    const t = this.#timers.get(k);
    if (t !== undefined) this.#d.clock.clearTimer(t);
    this.#timers.delete(k);
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function goodbyeOf(args: unknown): string | undefined {
  const g = typeof args === 'object' && args !== null ? (args as { goodbye?: unknown }).goodbye : undefined;
  return typeof g === 'string' && g.trim() !== '' ? g.trim() : undefined;
}

/** session.updated's output format (GA: session.audio.output.format). */
function outputFormatOf(e: ServerEvent): RealtimeAudioFormat | undefined {
  const f = (e.session as { audio?: { output?: { format?: { type?: unknown } } } } | undefined)?.audio?.output?.format;
  if (f?.type === 'audio/pcmu' || f?.type === 'audio/pcma') return { type: f.type };
  if (f?.type === 'audio/pcm') return { type: 'audio/pcm', rate: 24000 };
  return undefined;
}
