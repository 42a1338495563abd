/**
 * One call's voice agent: callee audio in (VAD + STT), agent turns out (brain -> sentence chunks ->
 * TTS -> playout), with turn-taking, barge-in and the transcript. Everything it decides is reported
 * as VoiceEvents; every async path ends in an event, never in an unhandled rejection. The lifecycle
 * (phase, timers, inactivity prompt, wrap-up, hang-up) is the SessionShell it shares with RealtimeSession.
 */
import type { Clock } from '../time/clock.js';
import type { MachineHost } from './answering-machine.js';
import type { SttProvider, SttStream } from '../providers/stt/types.js';
import type { TtsProvider } from '../providers/tts/types.js';
import { ProviderError } from '../providers/errors.js';
import type { VadFrameResult, VadProvider, VadStream } from '../providers/vad/types.js';
import type { AgentBrain, BrainInput } from './brain.js';
import type { TranscriptTurn, TurnLatency, VoiceEndReason, VoiceEvent } from './events.js';
import { CalleeTurns, type CalleeUtterance } from './callee-turns.js';
import { AgentTurn, fixedLine, type TurnOutcome } from './agent-turn.js';
import { PrimedTts, spokenChunks } from './primed-tts.js';
import { FrameResampler, pickRate } from './frame-resampler.js';
import type { Leg } from './leg.js';
import { bargeInOf, type VoiceSessionOptions } from './policy.js';
import { SessionShell, type ErrorSource } from './session-shell.js';

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

/**
 * How long a turn waits for the recognizer's words for the end of the speech once the VAD heard it
 * stop (see CalleeTurns). A final normally lands within the engine's end silence plus decoding
 * (a few hundred ms, later on a loaded host); past this the words so far are the turn.
 */
const SETTLE_MS = 1200;

/**
 * A person picking up says "Hello?" as the agent's opening starts. Their first words, begun over
 * the opening within PICKUP_HELLO_WINDOW_MS of the answer, no longer than PICKUP_HELLO_MAX_MS and
 * only a greeting ("hello", "hi", "speaking"...), are their pickup hello. It does not cut the
 * opening off: speech in that window barges in only once its words are known and are more than a
 * hello, or once it lasts longer than a hello. It stays in the transcript but is no answer to the
 * opening (a flow would take "hello" as the reply to its question).
 */
const PICKUP_HELLO_WINDOW_MS = 2000;
const PICKUP_HELLO_MAX_MS = 1500;
// Greetings, and what a hello is heard as when its start is lost (a cold first start's stalled thread
// clips it: soundswallower heard "oh oh", pocketsphinx "whoa"), only: "yes" may answer a short
// opening's question, "who is this" wants an answer.
const PICKUP_HELLO =
  /^(?:(?:hello|hallo|hullo|allo|halo|hi|hey|hiya|speaking|good (?:morning|afternoon|evening)|oh|whoa|low|uh|um|ah|er|hm|mm)\b[\s?!.,]*)+$/i;

const ERROR_END: Record<ErrorSource, VoiceEndReason> = { stt: 'error_stt', llm: 'error_llm', tts: 'error_tts', vad: 'error_stt' };

/**
 * Once the call is over, how long the recognizer may take to settle the audio it already has (its
 * end silence and decoding, longer on a loaded host): a callee who hangs up right after a sentence
 * keeps that sentence in the transcript. The call's end is reported after it (src/worker/media).
 */
export const FINAL_FLUSH_MS = 1500;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export class VoiceSession {
  readonly transcript: TranscriptTurn[] = [];
  readonly latencies: TurnLatency[] = [];
  readonly #d: VoiceSessionDeps;
  /** Lifecycle, timers ('listen': a flow's own listen timeout), playout and the end protocol. */
  readonly #shell: SessionShell<'listen' | 'settle'>;
  /** The engine, with the opening line made while the phone rings. */
  readonly #tts: PrimedTts;
  /** The leg's rate, from the answer on (0 before). */
  #rate = 0;
  /** The brain has been asked something (the callee-first wait is over). */
  #brainStarted = false;
  /** The callee's current utterance, for barge-in: longest speech run (ms) and words transcribed. */
  #uttSpeechMs = 0;
  #uttFinalWords = 0;
  #uttPartialWords = 0;
  #uttPartialText = '';
  #uttFinalText = '';
  #vad: VadStream | undefined;
  #vadChain: Promise<void> = Promise.resolve();
  #stt: SttStream | undefined;
  readonly #sttAc = new AbortController();
  readonly #sttSettled = deferred();
  #vadAudioMs = 0;
  /** Clock time of the answer (the pickup-hello window counts from it). */
  #answeredAt = 0;
  /** The callee's current utterance began early enough to be their pickup hello (PICKUP_HELLO_WINDOW_MS). */
  #pickupHello = false;
  /** The callee has said something the agent answered (or was asked to): a later hello is a turn. */
  #calleeAnswered = false;
  /** ms of the callee's audio since the answer (the recognizer's timeline). */
  #legAudioMs = 0;
  /** Where the VAD's timeline starts on the recognizer's (it is made a little after the answer). */
  #vadBaseMs: number | undefined;
  #vadIn: FrameResampler | undefined;
  #sttIn: FrameResampler | undefined;
  #turn: AgentTurn | undefined;
  #turnSeq = 0;
  #pending: Array<{ input: BrainInput; base: number | undefined; sttFinalMs: number | undefined }> = [];
  /** gate_greeting: the opening waits for the verdict (openGate). */
  #openingGated = false;
  /**
   * The same on the recognizer's timeline (ms of the callee's audio since the answer), which holds
   * when the VAD missed the words (it is still loading at the answer); #deafWords: the utterance
   * being assembled holds such words.
   */
  #deafUntilAudioMs = -Infinity;
  #deafWords = false;
  /** The callee's utterance under way is the one a pickup was heard in: it does not barge in (until their next speech). */
  #pickupUtterance = false;
  /**
   * Callee utterances begun before this (clock) time are transcript only: a screened call's pickup
   * hello, or what was said while a gated opening waited (Infinity meanwhile).
   */
  #deafUntil = -Infinity;
  /** Who answered is being decided (machine detection): the callee's input waits here, unanswered. */
  #verdictPending = false;
  #held: Array<{ input: BrainInput; base: number | undefined; sttFinalMs: number | undefined }> = [];
  readonly #callee = new CalleeTurns();
  #listen: { timeoutMs: number; listenId: number | undefined } | undefined;
  #fillers = 0;

  constructor(deps: VoiceSessionDeps) {
    this.#d = deps;
    this.#tts = new PrimedTts(deps.tts);
    this.#shell = new SessionShell({
      leg: deps.leg,
      clock: deps.clock,
      options: deps.options,
      ...(deps.emit ? { emit: deps.emit } : {}),
      hooks: {
        answered: (rate, codec) => this.#start(rate, codec),
        dtmf: (digit) => this.#onDtmf(digit),
        farEndLeft: () => {
          // The turn in flight still belongs in the transcript (a transfer's tool call, say).
          const turn = this.#turn;
          if (turn && turn.toolCalls.length > 0) this.#record(turn, turn.heardText(), true, this.#now());
        },
        firstFrame: (id) => this.#onFirstFrame(id),
        played: (report) => {
          if (this.#turn?.speaker.ids.has(report.id)) this.#turn.heard.push(report.heardText);
        },
        idle: () => this.#onIdle(),
        agentBusy: () => this.#turn !== undefined,
        cut: () => this.#cutTurn(),
        say: (text, endAfter) => this.#runTurn({ type: 'line', text, ...(endAfter ? { endAfter } : {}) }, undefined),
        stop: () => {
          this.#turn?.ac.abort();
          this.#turn = undefined;
          this.#tts.release();
          this.#flushStt();
        },
      },
    });
    // Made before answer (while it rings), spoken only after: the first packet leaves at 'answered'.
    if (deps.options.firstSpeaker === 'agent') this.#tts.prime(spokenChunks(deps.brain.opening?.(deps.options.greeting) ?? []), deps.options.expectedSampleRate);
  }

  /**
   * Resolves once the opening line made while it rings has its first audio (at once for a
   * callee-first call): an inbound call is answered then, so the caller hears no gap after the 200.
   */
  openingReady(): Promise<void> {
    return this.#tts.ready();
  }

  /**
   * Resolves once the transcript is whole after the call ended: the recognizer's final for audio it
   * had already received (a callee who hangs up right after a sentence) is in it, or FINAL_FLUSH_MS passed.
   */
  transcriptSettled(): Promise<void> {
    return this.#sttSettled.promise;
  }

  /**
   * The call is over: no more audio, so the recognizer settles what it heard (end()); its last
   * finals still become transcript turns (#readStt), and it is cut off after FINAL_FLUSH_MS at the most.
   */
  #flushStt(): void {
    const stream = this.#stt;
    if (!stream) {
      this.#sttAc.abort();
      this.#sttSettled.resolve();
      return;
    }
    try {
      stream.end();
    } catch {
      this.#sttAc.abort();
      return;
    }
    this.#d.clock.setTimer(FINAL_FLUSH_MS, () => this.#sttAc.abort());
  }

  /** One 20 ms frame of the callee's audio at the leg's rate. */
  pushAudio(frame: Int16Array): void {
    if (this.#shell.over || this.#rate === 0) return;
    if (this.#stt && this.#sttIn) for (const f of this.#sttIn.push(frame)) this.#stt.push(f);
    const frameStartMs = this.#legAudioMs;
    this.#legAudioMs += (frame.length * 1000) / this.#rate;
    const vad = this.#vad;
    if (!vad || !this.#vadIn) return;
    this.#vadBaseMs ??= frameStartMs;
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

  /** Starts the brain's opening turn: now (force), or when it was held for the verdict (gate_greeting). */
  #openGate(force = false): void {
    if (!force && !this.#openingGated) return;
    // Waiting out a machine or a screening assistant: the opening stays held until the pickup.
    if (!this.#shell.conversing) return;
    if (this.#openingGated) this.#hearFromNow();
    this.#openingGated = false;
    const greeting = this.#d.options.greeting;
    this.#runTurn({ type: 'start', ...(greeting !== undefined ? { greeting } : {}) }, undefined);
  }

  /** What the callee said before now is transcript only (their hello); from now on their words are input. */
  #hearFromNow(): void {
    this.#deafUntil = this.#now();
    this.#deafUntilAudioMs = this.#legAudioMs;
  }

  /** What the agent opens with (a flow's first lines, or the greeting), as one line. */
  #openingText(): string {
    const out = this.#d.brain.opening?.(this.#d.options.greeting) ?? [];
    return out.flatMap((o) => (o.type === 'text' ? [o.text] : [])).join('').replace(/\s+/g, ' ').trim();
  }

  /** What answering-machine handling (answering-machine.ts) may do to this session. */
  machineHost(): MachineHost {
    const shell = this.#shell;
    return {
      awaitVerdict: () => {
        this.#verdictPending = true;
      },
      verdictReached: (machine) => {
        this.#verdictPending = false;
        const held = this.#held.splice(0);
        if (!machine) for (const h of held) this.#input(h.input, h.base, h.sttFinalMs);
      },
      holdForMachine: () => shell.holdForMachine(),
      holdForScreening: () => shell.holdForScreening(),
      answerScreening: (text) => {
        const line = text ?? this.#openingText();
        if (shell.screening && line !== '') this.#runTurn({ type: 'line', text: line }, undefined);
      },
      pickedUp: () => {
        if (!shell.waitingOut) return;
        // What was held was the assistant's; what is being said now is the person's hello.
        this.#verdictPending = false;
        this.#held = [];
        this.#hearFromNow();
        // The words that told us (their hello) must not barge in on the opening they are owed.
        this.#pickupUtterance = true;
        shell.pickedUp();
        // A gated opening never started: the brain starts now. Else its opening is said again.
        if (this.#openingGated) return this.#openGate();
        const opening = this.#openingText();
        if (opening !== '') this.#runTurn({ type: 'line', text: opening }, undefined);
      },
      openGate: () => this.#openGate(),
      prepareLine: (text) => this.#tts.prime(spokenChunks([{ type: 'text', text }]), this.#rate),
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

  /** Resolves once everything said so far has played out to the callee (or was cut, or the call ended). */
  untilSpoken(): Promise<void> {
    return this.#shell.untilSpoken();
  }

  /**
   * A tool moved the call elsewhere (a transfer): nothing more is asked of the brain and no input or
   * barge-in is taken; the call ends with `reason` once what was said has played.
   */
  endAfterTurn(reason: VoiceEndReason): void {
    if (!this.#shell.close(reason)) return;
    const turn = this.#turn;
    if (turn) turn.stop(reason);
    else this.#shell.hangUp(reason);
  }

  /** While set, the far end hanging up ends the call for `reason` (e.g. the transferee leaving after a REFER). */
  expectRemoteEnd(reason: VoiceEndReason | undefined): void {
    this.#shell.expectRemoteEnd(reason);
  }

  /** A line of the transcript, also announced as it happens (live call streams show it). */
  #addTurn(at: TranscriptTurn): void {
    const turn = { ...at, startMs: this.#shell.sinceAnswer(at.startMs), endMs: this.#shell.sinceAnswer(at.endMs) };
    this.transcript.push(turn);
    this.#emit({ type: 'turn', turn });
  }

  #emit(e: VoiceEvent): void {
    this.#shell.emit(e);
  }

  /** Answered: the shell runs the playout and the max-duration timer; this starts hearing and speaking. */
  #start(sampleRate: number, codec: string): void {
    this.#rate = sampleRate;
    this.#answeredAt = this.#now();
    const { options } = this.#d;
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
      const vocabulary = this.#d.brain.vocabulary?.();
      this.#stt = this.#d.stt.start({
        sampleRate: sttRate,
        signal: this.#sttAc.signal,
        ...(options.language ? { language: options.language } : {}),
        ...(vocabulary ? { vocabulary } : {}),
      });
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
      // gate_greeting: who answered is decided first; the answering-machine policy opens the gate.
      // What the callee says before it (their hello) is not an answer to it: the opening answers them.
      if (options.gateOpening === true) {
        this.#openingGated = true;
        this.#deafUntil = this.#deafUntilAudioMs = Infinity;
      }
      else this.#openGate(true);
    } else this.#shell.armInactivity(); // the callee's first words start the conversation (a flow starts on them)
  }

  async #readStt(stream: SttStream): Promise<void> {
    try {
      for await (const ev of stream) {
        if (ev.type === 'partial') {
          this.#emit({ type: 'transcript_partial', text: ev.text, atMs: this.#now() });
          this.#uttPartialWords = wordCount(ev.text);
          this.#uttPartialText = ev.text;
          this.#maybeBargeIn();
        } else if (ev.type === 'final') {
          this.#emit({ type: 'transcript_final', text: ev.text, atMs: this.#now() });
          this.#uttFinalWords += wordCount(ev.text);
          this.#uttPartialWords = 0;
          this.#uttPartialText = '';
          this.#uttFinalText = `${this.#uttFinalText} ${ev.text}`.trim();
          // Before the words become a turn: a barge-in clears queued turns, this one must survive it.
          this.#maybeBargeIn();
          // Words that began before the opening was released (gate_greeting) or the pickup: their hello.
          if (ev.startMs < this.#deafUntilAudioMs) this.#deafWords = true;
          this.#userTurn(this.#callee.final(ev.text, this.#now(), ev.endMs));
        } else if (ev.type === 'error') this.#fail('stt', ev.error);
      }
      // The recognizer went away while the call goes on: the agent is deaf, so end it politely.
      if (!this.#shell.over) this.#fail('stt', new Error('speech recognition closed unexpectedly'));
      // After the end: words held for a turn (the speech end never came, or the recognizer was still
      // settling) are the callee's last line.
      else this.#userTurn(this.#callee.speaking ? this.#callee.speechEnd(this.#now()) : this.#callee.settle());
    } catch (err) {
      this.#fail('stt', err);
    } finally {
      this.#sttSettled.resolve();
    }
  }

  #onVad(r: VadFrameResult, atMs: number): void {
    if (this.#shell.over) return;
    for (const ev of r.events) {
      if (ev.type === 'speech_start') {
        this.#pickupUtterance = false;
        if (!this.#callee.hasWords) {
          // Over the opening (still playing, or about to): once it has been heard whole, words answer it.
          this.#pickupHello =
            !this.#calleeAnswered && this.#turn?.id === 1 && this.#d.options.firstSpeaker === 'agent' && this.#now() - this.#answeredAt < (this.#d.options.pickupHelloWindowMs ?? PICKUP_HELLO_WINDOW_MS);
        }
        this.#callee.speechStart(this.#now(), ev.atMs);
        this.#shell.timers.clear('settle');
        this.#shell.calleeSpoke();
        this.#shell.timers.clear('listen');
        this.#emit({ type: 'callee_speech_started', atMs: this.#now() });
        // An answer is likely soon: a TTS with a connection to set up does it while they talk.
        this.#tts.prepare({ sampleRate: this.#rate });
      } else {
        this.#emit({ type: 'callee_speech_ended', atMs: this.#now() });
        this.#userTurn(this.#callee.speechEnd(this.#now(), (this.#vadBaseMs ?? 0) + ev.atMs));
        // The recognizer's words stop short of where the speech did: give it a moment for the rest.
        if (this.#callee.waiting) this.#shell.timers.set('settle', SETTLE_MS, () => this.#userTurn(this.#callee.settle()));
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
    if (!this.#turn || !b.enabled || this.#pickupUtterance) return;
    if (this.#pickupHello && Math.max(this.#uttSpeechMs, segmentMs ?? 0) < PICKUP_HELLO_MAX_MS) {
      // Over the opening at the pickup: only words that are more than a hello cut it off.
      const words = `${this.#uttFinalText} ${this.#uttPartialText}`.trim();
      if (words === '' || PICKUP_HELLO.test(words)) return;
      return this.#bargeIn();
    }
    const minWords = b.minWords;
    if (minWords === 0) {
      if (segmentMs !== undefined && segmentMs >= b.minSpeechMs) this.#bargeIn();
      return;
    }
    if (this.#uttSpeechMs >= b.minSpeechMs && this.#uttFinalWords + this.#uttPartialWords >= minWords) this.#bargeIn();
  }

  #onDtmf(digit: string): void {
    this.#emit({ type: 'dtmf', digit, atMs: this.#now() });
    this.#shell.timers.clear('inactivity');
    this.#shell.timers.clear('listen');
    this.#input({ type: 'dtmf', digit }, this.#now());
  }

  #userTurn(u: CalleeUtterance | undefined): void {
    if (!u) return;
    this.#shell.timers.clear('settle');
    this.#uttSpeechMs = 0;
    this.#uttFinalWords = 0;
    this.#uttPartialWords = 0;
    this.#uttPartialText = '';
    this.#uttFinalText = '';
    const hello = this.#pickupHello && u.endMs - u.startMs <= PICKUP_HELLO_MAX_MS && PICKUP_HELLO.test(u.text.trim());
    this.#pickupHello = false;
    this.#addTurn({ speaker: 'callee', text: u.text, startMs: u.startMs, endMs: u.endMs, interrupted: false });
    // Their pickup hello is in the transcript; the opening (playing, or done) is the answer to it.
    const deaf = this.#deafWords;
    this.#deafWords = false;
    if (hello || deaf || u.startMs <= this.#deafUntil) return;
    this.#calleeAnswered = true;
    this.#input({ type: 'utterance', text: u.text }, u.endMs, u.sttFinalMs);
  }

  #input(input: BrainInput, base: number | undefined, sttFinalMs?: number): void {
    if (this.#shell.ending) return;
    if (this.#verdictPending && input.type !== 'start') {
      this.#held.push({ input, base, sttFinalMs });
      return;
    }
    // The agent never talks over itself: an answer that did not barge in waits for the reply to end.
    if (this.#turn) this.#pending.push({ input, base, sttFinalMs });
    else this.#runTurn(input, base, sttFinalMs);
  }

  #runTurn(input: BrainInput | { type: 'line'; text: string; endAfter?: VoiceEndReason }, base: number | undefined, sttFinalMs?: number): void {
    const playout = this.#shell.playout;
    if (!playout || this.#shell.over) return;
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
    this.#shell.timers.clear('inactivity');
    this.#shell.timers.clear('listen');
    this.#emit({ type: 'agent_turn_started', turnId: turn.id, atMs: this.#now() });
    // A reply to the callee (not the opening, not a fixed line) that is slow to start gets a filler.
    if (input.type !== 'line' && input.type !== 'start') turn.fillIfSlow();
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
    if (turn.endAfter) this.#shell.close(turn.endAfter);
    turn.synthDone = true;
    if (!this.#shell.playout?.busy) this.#finishTurn(turn);
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
    if (turn.endAfter) return this.#shell.hangUp(turn.endAfter);
    const next = this.#pending.shift();
    if (next) return this.#runTurn(next.input, next.base, next.sttFinalMs);
    this.#listen = turn.wait ?? this.#listen;
    // A grammar recognizer listens for what the flow can branch on from here.
    const vocabulary = this.#d.brain.vocabulary?.();
    if (vocabulary) this.#stt?.setVocabulary?.(vocabulary);
    this.#armSilenceTimer();
  }

  /**
   * Starts counting the callee's silence: a flow's own listen timeout (its last wait, so a turn that
   * changed nothing, e.g. noise transcribed as nothing, keeps listening), else the inactivity timer.
   */
  #armSilenceTimer(): void {
    if (this.#turn || this.#shell.ending) return;
    // Until the brain has started (callee first), the session's inactivity timer is the only one.
    if (!this.#d.brain.ownsTimeouts || !this.#brainStarted) return this.#shell.armInactivity();
    const wait = this.#listen;
    if (!wait) return;
    const listenId = wait.listenId;
    this.#shell.timers.set('listen', wait.timeoutMs, () => this.#input(listenId === undefined ? { type: 'timeout' } : { type: 'timeout', listenId }, undefined));
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
    if (this.#shell.ending) return;
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
    const reports = this.#shell.playout?.clear() ?? [];
    this.#shell.spoken();
    if (!turn) return; // nothing said: what is primed (a voicemail message) is kept for what comes next
    // The brain has moved on to where it listens (a flow's listen node), cut or not: its timeout
    // still holds, e.g. after an opening cut for a screening assistant and said again at the pickup.
    this.#listen = turn.wait ?? this.#listen;
    this.#tts.release();
    const heard = turn.heardText(reports);
    const now = this.#now();
    this.#d.brain.interrupted(heard);
    this.#record(turn, heard, true, now);
    this.#emit({ type: 'agent_turn_interrupted', turnId: turn.id, heardText: heard, playedMs: reports.reduce((s, r) => s + r.playedMs, 0), atMs: now });
  }

  #fail(source: ErrorSource, err: unknown): void {
    // A voice is left to apologize with (its own failure hangs up: see SessionShell.fail).
    this.#shell.fail(source, err, ERROR_END[source], true);
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
