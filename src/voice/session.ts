/**
 * One call's voice agent: callee audio in (VAD + STT), agent turns out (brain -> sentence chunks ->
 * TTS -> playout), with turn-taking, barge-in, limits and the transcript. Everything it decides is
 * reported as VoiceEvents; every async path ends in an event, never in an unhandled rejection.
 */
import type { Clock, TimerHandle } from '../time/clock.js';
import type { SttProvider, SttStream } from '../providers/stt/types.js';
import type { TtsProvider } from '../providers/tts/types.js';
import { ProviderError } from '../providers/errors.js';
import type { VadFrameResult, VadProvider, VadStream } from '../providers/vad/types.js';
import type { AgentBrain, BrainInput } from './brain.js';
import type { TranscriptTurn, TurnLatency, VoiceEndReason, VoiceEvent } from './events.js';
import { CalleeTurns, type CalleeUtterance } from './callee-turns.js';
import { AgentTurn, fixedLine, type TurnOutcome } from './agent-turn.js';
import { Playout } from './playout.js';
import { PrimedTts, spokenChunks } from './primed-tts.js';
import { FrameResampler, pickRate } from './frame-resampler.js';
import type { LegEvent, Leg } from './leg.js';
import { bargeInOf, linesOf, type VoiceSessionOptions } from './policy.js';

export type { VoiceSessionOptions };

export interface VoiceSessionDeps {
  leg: Leg;
  tts: TtsProvider;
  vad: VadProvider;
  stt: SttProvider;
  brain: AgentBrain;
  clock: Clock;
  options: VoiceSessionOptions;
  emit?: (e: VoiceEvent) => void;
}

type ErrorSource = 'stt' | 'llm' | 'tts' | 'vad';
const ERROR_END: Record<ErrorSource, VoiceEndReason> = { stt: 'error_stt', llm: 'error_llm', tts: 'error_tts', vad: 'error_stt' };

export class VoiceSession {
  readonly transcript: TranscriptTurn[] = [];
  readonly latencies: TurnLatency[] = [];
  readonly events: VoiceEvent[] = [];
  readonly #d: VoiceSessionDeps;
  /** The engine, with the opening line made while the phone rings. */
  readonly #tts: PrimedTts;
  #rate = 0;
  /** Session clock time of the answer: transcript times are counted from it. */
  #answeredAt = 0;
  /** The brain has been asked something (the callee-first wait is over). */
  #brainStarted = false;
  /** The callee's current utterance, for barge-in: longest speech run (ms) and words transcribed. */
  #uttSpeechMs = 0;
  #uttFinalWords = 0;
  #uttPartialWords = 0;
  #playout: Playout | undefined;
  #vad: VadStream | undefined;
  #vadChain: Promise<void> = Promise.resolve();
  #stt: SttStream | undefined;
  readonly #sttAc = new AbortController();
  #vadAudioMs = 0;
  #vadIn: FrameResampler | undefined;
  #sttIn: FrameResampler | undefined;
  #turn: AgentTurn | undefined;
  #turnSeq = 0;
  #pending: Array<{ input: BrainInput; base: number | undefined; sttFinalMs: number | undefined }> = [];
  readonly #callee = new CalleeTurns();
  #timers = new Map<'inactivity' | 'listen' | 'max', TimerHandle>();
  #prompted = false;
  #listen: { timeoutMs: number; listenId: number | undefined } | undefined;
  #ending: VoiceEndReason | undefined;
  /** Why the call ends if the far end hangs up now (a transfer in flight), instead of callee_hangup. */
  #remoteEnd: VoiceEndReason | undefined;
  #spokenWaiters: Array<() => void> = [];
  #fillers = 0;
  #hungUp = false;
  #ended = false;
  readonly #unsubscribe: () => void;

  constructor(deps: VoiceSessionDeps) {
    this.#d = deps;
    this.#tts = new PrimedTts(deps.tts);
    this.#unsubscribe = deps.leg.on((e) => this.#onLeg(e));
    // Made before answer (while it rings), spoken only after: the first packet leaves at 'answered'.
    if (deps.options.firstSpeaker === 'agent') this.#tts.prime(spokenChunks(deps.brain.opening?.(deps.options.greeting) ?? []), deps.options.expectedSampleRate);
  }

  /** One 20 ms frame of the callee's audio at the leg's rate. */
  pushAudio(frame: Int16Array): void {
    if (this.#hungUp || this.#rate === 0) return;
    if (this.#stt && this.#sttIn) for (const f of this.#sttIn.push(frame)) this.#stt.push(f);
    const vad = this.#vad;
    if (!vad || !this.#vadIn) return;
    for (const f of this.#vadIn.push(frame)) {
      // Audio time as the VAD counts it, so barge-in compares like with like.
      this.#vadAudioMs += 20;
      const atMs = this.#vadAudioMs;
      // VAD results resolve in push order; chaining keeps our handling in that order too.
      this.#vadChain = this.#vadChain
        .then(() => vad.push(f).then((r) => this.#onVad(r, atMs)))
        .catch((err: unknown) => this.#fail('vad', err));
    }
  }

  #now(): number {
    return this.#d.clock.now();
  }

  /** Resolves once everything said so far has played out to the callee (or was cut, or the call ended). */
  untilSpoken(): Promise<void> {
    if (!this.#playout?.busy || this.#hungUp) return Promise.resolve();
    return new Promise((resolve) => this.#spokenWaiters.push(resolve));
  }

  /**
   * A tool moved the call elsewhere (a transfer): nothing more is asked of the brain and no input or
   * barge-in is taken; the call ends with `reason` once what was said has played.
   */
  endAfterTurn(reason: VoiceEndReason): void {
    if (this.#hungUp) return;
    this.#ending ??= reason;
    const turn = this.#turn;
    if (turn) turn.stop(reason);
    else this.#hangup(reason);
  }

  /** While set, the far end hanging up ends the call for `reason` (e.g. the transferee leaving after a REFER). */
  expectRemoteEnd(reason: VoiceEndReason | undefined): void {
    this.#remoteEnd = reason;
  }

  #spoken(): void {
    for (const w of this.#spokenWaiters.splice(0)) w();
  }

  /** A line of the transcript, also announced as it happens (live call streams show it). */
  #addTurn(at: TranscriptTurn): void {
    // Stored times count from the answer: the session clock's origin means nothing to a reader.
    const turn = { ...at, startMs: Math.max(0, Math.round(at.startMs - this.#answeredAt)), endMs: Math.max(0, Math.round(at.endMs - this.#answeredAt)) };
    this.transcript.push(turn);
    this.#emit({ type: 'turn', turn });
  }

  #emit(e: VoiceEvent): void {
    this.events.push(e);
    this.#d.emit?.(e);
  }

  #onLeg(e: LegEvent): void {
    if (e.type === 'answered') this.#start(e.sampleRate, e.codec);
    else if (e.type === 'dtmf') this.#onDtmf(e.digit);
    else if (e.type === 'ended' && !this.#hungUp) {
      this.#hungUp = true;
      const reason = this.#remoteEnd ?? 'callee_hangup';
      // The turn in flight still belongs in the transcript (a transfer's tool call, say).
      const turn = this.#turn;
      if (turn && turn.toolCalls.length > 0) this.#record(turn, turn.heardText(), true, this.#now());
      this.#teardown();
      this.#emit({ type: 'end_requested', reason, atMs: this.#now() });
      this.#emitEnded(reason);
    }
  }

  #start(sampleRate: number, codec: string): void {
    if (this.#rate !== 0) return;
    this.#rate = sampleRate;
    this.#answeredAt = this.#d.clock.now();
    const { options, clock } = this.#d;
    this.#playout = new Playout(this.#d.leg, { sampleRate, clock });
    this.#playout.on((e) => {
      if (e.type === 'first_frame') this.#onFirstFrame(e.id);
      else if (e.type === 'played') {
        if (this.#turn?.speaker.ids.has(e.report.id)) this.#turn.heard.push(e.report.heardText);
      } else {
        this.#spoken();
        this.#onIdle();
      }
    });
    this.#setTimer('max', options.maxDurationMs, () => this.#endWithLine(linesOf(options).wrapUp, 'max_duration_reached'));
    // A VAD that cannot take the leg's rate gets resampled audio; a recognizer only ever gets audio
    // at or below the leg's rate (upsampled narrowband has nothing above 4 kHz for a wideband model).
    const sttRate = sttRateFor(sampleRate, this.#d.stt.capabilities.sampleRates);
    const vadRate = pickRate(sampleRate, this.#d.vad.capabilities.sampleRates);
    this.#vadIn = new FrameResampler(sampleRate, vadRate);
    try {
      if (sttRate === undefined) {
        const rates = this.#d.stt.capabilities.sampleRates.join('/');
        throw new ProviderError(
          'unsupported_audio',
          `${this.#d.stt.name} hears only ${rates} Hz audio and this leg is ${codec} at ${sampleRate} Hz (narrowband): ` +
            'offer a wideband codec (L16/16000 or G.722) or use a recognizer that takes narrowband audio',
          false,
        );
      }
      this.#sttIn = new FrameResampler(sampleRate, sttRate);
      this.#stt = this.#d.stt.start({ sampleRate: sttRate, signal: this.#sttAc.signal, ...(options.language ? { language: options.language } : {}) });
      void this.#readStt(this.#stt); // #readStt catches everything and reports it as an event
    } catch (err) {
      this.#fail('stt', err);
      return;
    }
    this.#d.vad.create({ sampleRate: vadRate, minSpeechMs: options.bargeIn.minSpeechMs }).then(
      (v) => (this.#vad = v),
      (err: unknown) => this.#fail('vad', err),
    );
    if (options.firstSpeaker === 'agent') {
      this.#runTurn({ type: 'start', ...(options.greeting !== undefined ? { greeting: options.greeting } : {}) }, undefined);
    } else this.#armInactivity(); // the callee's first words start the conversation (a flow starts on them)
  }

  async #readStt(stream: SttStream): Promise<void> {
    try {
      for await (const ev of stream) {
        if (ev.type === 'partial') {
          this.#emit({ type: 'transcript_partial', text: ev.text, atMs: this.#now() });
          this.#uttPartialWords = wordCount(ev.text);
          this.#maybeBargeIn();
        } else if (ev.type === 'final') {
          this.#emit({ type: 'transcript_final', text: ev.text, atMs: this.#now() });
          this.#uttFinalWords += wordCount(ev.text);
          this.#uttPartialWords = 0;
          // Before the words become a turn: a barge-in clears queued turns, this one must survive it.
          this.#maybeBargeIn();
          this.#userTurn(this.#callee.final(ev.text, this.#now()));
        } else if (ev.type === 'error') this.#fail('stt', ev.error);
      }
      // The recognizer went away while the call goes on: the agent is deaf, so end it politely.
      if (!this.#hungUp) this.#fail('stt', new Error('speech recognition closed unexpectedly'));
    } catch (err) {
      this.#fail('stt', err);
    }
  }

  #onVad(r: VadFrameResult, atMs: number): void {
    if (this.#hungUp) return;
    for (const ev of r.events) {
      if (ev.type === 'speech_start') {
        this.#callee.speechStart(this.#now(), ev.atMs);
        this.#prompted = false;
        this.#clearTimer('inactivity');
        this.#clearTimer('listen');
        this.#emit({ type: 'callee_speech_started', atMs: this.#now() });
        // An answer is likely soon: a TTS with a connection to set up does it while they talk.
        this.#tts.prepare({ sampleRate: this.#rate });
      } else {
        this.#emit({ type: 'callee_speech_ended', atMs: this.#now() });
        this.#userTurn(this.#callee.speechEnd(this.#now()));
        // Speech that never becomes a turn (no transcript) must not stop the silence count for good.
        this.#armSilenceTimer();
      }
    }
    this.#uttSpeechMs = Math.max(this.#uttSpeechMs, this.#callee.speechMs(atMs));
    this.#maybeBargeIn(this.#callee.speechMs(atMs));
  }

  /**
   * Whether the callee's speech now cuts the agent off: barge-in enabled, speech long enough (the
   * segment under way, or with minWords the longest of this utterance, since words come after the
   * sound), and with minWords > 0 enough words transcribed.
   */
  #maybeBargeIn(segmentMs?: number): void {
    const b = bargeInOf(this.#d.options);
    if (!this.#turn || !b.enabled) return;
    const minWords = b.minWords;
    if (minWords === 0) {
      if (segmentMs !== undefined && segmentMs >= b.minSpeechMs) this.#bargeIn();
      return;
    }
    if (this.#uttSpeechMs >= b.minSpeechMs && this.#uttFinalWords + this.#uttPartialWords >= minWords) this.#bargeIn();
  }

  #onDtmf(digit: string): void {
    if (this.#hungUp) return;
    this.#emit({ type: 'dtmf', digit, atMs: this.#now() });
    this.#clearTimer('inactivity');
    this.#clearTimer('listen');
    this.#input({ type: 'dtmf', digit }, this.#now());
  }

  #userTurn(u: CalleeUtterance | undefined): void {
    if (!u) return;
    this.#uttSpeechMs = 0;
    this.#uttFinalWords = 0;
    this.#uttPartialWords = 0;
    this.#addTurn({ speaker: 'callee', text: u.text, startMs: u.startMs, endMs: u.endMs, interrupted: false });
    this.#input({ type: 'utterance', text: u.text }, u.endMs, u.sttFinalMs);
  }

  #input(input: BrainInput, base: number | undefined, sttFinalMs?: number): void {
    if (this.#ending) return;
    // The agent never talks over itself: an answer that did not barge in waits for the reply to end.
    if (this.#turn) this.#pending.push({ input, base, sttFinalMs });
    else this.#runTurn(input, base, sttFinalMs);
  }

  #runTurn(input: BrainInput | { type: 'line'; text: string; endAfter?: VoiceEndReason }, base: number | undefined, sttFinalMs?: number): void {
    const playout = this.#playout;
    if (!playout || this.#hungUp) return;
    if (input.type !== 'line') this.#brainStarted = true;
    const filler = this.#d.options.filler;
    const phrases = filler?.phrases.filter((p) => p.trim() !== '') ?? [];
    const turn = new AgentTurn(++this.#turnSeq, base, sttFinalMs, {
      tts: this.#tts, playout, sampleRate: this.#rate, now: () => this.#now(), emit: (e) => this.#emit(e),
      ...(filler && phrases.length > 0
        ? { filler: { afterMs: filler.afterMs, clock: this.#d.clock, phrase: () => phrases[this.#fillers++ % phrases.length] as string } }
        : {}),
    });
    this.#turn = turn;
    this.#clearTimer('inactivity');
    this.#clearTimer('listen');
    this.#emit({ type: 'agent_turn_started', turnId: turn.id, atMs: this.#now() });
    const source = input.type === 'line' ? fixedLine(input.text, input.endAfter) : this.#d.brain.respond(input, turn.ac.signal);
    turn.run(source).then(
      (outcome) => this.#afterSynthesis(turn, outcome),
      (err: unknown) => this.#fail('llm', err), // run() never rejects; this only guards against a bug
    );
  }

  #afterSynthesis(turn: AgentTurn, outcome: TurnOutcome): void {
    if (outcome.kind === 'aborted' || this.#turn !== turn) return;
    if (outcome.kind === 'failed') {
      this.#cutTurn();
      return this.#fail(outcome.source, outcome.error);
    }
    if (turn.endAfter) this.#ending ??= turn.endAfter;
    turn.synthDone = true;
    if (!this.#playout?.busy) this.#finishTurn(turn);
  }

  #onFirstFrame(utteranceId: string): void {
    const turn = this.#turn;
    if (turn?.firstFrame(utteranceId)) this.#emit({ type: 'agent_first_audio', turnId: turn.id, atMs: turn.startMs ?? this.#now() });
  }

  #onIdle(): void {
    const turn = this.#turn;
    if (turn?.synthDone) this.#finishTurn(turn);
  }

  #finishTurn(turn: AgentTurn): void {
    this.#turn = undefined;
    this.#tts.release(); // the opening has been spoken (or was not what the brain said)
    const now = this.#now();
    const text = turn.heardText();
    this.#record(turn, text, false, now);
    this.#emit({ type: 'agent_turn_finished', turnId: turn.id, text, atMs: now });
    if (turn.endAfter) return this.#hangup(turn.endAfter);
    const next = this.#pending.shift();
    if (next) return this.#runTurn(next.input, next.base, next.sttFinalMs);
    this.#listen = turn.wait ?? this.#listen;
    this.#armSilenceTimer();
  }

  /**
   * Starts counting the callee's silence: a flow's own listen timeout (its last wait, so a turn that
   * changed nothing, e.g. noise transcribed as nothing, keeps listening), else the inactivity timer.
   */
  #armSilenceTimer(): void {
    if (this.#turn || this.#ending || this.#hungUp) return;
    // Until the brain has started (callee first), the session's inactivity timer is the only one.
    if (!this.#d.brain.ownsTimeouts || !this.#brainStarted) return this.#armInactivity();
    const wait = this.#listen;
    if (!wait) return;
    const listenId = wait.listenId;
    this.#setTimer('listen', wait.timeoutMs, () => this.#input(listenId === undefined ? { type: 'timeout' } : { type: 'timeout', listenId }, undefined));
  }

  #record(turn: AgentTurn, text: string, interrupted: boolean, now: number): void {
    if (text !== '' || turn.toolCalls.length > 0) {
      this.#addTurn({ speaker: 'agent', text, startMs: turn.startMs ?? now, endMs: now, interrupted, ...(turn.toolCalls.length > 0 ? { toolCalls: turn.toolCalls } : {}) });
    }
    if (turn.latency) {
      this.latencies.push(turn.latency);
      this.#emit({ type: 'turn_latency', latency: turn.latency });
    }
  }

  /** Barge-in: cancel the LLM and TTS in flight, drop unplayed audio, keep only what was heard. */
  #bargeIn(): void {
    if (this.#ending) return;
    this.#cutTurn();
  }

  /**
   * Stops the agent's turn at once (barge-in, an error, the wrap-up): aborts its LLM and TTS work,
   * drops unplayed audio and records what the callee heard of it as an interrupted turn.
   */
  #cutTurn(): void {
    const turn = this.#turn;
    this.#pending = [];
    this.#turn = undefined;
    turn?.ac.abort();
    this.#tts.release();
    const reports = this.#playout?.clear() ?? [];
    this.#spoken();
    if (!turn) return;
    const heard = turn.heardText(reports);
    const now = this.#now();
    this.#d.brain.interrupted(heard);
    this.#record(turn, heard, true, now);
    this.#emit({ type: 'agent_turn_interrupted', turnId: turn.id, heardText: heard, playedMs: reports.reduce((s, r) => s + r.playedMs, 0), atMs: now });
  }

  #armInactivity(): void {
    this.#setTimer('inactivity', this.#d.options.inactivityTimeoutMs, () => {
      if (this.#turn || this.#ending) return;
      if (this.#prompted) return this.#hangup('inactivity_timeout');
      this.#prompted = true;
      this.#runTurn({ type: 'line', text: linesOf(this.#d.options).inactivityPrompt }, undefined);
    });
  }

  /** Say a last line (wrap-up, apology), then hang up once it has played. */
  #endWithLine(text: string, reason: VoiceEndReason): void {
    // Already saying a last line: it hangs up when it has played.
    if (this.#hungUp || this.#ending !== undefined) return;
    this.#ending = reason;
    this.#cutTurn();
    this.#runTurn({ type: 'line', text, endAfter: reason }, undefined);
  }

  #fail(source: ErrorSource, err: unknown): void {
    if (this.#hungUp) return;
    const reason = ERROR_END[source];
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'unknown';
    this.#emit({ type: 'error', source, code, message: err instanceof Error ? err.message : String(err), endReason: reason, atMs: this.#now() });
    // Already saying a last line (or the apology itself failed): hang up rather than risk dead air.
    if (this.#ending !== undefined) return this.#hangup(this.#ending === 'agent_hangup' ? reason : this.#ending);
    this.#endWithLine(linesOf(this.#d.options).apology, reason);
  }

  #hangup(reason: VoiceEndReason): void {
    if (this.#hungUp) return;
    this.#hungUp = true;
    this.#emit({ type: 'end_requested', reason, atMs: this.#now() });
    this.#teardown();
    this.#d.leg.hangup().then(
      () => this.#emitEnded(reason),
      () => this.#emitEnded(reason), // the leg reports its own failure; the session still ends once
    );
  }

  #teardown(): void {
    for (const k of [...this.#timers.keys()]) this.#clearTimer(k);
    this.#turn?.ac.abort();
    this.#turn = undefined;
    this.#tts.release();
    this.#playout?.close();
    this.#spoken();
    this.#sttAc.abort();
    this.#unsubscribe();
  }

  #emitEnded(reason: VoiceEndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#emit({ type: 'ended', reason, atMs: this.#now() });
  }

  #setTimer(k: 'inactivity' | 'listen' | 'max', ms: number, fn: () => void): void {
    this.#clearTimer(k);
    this.#timers.set(k, this.#d.clock.setTimer(ms, () => {
      this.#timers.delete(k);
      fn();
    }));
  }

  #clearTimer(k: 'inactivity' | 'listen' | 'max'): void {
    const t = this.#timers.get(k);
    if (t !== undefined) this.#d.clock.clearTimer(t);
    this.#timers.delete(k);
  }
}

/**
 * The rate a recognizer gets: the leg's when it takes it, else the highest it takes below the
 * leg's (downsampling loses nothing it could use). Undefined when it only takes higher rates:
 * upsampling narrowband audio would feed it garbage.
 */
export function sttRateFor(legRate: number, supported: readonly number[]): number | undefined {
  if (supported.length === 0 || supported.includes(legRate)) return legRate;
  const lower = supported.filter((r) => r < legRate);
  return lower.length === 0 ? undefined : Math.max(...lower);
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
}
