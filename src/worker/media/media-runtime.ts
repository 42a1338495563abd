import type { Leg, LegEvent } from '../../voice/leg.js';
import type { MediaQuality } from '../../telephony/rtp/media-quality.js';
import type { EndReason } from '../../contract/status.js';
import type { TtsProvider } from '../../providers/tts/types.js';
import type { TranscriptTurn, TurnLatency, VoiceEndReason, VoiceEvent } from '../../voice/events.js';
import type { ProviderChain } from '../../providers/settings.js';
import { PendingGreeting } from '../../voice/pending-greeting.js';
import { offerRate } from '../../telephony/offer-rate.js';
import type { AnswerCommand, CallTimings, DialCommand, ProviderFallbackRecord, RejectCommand, WorkerCommand, WorkerEvent } from '../protocol.js';
import { tapLeg, type RecordingTap } from './recording-tap.js';
import { greetingTranscript } from './greeting-transcript.js';

export type DialLeg = (cmd: DialCommand) => Promise<Leg>;

/** An inbound call's leg: ringing already; answer() sends the 200 (and 'answered' follows). */
export type AnswerableLeg = Leg & { answer(): Promise<void> };
/** The leg of a held inbound INVITE; throws CallerGoneError when the caller has hung up meanwhile. */
export type AnswerLeg = (cmd: AnswerCommand) => Promise<AnswerableLeg>;

/** The caller of an inbound call hung up before it could be answered. */
export class CallerGoneError extends Error {
  constructor(message = 'the caller hung up before the answer') {
    super(message);
    this.name = 'CallerGoneError';
  }
}

/** What the runtime needs of a voice agent on one call (a VoiceSession provides it). */
export interface VoiceCall {
  pushAudio(frame: Int16Array): void;
  readonly transcript: readonly TranscriptTurn[];
  /** Resolves once the transcript is whole after the end (the recognizer's last final is in). */
  transcriptSettled?(): Promise<void>;
  /** Resolves once the opening line's first audio is made (an inbound call is answered then). */
  openingReady?(): Promise<void>;
}

/**
 * An inbound call is answered once its opening line has its first audio, so the caller hears it
 * right after the 200 rather than a synthesis delay later; they hear ringing meanwhile, at most this
 * long (a slow engine must not keep a caller ringing).
 */
export const ANSWER_WHEN_READY_MAX_MS = 1500;

/** The most the end of a call waits for its transcript to settle (the session bounds it itself, on its clock). */
const TRANSCRIPT_SETTLE_MAX_MS = 2000;

/**
 * Builds the voice agent of a call in two steps: prepare (before dialing: providers, brain; a
 * throw fails the call without ringing anyone), then attach to the dialed leg before answer. The
 * session subscribes to the leg itself, starts on 'answered' and hangs up by itself.
 */
export type PrepareVoice = (cmd: DialCommand | AnswerCommand) => (leg: Leg, onEvent: (e: VoiceEvent) => void) => VoiceCall;

/** A voice agent that cannot run, with the end reason the call gets (thrown by a PrepareVoice). */
export class VoicePrepareError extends Error {
  constructor(
    readonly endReason: EndReason,
    message: string,
  ) {
    super(message);
    this.name = 'VoicePrepareError';
  }
}

type LocalHangup = 'greeting_done' | 'max_duration' | 'cancel' | 'shutdown' | 'voice';

interface ActiveCall {
  cmd: DialCommand | AnswerCommand;
  leg: Leg | undefined;
  answered: boolean;
  hangupCause: LocalHangup | undefined;
  greeting: PendingGreeting | undefined;
  maxTimer: NodeJS.Timeout | undefined;
  /** Cancelled (or shut down) before its leg existed: done as soon as it does. */
  cancelRequested: 'cancel' | 'shutdown' | undefined;
  voice:
    | {
        attach: ReturnType<PrepareVoice>;
        call: VoiceCall | undefined;
        reason: VoiceEndReason | undefined;
        offAudio: (() => void) | undefined;
        /** The first provider error of the session: why an error_* call ended, in words. */
        error: string | undefined;
      }
    | undefined;
  recording: RecordingTap | undefined;
  answeredAt: number | undefined;
  greetingAt: number | undefined;
  /** A greeting-only call's playout, for its transcript (greeting-transcript.ts). */
  greetingPlay: { writtenMs: number; totalMs: number | undefined; playedAll: boolean };
  latencies: TurnLatency[];
  fallbacks: ProviderFallbackRecord[];
}

function timingsOf(call: ActiveCall): CallTimings {
  const greeting = call.answeredAt !== undefined && call.greetingAt !== undefined ? Math.max(0, call.greetingAt - call.answeredAt) : undefined;
  return {
    ...(greeting !== undefined ? { answerToGreetingMs: greeting } : {}),
    turns: [...call.latencies],
    ...(call.fallbacks.length > 0 ? { providerFallbacks: [...call.fallbacks] } : {}),
    ...mediaOf(call.leg),
  };
}

function mediaOf(leg: Leg | undefined): { media?: MediaQuality } {
  const media = leg?.mediaQuality?.();
  return media ? { media } : {};
}

/** Why the call ended, in the platform's words (stable end_reason strings). */
/** End reasons of answered calls that failed all the same. */
const FAILED_ON_ANSWER: readonly EndReason[] = ['fax_detected', 'number_unreachable'];

export function endReasonFor(
  ended: Extract<LegEvent, { type: 'ended' }>,
  cause: LocalHangup | undefined,
  voiceReason?: VoiceEndReason,
  inbound = false,
): EndReason {
  if (cause === 'cancel') return 'canceled_by_api';
  // An inbound call's far end is the caller: their hang-up, before the answer or after it.
  if (inbound && cause === undefined && ended.by === 'remote' && ended.reason !== 'rtp_timeout') {
    if (ended.outcome === 'canceled') return 'caller_abandoned';
    if (ended.outcome === 'completed') return 'caller_hangup';
  }
  if (cause === 'shutdown') return 'worker_shutdown';
  if (cause === 'voice' && voiceReason !== undefined) return voiceReason;
  if (cause === 'max_duration') return 'max_duration_reached';
  if (cause === 'greeting_done') return 'agent_hangup';
  if (ended.reason === 'rtp_timeout') return 'media_timeout';
  switch (ended.outcome) {
    case 'completed':
      return ended.by === 'remote' ? 'callee_hangup' : 'agent_hangup';
    case 'busy':
      return ended.sipStatusCode === 603 ? 'declined' : 'busy';
    case 'no_answer':
      return ended.by === 'timeout' || ended.sipStatusCode === 487 ? 'ring_timeout' : 'no_answer';
    case 'canceled':
      return 'canceled_by_api';
    case 'failed':
      // Our side could not reach the trunk (transport error, Timer B) vs the far end refusing with a code.
      return ended.by === 'error' || ended.by === 'timeout' ? 'dial_error' : 'sip_error';
  }
}

/**
 * Runs calls on a media worker: dials each leg, synthesizes the greeting while it rings, plays it
 * the instant the callee answers (never on early media), hangs up when it has played, enforces
 * max_duration, honors cancel, and reports each step as a WorkerEvent. Pure of threads and stores,
 * so it runs in a worker thread, a worker process, or a test.
 */
export class MediaRuntime {
  readonly #calls = new Map<string, ActiveCall>();

  constructor(
    private readonly deps: {
      dialLeg: DialLeg;
      /** The greeting-only agents' TTS when the agent names none. */
      tts: TtsProvider;
      /**
       * Builds a greeting-only call's TTS: the agent's own chain, or the default engine (chain
       * undefined) for the language and voice, speaking the call's language (throws for one this
       * worker cannot run).
       */
      greetingTts?: (chain: ProviderChain | undefined, language?: string, voice?: string) => TtsProvider;
      emit: (e: WorkerEvent) => void;
      now?: () => number;
      /** Runs a voice agent on calls whose DialCommand carries `voice`; without it they are greeting-only. */
      prepareVoice?: PrepareVoice;
      /** Inbound calls: the leg of a held INVITE (AnswerCommand). */
      answerLeg?: AnswerLeg;
      /** Inbound calls: refuse a held INVITE (RejectCommand). */
      rejectInvite?: (cmd: RejectCommand) => void;
    },
  ) {}

  get activeCalls(): number {
    return this.#calls.size;
  }

  /** Ended calls whose end waits for their transcript to settle (reported within TRANSCRIPT_SETTLE_MAX_MS). */
  #settling = 0;

  /** Resolves once no call is live or settling, or after maxMs (a shutdown lets the last ends be reported). */
  async whenIdle(maxMs: number): Promise<void> {
    // Monotonic: a wall-clock step during a shutdown must not cut the wait short or stretch it.
    const until = performance.now() + maxMs;
    while ((this.#calls.size > 0 || this.#settling > 0) && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
  }

  handle(cmd: WorkerCommand): void {
    switch (cmd.type) {
      case 'dial':
      case 'answer':
        void this.#dial(cmd);
        return;
      case 'reject':
        this.deps.rejectInvite?.(cmd);
        return;
      case 'cancel':
        this.#cancel(cmd.callId);
        return;
      case 'register':
      case 'unregister':
        // Registrations belong to the thread's user agent (media-worker-main.ts), not to calls.
        return;
      case 'shutdown': {
        // Live calls go on for the drain time; whatever is left then is ended for the shutdown.
        const endRest = () => {
          for (const id of [...this.#calls.keys()]) this.#cancel(id, 'shutdown');
        };
        if ((cmd.drainMs ?? 0) <= 0) endRest();
        // Unref'd: calls that all end early must not keep the thread alive until the drain time is up.
        else setTimeout(endRest, cmd.drainMs).unref();
        return;
      }
    }
  }

  #now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  async #dial(cmd: DialCommand | AnswerCommand): Promise<void> {
    if (this.#calls.has(cmd.callId)) {
      // Never dial one call twice, whatever the caller sends.
      this.deps.emit({ type: 'log', level: 'error', message: 'duplicate dial command ignored', callId: cmd.callId });
      return;
    }
    let voice: ActiveCall['voice'];
    if (cmd.voice && this.deps.prepareVoice) {
      try {
        voice = { attach: this.deps.prepareVoice(cmd), call: undefined, reason: undefined, offAudio: undefined, error: undefined };
      } catch (err) {
        // Nothing rang: the agent cannot run (bad flow, unknown provider), so the call fails here.
        const fallback: EndReason = cmd.voice.flow !== undefined && cmd.voice.flow !== null ? 'dial_error' : 'error_llm';
        this.deps.emit({
          type: 'ended',
          callId: cmd.callId,
          status: 'failed',
          sipStatusCode: 0,
          endReason: err instanceof VoicePrepareError ? err.endReason : fallback,
          reason: `voice agent could not start: ${(err as Error).message}`,
          at: this.#now(),
        });
        return;
      }
    }
    let greetingTts = this.deps.tts;
    if (!voice && cmd.greeting && (cmd.greeting.tts || cmd.greeting.language || cmd.greeting.voice) && this.deps.greetingTts) {
      try {
        // Without a chain, the greeting's voice and language pick the default engine (src/providers/registry.ts defaultTtsProvider).
        greetingTts = this.deps.greetingTts(cmd.greeting.tts, cmd.greeting.language, cmd.greeting.tts ? undefined : cmd.greeting.voice);
      } catch (err) {
        // Refused before ringing anyone: a greeting nobody can speak must not become a silent call.
        this.deps.emit({ type: 'ended', callId: cmd.callId, status: 'failed', sipStatusCode: 0, endReason: 'error_tts', reason: `greeting TTS could not start: ${(err as Error).message}`, at: this.#now() });
        return;
      }
    }
    const call: ActiveCall = {
      cmd,
      leg: undefined,
      answered: false,
      hangupCause: undefined,
      greeting: !voice && cmd.greeting ? new PendingGreeting(greetingTts, cmd.greeting.text, cmd.greeting.voice, offerRate(cmd.codecs)) : undefined,
      maxTimer: undefined,
      cancelRequested: undefined,
      voice,
      recording: undefined,
      answeredAt: undefined,
      greetingAt: undefined,
      greetingPlay: { writtenMs: 0, totalMs: undefined, playedAll: false },
      latencies: [],
      fallbacks: [],
    };
    this.#calls.set(cmd.callId, call);
    let leg: Leg;
    let answerable: AnswerableLeg | undefined;
    try {
      if (cmd.type === 'answer') {
        if (!this.deps.answerLeg) throw new Error('this media worker does not answer calls');
        answerable = await this.deps.answerLeg(cmd);
        leg = answerable;
      } else {
        leg = await this.deps.dialLeg(cmd);
      }
      if (cmd.record) {
        // Everyone else gets the tapped leg, so every frame the agent writes is recorded.
        call.recording = tapLeg(leg, { ...cmd.record, maxMs: cmd.maxDurationMs, now: () => this.#now() });
        leg = call.recording.leg;
      }
    } catch (err) {
      call.greeting?.cancel();
      this.#calls.delete(cmd.callId);
      const gone = err instanceof CallerGoneError;
      this.deps.emit({
        type: 'ended',
        callId: cmd.callId,
        status: gone ? 'canceled' : 'failed',
        sipStatusCode: gone ? 487 : 0,
        endReason: gone ? 'caller_abandoned' : 'dial_error',
        reason: gone ? err.message : `could not ${cmd.type === 'answer' ? 'answer' : 'dial'}: ${(err as Error).message}`,
        at: this.#now(),
      });
      return;
    }
    call.leg = leg;
    // Subscribed before the session, so on the leg's end the runtime reports first (a session-made
    // hang-up has already told us its reason through end_requested).
    leg.on((e) => this.#onLeg(call, leg, e));
    if (voice) this.#attachVoice(call, voice, leg);
    if (call.cancelRequested) return this.#cancel(cmd.callId, call.cancelRequested);
    // Everything listens: the 200 goes now, and the agent speaks on its 'answered'. A failure
    // (an offer we cannot answer: 488; the caller gone) ends the leg, which reports the end.
    if (answerable) void this.#answerWhenReady(call, answerable);
  }

  async #answerWhenReady(call: ActiveCall, leg: AnswerableLeg): Promise<void> {
    const ready = call.voice?.call?.openingReady?.() ?? call.greeting?.started();
    if (ready) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ready, new Promise<void>((resolve) => (timer = setTimeout(resolve, ANSWER_WHEN_READY_MAX_MS)))]);
      clearTimeout(timer);
    }
    // Canceled or hung up by the caller meanwhile: the leg has ended, or is ending, without us.
    if (call.hangupCause !== undefined || call.cancelRequested !== undefined || !this.#calls.has(call.cmd.callId)) return;
    try {
      await leg.answer();
    } catch (err) {
      this.deps.emit({ type: 'log', level: 'warn', message: `could not answer: ${(err as Error).message}`, callId: call.cmd.callId });
    }
  }

  #onLeg(call: ActiveCall, leg: Leg, e: LegEvent): void {
    const callId = call.cmd.callId;
    switch (e.type) {
      case 'ringing':
        this.deps.emit({ type: 'ringing', callId, earlyMedia: e.earlyMedia });
        return;
      case 'answered': {
        call.answered = true;
        call.answeredAt = this.#now();
        const conversation = call.voice !== undefined || call.greeting !== undefined;
        this.deps.emit({ type: 'answered', callId, codec: e.codec, sampleRate: e.sampleRate, at: call.answeredAt, conversation });
        // The voice session starts on this same event and owns the greeting and max_duration.
        if (call.voice) return;
        call.maxTimer = setTimeout(() => this.#hangup(call, 'max_duration'), call.cmd.maxDurationMs);
        if (call.greeting) void this.#playGreeting(call, leg, call.greeting, e.sampleRate);
        else this.#hangup(call, 'greeting_done');
        return;
      }
      case 'ended': {
        clearTimeout(call.maxTimer);
        call.greeting?.cancel();
        call.voice?.offAudio?.();
        this.#calls.delete(callId);
        const at = this.#now();
        const recording = call.recording?.finish(at);
        const endReason = endReasonFor(e, call.hangupCause, call.voice?.reason, call.cmd.type === 'answer');
        // An answered voice call reports its end once the recognizer's last words are in the transcript.
        const settled = call.answered ? call.voice?.call?.transcriptSettled?.() : undefined;
        if (!settled) return this.#reportEnd(call, e, at, endReason, recording);
        let timer: NodeJS.Timeout | undefined;
        const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, TRANSCRIPT_SETTLE_MAX_MS)));
        this.#settling++;
        void Promise.race([settled, cap]).then(() => {
          clearTimeout(timer);
          this.#settling--;
          this.#reportEnd(call, e, at, endReason, recording);
        });
        return;
      }
      default:
        return;
    }
  }

  /** The call's end, with what it said (a greeting-only call's line, a voice call's transcript) and measured. */
  #reportEnd(call: ActiveCall, e: Extract<LegEvent, { type: 'ended' }>, at: number, endReason: EndReason, recording: ReturnType<RecordingTap['finish']>): void {
    const callId = call.cmd.callId;
    this.deps.emit({
      type: 'ended',
      callId,
      // Nobody to talk to: a fax or a network intercept answered, which is a failed call, not a completed one.
      status: FAILED_ON_ANSWER.includes(endReason) ? 'failed' : e.outcome,
      sipStatusCode: e.sipStatusCode,
      endReason,
      // A session ended by a provider error says which error, rather than "local hangup".
      reason:
        endReason === 'fax_detected'
          ? 'a fax machine answered (its fax tone was heard)'
          : endReason === 'number_unreachable'
            ? 'the network answered with an intercept (special information tones or a "not in service" message)'
            : call.hangupCause === 'voice' && call.voice?.error !== undefined
              ? call.voice.error
              : e.reason,
      at,
      // An answered call has a conversation to keep (possibly empty; a greeting-only call's is the
      // line it played); an unanswered one has none.
      ...(call.answered ? { transcript: call.voice ? [...(call.voice.call?.transcript ?? [])] : this.#greetingTranscript(call, at) } : {}),
      ...(call.answered ? { timings: timingsOf(call) } : {}),
      ...(recording ? { recording } : {}),
    });
  }

  #attachVoice(call: ActiveCall, voice: NonNullable<ActiveCall['voice']>, leg: Leg): void {
    const callId = call.cmd.callId;
    let greeted = false;
    try {
      voice.call = voice.attach(leg, (e) => {
        if (e.type === 'end_requested') {
          // The session hangs up by itself: the runtime must not hang up again, and its reason is the call's.
          if (call.hangupCause === undefined) {
            call.hangupCause = 'voice';
            voice.reason = e.reason;
          }
        } else if (e.type === 'agent_first_audio' && !greeted) {
          greeted = true;
          call.greetingAt = this.#now();
          this.deps.emit({ type: 'greeting-started', callId, at: call.greetingAt });
        } else if (e.type === 'turn') {
          this.deps.emit({ type: 'turn', callId, turn: e.turn });
        } else if (e.type === 'machine_detection' || e.type === 'machine_detection_ended' || e.type === 'machine_detection_revised') {
          this.deps.emit({
            type: 'amd',
            callId,
            stage: e.type === 'machine_detection' ? 'verdict' : e.type === 'machine_detection_ended' ? 'ended' : 'revised',
            answeredBy: e.answeredBy,
            atMs: Math.round(e.atMs),
            cues: e.cues,
            ...(e.type === 'machine_detection_ended' && e.beepHz !== undefined ? { beepHz: e.beepHz } : {}),
            at: this.#now(),
          });
        } else if (e.type === 'turn_latency') {
          call.latencies.push(e.latency);
          this.deps.emit({ type: 'latency', callId, latency: e.latency });
        } else if (e.type === 'provider_fallback') {
          call.fallbacks.push({ ...e.fallback, atMs: call.answeredAt === undefined ? 0 : this.#now() - call.answeredAt });
          const f = e.fallback;
          this.deps.emit({ type: 'log', level: 'warn', message: `${f.kind} provider ${f.from} failed (${f.code}: ${f.message}); ${f.to} takes over`, callId });
        } else if (e.type === 'error') {
          voice.error ??= `${e.source} error (${e.code}): ${e.message}`;
          this.deps.emit({ type: 'log', level: 'warn', message: `voice ${e.source} error (${e.code}): ${e.message}`, callId });
        }
      });
    } catch (err) {
      this.deps.emit({ type: 'log', level: 'error', message: `voice agent could not attach: ${(err as Error).message}`, callId });
      this.#cancel(callId);
      return;
    }
    const session = voice.call;
    if (!leg.onAudio) {
      this.deps.emit({ type: 'log', level: 'error', message: 'this leg gives no callee audio: the agent cannot hear', callId });
      return;
    }
    voice.offAudio = leg.onAudio((frame) => session.pushAudio(frame));
  }

  #greetingTranscript(call: ActiveCall, at: number): TranscriptTurn[] {
    const answeredAt = call.answeredAt ?? at;
    return greetingTranscript({
      text: call.cmd.greeting?.text ?? '',
      startedMs: call.greetingAt === undefined ? undefined : call.greetingAt - answeredAt,
      ...call.greetingPlay,
      endMs: at - answeredAt,
    });
  }

  async #playGreeting(call: ActiveCall, leg: Leg, greeting: PendingGreeting, rate: number): Promise<void> {
    let first = true;
    const play = call.greetingPlay;
    let complete = false;
    try {
      for await (const frame of greeting.frames(rate)) {
        if (call.hangupCause !== undefined || !this.#calls.has(call.cmd.callId)) return;
        leg.write(frame);
        play.writtenMs += (frame.length * 1000) / rate;
        if (first) {
          first = false;
          call.greetingAt = this.#now();
          this.deps.emit({ type: 'greeting-started', callId: call.cmd.callId, at: call.greetingAt });
        }
      }
      complete = true;
      play.totalMs = play.writtenMs;
    } catch (err) {
      this.deps.emit({ type: 'log', level: 'warn', message: `greeting synthesis failed: ${(err as Error).message}`, callId: call.cmd.callId });
    }
    // Hang up once what was queued has been played out.
    const drained = await new Promise<boolean>((resolve) => {
      if (leg.queuedMs === 0) return resolve(true);
      const off = leg.on((e) => {
        if (e.type === 'drained' || e.type === 'ended') {
          off();
          resolve(e.type === 'drained');
        }
      });
    });
    // The whole line reached the callee only if it was all written and the leg played it out.
    play.playedAll = complete && drained && play.writtenMs > 0;
    this.#hangup(call, 'greeting_done');
  }

  #hangup(call: ActiveCall, cause: LocalHangup): void {
    if (call.hangupCause !== undefined || !call.leg) return;
    call.hangupCause = cause;
    this.#settle(call, call.leg.hangup());
  }

  #cancel(callId: string, cause: 'cancel' | 'shutdown' = 'cancel'): void {
    const call = this.#calls.get(callId);
    if (!call) return;
    call.cancelRequested ??= cause;
    if (!call.leg || call.hangupCause !== undefined) return;
    call.hangupCause = cause;
    this.#settle(call, call.answered ? call.leg.hangup() : call.leg.cancel());
  }

  /** The leg reports the end through its events; a failing hangup/cancel is logged, never lost. */
  #settle(call: ActiveCall, p: Promise<unknown>): void {
    p.catch((err: unknown) =>
      this.deps.emit({ type: 'log', level: 'error', message: `hangup failed: ${(err as Error).message}`, callId: call.cmd.callId }),
    );
  }
}
