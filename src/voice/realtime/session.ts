/**
 * A call's voice agent on OpenAI's Realtime API (speech to speech): the callee's audio goes to the
 * model, the model's audio comes back to the leg through the same paced Playout as VoiceSession's,
 * with the same outward contract (VoiceEvents, transcript, latencies, untilSpoken/endAfterTurn/
 * expectRemoteEnd for the tools). The socket is opened and configured while the phone rings, and the
 * opening line is asked for then too; nothing is written to the leg before 'answered'. The lifecycle
 * (phase, timers, inactivity prompt, wrap-up, hang-up) is the SessionShell it shares with VoiceSession.
 * Protocol: GA interface, https://developers.openai.com/api/reference/resources/realtime/client-events
 * and .../server-events.
 */
import { endCallGoodbye } from '../../providers/llm/agent-tools.js';
import type { MachineHost } from '../answering-machine.js';
import type { LlmToolSpec } from '../../providers/llm/types.js';
import { ProviderError } from '../../providers/errors.js';
import type { TtsProvider } from '../../providers/tts/types.js';
import type { Clock, TimerHandle } from '../../time/clock.js';
import { runSafely, type ToolRunner } from '../brain.js';
import type { TranscriptTurn, TurnLatency, VoiceEndReason, VoiceEvent } from '../events.js';
import { END_CALL_TOOL } from '../llm-brain.js';
import { bargeInOf, type VoiceSessionOptions } from '../policy.js';
import { SessionShell } from '../session-shell.js';
import type { UtteranceReport } from '../playout.js';
import { AudioDecoder, AudioEncoder, formatForCodec, formatForOffer, outputFormatOf, sameFormat, type RealtimeAudioFormat } from './audio.js';
import { connectRealtime, eventError, type ClientEvent, type RealtimeSocket, type ServerEvent } from './client.js';
import type { RealtimeConfig } from './config.js';
import { formatUpdate, sayLine, sessionUpdate } from './events.js';
import { RealtimeResponse } from './response.js';
import { LocalVoice } from './local-voice.js';
import { ReplyFiller, SpeechCut, type OneTimer } from './turn-taking.js';
import { CalleeTranscript, num, str } from './callee.js';
import type { Leg } from '../leg.js';

export interface RealtimeSessionDeps {
  leg: Leg;
  clock: Clock;
  config: RealtimeConfig;
  /** System prompt and the call's context, as the model's session instructions. */
  instructions: string;
  /** The agent's tools except end_call (the session offers and handles end_call itself). */
  tools: readonly LlmToolSpec[];
  /** The end_call the model may call to hang up: undefined for the built-in one, null for none. */
  endCall?: LlmToolSpec | null;
  runTool: ToolRunner;
  options: VoiceSessionOptions;
  /** The codecs offered on the leg, best first: the audio format primed before answer. */
  offeredCodecs?: readonly string[];
  /**
   * A voice on this worker for what the model cannot say: the apology when the model's session
   * fails (then the call hangs up), and filler phrases while a reply is slow. Absent: a failure
   * hangs up at once, and there is no filler.
   */
  localTts?: TtsProvider;
  emit?: (e: VoiceEvent) => void;
  connect?: typeof connectRealtime;
}

/** Errors the server reports for races that need no action (a cancel after the response ended...). */
const BENIGN = new Set(['response_cancel_not_active', 'conversation_already_has_active_response', 'item_truncate_invalid_audio_end_ms']);
/**
 * How long a last line (wrap-up) may take before the call is hung up anyway: a model that never
 * finishes it reports no error to end on.
 */
const LAST_LINE_MS = 20_000;

/** Once the call is over, how long the server may take to transcribe the callee's last words (as the cascaded session's). */
export const FINAL_FLUSH_MS = 1500;

export class RealtimeSession {
  readonly transcript: TranscriptTurn[] = [];
  readonly #keys: number[] = [];
  /** Orders transcript lines (see #addTurn). */
  #order = 0;
  readonly latencies: TurnLatency[] = [];
  /** Client events sent, audio appends excepted (tests read them). */
  readonly sent: ClientEvent[] = [];
  readonly #d: RealtimeSessionDeps;
  /** Lifecycle, timers ('barge_in': the callee's speech lasting min_speech_ms; 'filler'), playout and the end protocol. */
  readonly #shell: SessionShell<'barge_in' | 'filler'>;
  #socket: RealtimeSocket | undefined;
  /** The format the server is known to use (session.updated) and the one asked for. */
  #serverFormat: RealtimeAudioFormat;
  #wantedFormat: RealtimeAudioFormat;
  /** Events from before the answer, replayed at answer with the format in force when they came. */
  #early: Array<[ServerEvent, RealtimeAudioFormat]> | undefined = [];
  #unsent: string[] = [];
  /** The leg's rate, from the answer on (0 before). */
  #rate = 0;
  #encoder: AudioEncoder | undefined;
  readonly #decoders = new Map<string, AudioDecoder>();
  readonly #responses = new Map<string, RealtimeResponse>();
  /** The response the server is producing (only one at a time), and our requests waiting for it. */
  #active: RealtimeResponse | undefined;
  #queued: Array<{ ev: ClientEvent; endAfter?: VoiceEndReason }> = [];
  #nextEndAfter: VoiceEndReason[] = [];
  #turnSeq = 0;
  /** Clock time of the last speech_stopped not yet answered (the latency baseline). */
  #speechEndAt: number | undefined;
  readonly #callee = new CalleeTranscript();
  readonly #toolAc = new AbortController();
  /** The apology and filler voice (deps.localTts). */
  readonly #local: LocalVoice | undefined;
  /** The model's session failed: what is left to say goes through the local voice. */
  #modelGone = false;
  /** barge_in.min_speech_ms: the cut is ours (the server's interrupt_response is off). */
  readonly #speechCut: SpeechCut;
  /** conversation.filler, in the local voice. */
  readonly #filler: ReplyFiller;

  readonly #endCall: LlmToolSpec | null;

  constructor(deps: RealtimeSessionDeps) {
    this.#d = deps;
    this.#openingGated = deps.options.gateOpening === true;
    this.#endCall = deps.endCall === undefined ? END_CALL_TOOL : deps.endCall;
    const sink = { now: () => this.#now(), sinceAnswer: (t: number) => this.#shell.sinceAnswer(t), addTurn: (turn: TranscriptTurn, key: number) => this.#addTurn(turn, key), emit: (e: VoiceEvent) => this.#emit(e) };
    this.#local = deps.localTts ? new LocalVoice(deps.localTts, sink) : undefined;
    const td = deps.config.turnDetection;
    this.#speechCut = new SpeechCut({
      minSpeechMs: () => bargeInOf(deps.options).minSpeechMs,
      prefixPaddingMs: td.type === 'server_vad' ? (td.prefix_padding_ms ?? 300) : 0,
      timer: this.#timer('barge_in'),
      cut: () => this.#bargeIn(),
    });
    this.#filler = new ReplyFiller({
      // Filler needs a voice of our own: without one there is none.
      filler: this.#local ? deps.options.filler : undefined,
      timer: this.#timer('filler'),
      speaking: () => this.#shell.playout?.busy === true,
      ending: () => this.#shell.ending,
      say: (phrase) => this.#sayLocally(phrase),
    });
    this.#serverFormat = this.#wantedFormat = formatForOffer(deps.offeredCodecs);
    this.#shell = new SessionShell({
      leg: deps.leg,
      clock: deps.clock,
      options: deps.options,
      ...(deps.emit ? { emit: deps.emit } : {}),
      lastLineLimitMs: LAST_LINE_MS,
      hooks: {
        answered: (rate, codec) => this.#start(rate, codec),
        dtmf: (digit) => this.#onDtmf(digit),
        farEndLeft: () => {
          for (const r of this.#responses.values()) if (r.toolCalls.length > 0) this.#record(r, r.heardText(), true);
        },
        firstFrame: (id) => this.#onFirstFrame(id),
        played: (report) => this.#onPlayed(report),
        idle: () => this.#onIdle(),
        agentBusy: () => this.#responses.size > 0 || this.#active !== undefined || this.#local?.speaking === true,
        cut: () => {
          this.#queued = [];
          const reports = new Map((this.#shell.playout?.clear() ?? []).map((rep) => [rep.id, rep]));
          for (const r of [...this.#responses.values()]) {
            // A greeting cut for a machine or a screening assistant: the model must know what was not said.
            if (!r.cut) this.#truncate(r, reports);
            this.#cut(r, reports);
          }
          this.#local?.cleared(reports);
        },
        // With the model gone, its last line (the apology) is said in the local voice.
        say: (text, endAfter) => (this.#modelGone ? this.#sayLocally(text, endAfter) : this.#request(sayLine(text), endAfter)),
        stop: () => {
          this.#toolAc.abort();
          this.#local?.stop();
          this.#flushThenClose();
        },
      },
    });
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
      if (this.#shell.over) return socket.close();
      this.#socket = socket;
    } catch (err) {
      return this.#fail(err);
    }
    const tools = [...this.#d.tools, ...(this.#endCall ? [this.#endCall] : [])];
    // The server never cuts the model off by itself: barge-in is ours, once the callee's speech has
    // lasted min_speech_ms (#onSpeechStarted), as in the cascaded agent.
    this.#send(sessionUpdate(config, { instructions: this.#d.instructions, tools, format: this.#wantedFormat, interruptResponse: false }));
    if (!this.#shell.ringing) this.#afterAnswerOpen();
    // The opening line is made while it rings; its audio waits for the answer (#early).
    else if (this.#d.options.firstSpeaker === 'agent') this.#opening();
    for (const a of this.#unsent.splice(0)) this.#socket.send({ type: 'input_audio_buffer.append', audio: a });
  }

  /** The opening's first audio is here (or will not come): openingReady() resolves. */
  #openingHeard: () => void = () => undefined;
  readonly #openingAudio = new Promise<void>((resolve) => (this.#openingHeard = resolve));

  /**
   * Resolves once the model's opening line has its first audio (made while it rings), at once for a
   * callee-first call or one already answered, or when the model fails: an inbound call is answered then.
   */
  openingReady(): Promise<void> {
    if (this.#d.options.firstSpeaker !== 'agent' || !this.#early || this.#openingGated) return Promise.resolve();
    return this.#openingAudio;
  }

  #opening(): void {
    // gate_greeting: asked for when the answering-machine policy opens the gate.
    if (this.#openingGated) {
      this.#openingWanted = true;
      return;
    }
    this.#request(this.#openingRequest(undefined));
  }

  /**
   * Resolves once the transcript is whole after the call ended: the server's transcription of what
   * the callee said last (a goodbye just before they hung up) is in it, or FINAL_FLUSH_MS passed.
   */
  transcriptSettled(): Promise<void> {
    return this.#settled;
  }

  /**
   * The call is over: no more audio or responses, but the server may still owe the transcription of
   * the callee's last words. Those still being said when the call ended (their turn never closed by
   * the server's VAD) are committed; the socket stays open for their transcriptions, at most
   * FINAL_FLUSH_MS, then closes.
   */
  #flushThenClose(): void {
    const socket = this.#socket;
    if (!socket || !this.#callee.pending) {
      socket?.close();
      this.#transcriptDone();
      return;
    }
    this.#flushing = true;
    if (this.#callee.speaking) {
      this.#callee.endOpen(this.#sentMs);
      this.#send({ type: 'input_audio_buffer.commit' });
    }
    this.#flushTimer = this.#d.clock.setTimer(FINAL_FLUSH_MS, () => this.#endFlush());
  }

  #endFlush(): void {
    if (!this.#flushing) return;
    this.#flushing = false;
    if (this.#flushTimer) this.#d.clock.clearTimer(this.#flushTimer);
    this.#socket?.close();
    this.#transcriptDone();
  }

  #flushing = false;
  #flushTimer: TimerHandle | undefined;
  /** Audio ms sent to the server since the answer (where open callee items end if the call does). */
  #sentMs = 0;
  #transcriptDone: () => void = () => undefined;
  readonly #settled = new Promise<void>((resolve) => (this.#transcriptDone = resolve));

  /** One 20 ms frame of the callee's audio at the leg's rate. */
  pushAudio(frame: Int16Array): void {
    if (this.#shell.over || !this.#encoder) return;
    const audio = this.#encoder.encode(frame);
    const ms = (frame.length * 1000) / this.#rate;
    this.#sentMs += ms;
    if (this.#socket) this.#socket.send({ type: 'input_audio_buffer.append', audio });
    else if (this.#unsent.length < 100) this.#unsent.push(audio); // 2 s while the socket still opens
    else return;
    this.#speechCut.sent(ms);
  }

  /** What answering-machine handling (answering-machine.ts) may do to this session. */
  /** gate_greeting: the opening waits for openGate(); #openingWanted: it was due meanwhile. */
  #openingGated = false;
  #openingWanted = false;
  /** Screening responses asked for and not yet created: they may speak while the call is screened. */
  #screeningLines = 0;

  machineHost(): MachineHost {
    const shell = this.#shell;
    return {
      // The model answers the callee on its own (server turn detection): nothing waits here; on a
      // machine verdict holdForMachine cuts it off and keeps it quiet.
      awaitVerdict: () => undefined,
      verdictReached: () => undefined,
      holdForMachine: () => shell.holdForMachine(),
      holdForScreening: () => shell.holdForScreening(),
      answerScreening: (text) => {
        if (!shell.screening) return;
        this.#screeningLines++;
        this.#request(this.#openingRequest(text));
      },
      pickedUp: () => {
        if (!shell.waitingOut) return;
        shell.pickedUp();
        this.#openingGated = false;
        this.#request(this.#openingRequest(undefined));
      },
      openGate: () => {
        if (!this.#openingGated) return;
        this.#openingGated = false;
        if (this.#openingWanted && shell.conversing) this.#request(this.#openingRequest(undefined));
      },
      endWithLine: (text, reason) => shell.endWithLine(text, reason),
      hangUp: (reason) => shell.hangUp(reason),
      emit: (e) => shell.emit(e),
      get over() {
        return shell.over;
      },
    };
  }

  get events(): VoiceEvent[] {
    return this.#shell.events;
  }

  untilSpoken(): Promise<void> {
    return this.#shell.untilSpoken();
  }

  /** A tool moved the call elsewhere: no more responses; the call ends once what was said has played. */
  endAfterTurn(reason: VoiceEndReason): void {
    if (!this.#shell.close(reason)) return;
    this.#queued = [];
    const open = [...this.#responses.values()].filter((r) => !r.cut);
    const last = open.at(-1);
    if (last) {
      last.endAfter ??= reason;
      last.wantsFollowUp = false;
    } else this.#shell.hangUpWhenIdle(reason);
  }

  expectRemoteEnd(reason: VoiceEndReason | undefined): void {
    this.#shell.expectRemoteEnd(reason);
  }

  #now(): number {
    return this.#d.clock.now();
  }

  #emit(e: VoiceEvent): void {
    this.#shell.emit(e);
  }

  #send(ev: ClientEvent): void {
    this.sent.push(ev);
    this.#socket?.send(ev);
  }

  /** response.create now, or once the response in progress is done (one at a time per conversation). */
  /** The agent's opening as a request: `text` said as it is, else the greeting, else whatever the model opens with. */
  #openingRequest(text: string | undefined): ClientEvent {
    const g = text ?? this.#d.options.greeting;
    return g !== undefined && g.trim() !== '' ? sayLine(g) : { type: 'response.create' };
  }

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

  /** Answered: the shell runs the playout and the max-duration timer; this sets the audio format up. */
  #start(sampleRate: number, codec: string): void {
    this.#rate = sampleRate;
    const format = formatForCodec(codec);
    this.#encoder = new AudioEncoder(sampleRate, format);
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
    if (this.#d.options.firstSpeaker === 'callee') this.#shell.armInactivity();
  }

  #onServer(e: ServerEvent): void {
    if (this.#shell.over) {
      // After the end, only the transcription of the callee's last words is still taken.
      if (this.#flushing && e.type === 'conversation.item.input_audio_transcription.completed') {
        const done = this.#callee.completed(str(e.item_id), str(e.transcript));
        if (done) this.#addTurn(done.turn, done.key);
        if (!this.#callee.pending) this.#endFlush();
      }
      return;
    }
    if (e.type === 'session.updated') {
      const f = outputFormatOf(e);
      if (f) this.#serverFormat = f;
      return;
    }
    if (e.type === 'error') return this.#onError(e);
    if (this.#early) {
      this.#early.push([e, this.#serverFormat]);
      if (e.type === 'response.output_audio.delta') this.#openingHeard();
    } else this.#handle(e, this.#serverFormat);
  }

  #onError(e: ServerEvent): void {
    const err = eventError(e, this.#d.config.apiKey);
    const code = typeof (e.error as { code?: unknown } | undefined)?.code === 'string' ? (e.error as { code: string }).code : '';
    if (BENIGN.has(code)) return;
    this.#fail(err);
  }

  #handle(e: ServerEvent, format: RealtimeAudioFormat): void {
    if (this.#shell.over) return;
    const now = this.#now();
    switch (e.type) {
      case 'input_audio_buffer.speech_started':
        return this.#onSpeechStarted(e);
      case 'input_audio_buffer.speech_stopped':
        this.#speechEndAt = now;
        this.#callee.stopped(str(e.item_id), num(e.audio_end_ms), ++this.#order);
        this.#emit({ type: 'callee_speech_ended', atMs: now });
        return this.#onSpeechStopped(num(e.audio_end_ms));
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
        this.#shell.timers.clear('inactivity');
        // While ending, only our own last line may speak; while screening, only our screening response.
        if (this.#shell.ending && !r.endAfter) {
          if (!this.#shell.screening || this.#screeningLines === 0) return this.#cut(r, new Map());
          this.#screeningLines--;
        }
        // gate_greeting: the model answers the callee's hello by itself (server turn detection); it
        // must not speak before who answered is known. The opening, asked for at the gate, answers it.
        else if (this.#openingGated && !r.endAfter) return this.#cut(r, new Map());
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
        this.#shell.playout?.finish(str(e.item_id));
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
    const playout = this.#shell.playout;
    if (!r || r.cut || !playout) return;
    const itemId = str(e.item_id);
    const delta = str(e.delta);
    const item = r.item(itemId);
    const decoder = this.#decoder(r.format);
    if (item.receivedMs === 0) playout.start(itemId, '');
    this.#filler.replied();
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
    if (this.#local?.firstFrame(itemId, this.#now())) return;
    const r = this.#responseOfItem(itemId);
    if (r && r.firstFrame(this.#now())) this.#emit({ type: 'agent_first_audio', turnId: r.turnId, atMs: this.#now() });
  }

  #onPlayed(report: UtteranceReport): void {
    if (this.#local?.played(report)) return this.#settle();
    const r = this.#responseOfItem(report.id);
    const item = r?.items.get(report.id);
    if (item) item.played = true;
    this.#settle();
  }

  #onIdle(): void {
    this.#filler.idle();
    this.#settle();
  }

  /** One of the session's own timers, as SpeechCut and ReplyFiller use it. */
  #timer(name: 'barge_in' | 'filler'): OneTimer {
    return {
      set: (ms, fn) => this.#shell.timers.set(name, ms, fn),
      clear: () => this.#shell.timers.clear(name),
      running: () => this.#shell.timers.has(name),
    };
  }

  /** The callee started speaking: it cuts the agent off once it has lasted barge_in.min_speech_ms (SpeechCut). */
  #onSpeechStarted(e: ServerEvent): void {
    const now = this.#now();
    this.#callee.started(str(e.item_id), num(e.audio_start_ms), ++this.#order);
    this.#shell.calleeSpoke();
    this.#emit({ type: 'callee_speech_started', atMs: now });
    if (bargeInOf(this.#d.options).enabled && !this.#shell.ending) this.#speechCut.started(num(e.audio_start_ms));
  }

  #onSpeechStopped(audioEndMs: number | undefined): void {
    this.#speechCut.stopped(audioEndMs);
    // A turn the model will answer (the agent is not speaking): the filler counts from now.
    if (this.#responses.size === 0 && !this.#active && !this.#shell.playout?.busy) this.#filler.wait();
  }

  /** Barge-in: drop unplayed audio, tell the model how much of each item was heard, stop the response. */
  #bargeIn(): void {
    const playout = this.#shell.playout;
    if (!bargeInOf(this.#d.options).enabled || this.#shell.ending || !playout) return;
    const speaking = [...this.#responses.values()].filter((r) => !r.cut && (!r.done || !r.settled));
    if (speaking.length === 0 && !this.#local?.speaking) return;
    const reports = new Map(playout.clear().map((rep) => [rep.id, rep]));
    this.#shell.spoken();
    this.#local?.cleared(reports);
    for (const r of speaking) {
      this.#truncate(r, reports);
      this.#cut(r, reports);
    }
  }

  /** The model's items of `r` end where the callee stopped hearing them: its context holds what was heard. */
  #truncate(r: RealtimeResponse, reports: ReadonlyMap<string, { playedMs: number }>): void {
    for (const it of r.items.values()) {
      const rep = reports.get(it.id);
      if (!rep || it.receivedMs === 0) continue;
      const audioEndMs = Math.min(Math.floor(it.receivedMs), rep.playedMs);
      this.#send({ type: 'conversation.item.truncate', item_id: it.id, content_index: 0, audio_end_ms: audioEndMs });
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
    if (r.firstFrameAt !== undefined || !this.#shell.ending) {
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
    if (name === this.#endCall?.name) {
      this.#send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: '{"ok":true}' } });
      this.#shell.close('agent_hangup');
      this.#queued = [];
      const goodbye = endCallGoodbye(args);
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
    // The answer waits for the tool: a slow one gets a filler once the agent has been silent afterMs.
    this.#filler.wait();
    const run = args === undefined
      ? Promise.resolve({ ok: false, result: { error: 'the arguments were not valid JSON' } })
      : runSafely(this.#d.runTool, name, args, this.#toolAc.signal);
    void run.then((res) => {
      Object.assign(rec, res);
      r.pendingTools--;
      if (this.#shell.over) return;
      this.#emit({ type: 'tool_call_finished', id: callId, name, ...res, atMs: this.#now() });
      this.#send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: JSON.stringify(res) } });
      this.#followUp(r);
      this.#settle();
    });
  }

  /** Tools answered and the response is over: the model speaks again with their results. */
  #followUp(r: RealtimeResponse): void {
    if (!r.done || r.pendingTools > 0 || !r.wantsFollowUp || this.#shell.ending) return;
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
      for (const it of r.items.values()) if (!it.audioDone) this.#shell.playout?.finish(it.id);
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
      if (r.endAfter) return this.#shell.hangUpWhenIdle(r.endAfter);
    }
    if (this.#responses.size === 0 && !this.#active && this.#queued.length === 0 && !this.#shell.playout?.busy) this.#shell.armInactivity();
  }

  #record(r: RealtimeResponse, text: string, interrupted: boolean): void {
    if (text !== '' || r.toolCalls.length > 0) {
      const start = r.firstFrameAt ?? r.createdAt;
      this.#addTurn({
        speaker: 'agent', text, startMs: this.#shell.sinceAnswer(start), endMs: this.#shell.sinceAnswer(this.#now()), interrupted,
        ...(r.toolCalls.length > 0 ? { toolCalls: r.toolCalls } : {}),
      }, r.order);
    }
    if (r.latency) {
      this.latencies.push(r.latency);
      this.#emit({ type: 'turn_latency', latency: r.latency });
    }
  }

  #onDtmf(digit: string): void {
    if (this.#shell.ringing) return;
    this.#emit({ type: 'dtmf', digit, atMs: this.#now() });
    this.#shell.timers.clear('inactivity');
    if (this.#shell.ending) return;
    this.#send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `[the callee pressed ${digit}]` }] } });
    this.#request({ type: 'response.create' });
    this.#filler.wait();
  }

  /**
   * The model's session failed. With a local voice the agent says its apology line in it, then
   * hangs up (as the cascaded agent does); without one, or before the answer, it hangs up at once.
   */
  #fail(err: unknown): void {
    this.#openingHeard();
    if (this.#local) {
      this.#modelGone = true;
      this.#socket?.close();
    }
    this.#shell.fail('llm', err, 'error_llm', this.#local !== undefined);
  }

  /** Says a line in the local voice; with endAfter, the call ends for that reason once it has been heard. */
  #sayLocally(text: string, endAfter?: VoiceEndReason): void {
    const playout = this.#shell.playout;
    const local = this.#local;
    if (!playout || !local) return endAfter ? this.#shell.hangUp(endAfter) : undefined;
    const turnId = ++this.#turnSeq;
    this.#emit({ type: 'agent_turn_started', turnId, atMs: this.#now() });
    // Said before the audio of a response already under way (a filler while it thinks): its line goes before it.
    const silent = [...this.#responses.values()].filter((r) => !r.cut && r.items.size === 0).map((r) => r.order);
    const order = silent.length > 0 ? Math.min(...silent) - 0.5 : ++this.#order;
    local.say(playout, this.#rate, text, turnId, order).then(
      () => endAfter && this.#shell.hangUpWhenIdle(endAfter),
      // The local voice failed too: nothing is left to say anything with.
      () => endAfter && this.#shell.hangUp(endAfter),
    );
  }
}
