/**
 * Acts on who answered: runs the answering-machine detector beside a voice session (on the callee's
 * own frames, in the media worker) and, on its verdict, does what the call asked (voicemail.action).
 * The agent's greeting starts on answer as always (a person must not wait); the detector listens
 * meanwhile, and on a machine the agent stops at once:
 * - hangup: the call ends `machine_detected`;
 * - leave_message: the agent waits, silent and deaf to the recording, for the greeting's end (the
 *   beep, or silence after it), says the message, and the call ends `voicemail_left`;
 * - continue: the agent goes on as with a person.
 * A fax ends the call `fax_detected` and a network intercept `number_unreachable`, whatever the
 * action: there is nobody to talk to. A call-screening assistant ("say your name and why you are
 * calling") is answered: the agent stops, waits for it to finish asking, says its screening
 * response, and waits again, deaf to the assistant, until the person picks up (a hello that is not
 * the assistant's), then opens again for them. A machine verdict on sound alone may be taken back
 * by the words that follow (the detector's `revised`): to a person, the agent opens again; to a
 * screening assistant, it is answered. With gate_greeting the opening waits for the verdict (at most
 * GATE_MAX_MS after the callee stops speaking). Every verdict is reported (`machine_detection`,
 * `machine_detection_ended` for a machine's greeting end, `machine_detection_revised`).
 */
import { EarlyIntercept } from '../amd/early-intercept.js';
import { findPhrases } from '../amd/phrases.js';
import type { AmdEvent, AmdSettings, MachineDetector } from '../amd/types.js';
import type { VoiceEndReason, VoiceEvent } from './events.js';
import type { Leg } from './leg.js';
import { SPOTTER_PHRASES } from './phrase-spotter.js';
import type { SttProvider, SttStream } from '../providers/stt/types.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import type { MachineSpec } from './spec.js';

/** What the policy needs of the session it serves. */
export interface MachineHost {
  /**
   * From the answer until the verdict, the callee's words wait instead of being answered: a
   * machine's greeting must not get replies (a flow would take it for the answer to its question).
   */
  awaitVerdict(): void;
  /** The verdict is in: what waited is answered now, or, for a machine, dropped. */
  verdictReached(machine: boolean): void;
  /** Stop talking and conversing: a machine's greeting is playing. */
  holdForMachine(): void;
  /**
   * Stop talking and conversing: a screening assistant is asking who calls. Its words get no replies
   * (they stay in the transcript) until pickedUp().
   */
  holdForScreening(): void;
  /** Say a line to the screening assistant (`undefined`: the agent's opening), and keep waiting. */
  answerScreening(text: string | undefined): void;
  /**
   * A person is on the line after all (picked up after screening, or a machine verdict taken back):
   * converse again, opening anew (they heard nothing of it). Only from screening or waiting out a machine.
   */
  pickedUp(): void;
  /** gate_greeting: the opening, held since the answer, may start now (no-op when it was not held or has started). */
  openGate(): void;
  /** Make this line's audio now, to be said later by endWithLine without a synthesis delay (optional). */
  prepareLine?(text: string): void;
  /** Say a last line, then end for `reason`. */
  endWithLine(text: string, reason: VoiceEndReason): void;
  hangUp(reason: VoiceEndReason): void;
  emit(e: VoiceEvent): void;
  /** The call is hanging up or over: nothing more to do. */
  readonly over: boolean;
}

/**
 * The screening assistant is answered once it has been quiet this long after asking: as long as a
 * person's wait after "Hello?" (src/amd/thresholds.ts HUMAN_WAIT_SILENCE_MS), the pause that tells a
 * turn's end from a pause between its sentences.
 */
export const SCREENING_REPLY_SILENCE_MS = 700;
/**
 * gate_greeting: the opening waits for the verdict, but never longer than this after the callee
 * stopped speaking (US rules count a call as abandoned when a person hears nothing within 2 s of
 * their greeting's end; 47 CFR 64.1200(a)(7)).
 */
export const GATE_MAX_MS = 2000;
/** After the screening response, nobody picking up within this long ends the call (inactivity_timeout). */
export const SCREENING_PICKUP_TIMEOUT_MS = 30_000;

/** Where a screened call is: the assistant asking, the agent's response said (waiting for the person), or over. */
type Screening = { step: 'asking' } | { step: 'waiting'; sinceMs: number; others: number } | { step: 'done' };

/** What a person says as they pick up after a screening assistant ("Hello? Yes, this is Sam."). */
const PICKUP_WORDS = /\b(hello|hi|hey|yes|yeah|speaking|this is|here)\b/i;

export class AnsweringMachinePolicy {
  readonly #spec: MachineSpec;
  readonly #detector: MachineDetector;
  readonly #host: MachineHost;
  #machine = false;
  #finished = false;
  #audioMs = 0;
  #screening: Screening | undefined;
  /** gate_greeting: the opening is held (closed) until the verdict or the deadline (open). */
  #gate: 'closed' | 'open' | undefined;
  /** The callee has spoken since the answer (the gate's deadline counts from their speech's end). */
  #heardSpeech = false;

  constructor(spec: MachineSpec, detector: MachineDetector, host: MachineHost) {
    this.#spec = spec;
    this.#detector = detector;
    this.#host = host;
    host.awaitVerdict();
    if (spec.gateGreeting === true) this.#gate = 'closed';
  }

  /** Whether the policy still needs the callee's audio and words (the verdict, a greeting's end, a screened call's pickup). */
  get listening(): boolean {
    return !this.#finished && !this.#host.over;
  }

  /** ms of the callee's audio (and of lost frames) since the answer. */
  get audioMs(): number {
    return this.#audioMs;
  }

  /** One 20 ms frame of the callee's audio, from the answer on; an empty one is a lost frame (20 ms passed). */
  push(frame: Int16Array, sampleRate: number): void {
    if (!this.listening) return;
    this.#audioMs += frame.length > 0 ? (frame.length * 1000) / sampleRate : 20;
    this.#act(this.#detector.push(frame));
    if (this.#screening) this.#screen();
    if (this.#gate === 'closed') this.#gateDeadline();
  }

  /** The verdict is late: the callee stopped speaking GATE_MAX_MS ago, so the agent speaks now. */
  #gateDeadline(): void {
    // Waiting out a machine or answering an assistant: the opening comes with a pickup, if any.
    if (this.#machine || this.#screening) return;
    const line = this.#detector.line();
    if (line.speaking) this.#heardSpeech = true;
    else if (this.#heardSpeech && line.quietMs >= GATE_MAX_MS) this.#openGate();
  }

  #openGate(): void {
    if (this.#gate !== 'closed') return;
    this.#gate = 'open';
    this.#host.openGate();
  }

  /** What the recognizer heard (the session's transcript events). */
  heard(e: VoiceEvent): void {
    if (e.type === 'transcript_final') this.spotted(e.text, true);
    else if (e.type === 'transcript_partial') this.spotted(e.text, false);
  }

  /** Words heard on the line (the session's recognizer, or the detector's phrase spotter). */
  spotted(text: string, final: boolean): void {
    if (!this.listening) return;
    if (this.#screening) return this.#screeningWords(text, final);
    this.#act(this.#detector.words(text, final, this.#audioMs));
  }

  #act(events: AmdEvent[]): void {
    for (const e of events) {
      if (e.type === 'verdict') this.#verdict(e);
      else if (e.type === 'revised') this.#revised(e);
      else this.#greetingEnd(e);
    }
    if (this.#detector.done && !this.#screening) this.#finished = true;
  }

  /** A screened call, frame by frame: answer the assistant once it has finished asking; give up if nobody picks up. */
  #screen(): void {
    const sc = this.#screening;
    if (sc?.step === 'asking') {
      const line = this.#detector.line();
      if (line.speaking || line.quietMs < SCREENING_REPLY_SILENCE_MS) return;
      this.#screening = { step: 'waiting', sinceMs: this.#audioMs, others: 0 };
      this.#host.answerScreening(this.#spec.screeningResponse);
    } else if (sc?.step === 'waiting' && this.#audioMs - sc.sinceMs >= SCREENING_PICKUP_TIMEOUT_MS) {
      this.#endScreening();
      this.#host.hangUp('inactivity_timeout');
    }
  }

  /**
   * Words while screening. Before the response, the assistant is still asking. After it, words with
   * a screening phrase are the assistant's ("stay on the line while I see if this person is
   * available"); the person picking up says hello: the first final without a screening phrase that
   * holds a pickup word ("hello", "yes", "this is", "speaking"), or the second one without it (a
   * misheard hand-over line holds neither a phrase nor a hello), starts the conversation.
   */
  #screeningWords(text: string, final: boolean): void {
    const sc = this.#screening;
    if (sc?.step !== 'waiting' || !final) return;
    const words = text.trim();
    if (words === '' || findPhrases(words).some((p) => p.cls === 'screening')) return;
    if (!PICKUP_WORDS.test(words) && sc.others === 0) {
      sc.others++;
      return;
    }
    this.#endScreening();
    this.#host.pickedUp();
  }

  #endScreening(): void {
    this.#screening = { step: 'done' };
    this.#finished = true;
  }

  #verdict(e: Extract<AmdEvent, { type: 'verdict' }>): void {
    this.#host.emit({ type: 'machine_detection', answeredBy: e.answeredBy, atMs: e.atMs, cues: e.cues });
    switch (e.answeredBy) {
      case 'fax':
        return this.#host.hangUp('fax_detected');
      case 'intercept':
        return this.#host.hangUp('number_unreachable');
      case 'machine_start':
        this.#machine = true;
        if (this.#spec.action === 'hangup') return this.#host.hangUp('machine_detected');
        if (this.#spec.action === 'leave_message') {
          this.#host.holdForMachine();
          // Made while the greeting plays: the message starts the moment the beep ends.
          if (this.#spec.message !== undefined) this.#host.prepareLine?.(this.#spec.message);
          return this.#host.verdictReached(true);
        }
        // continue: the agent talks on, to the machine's words too.
        this.#openGate();
        return this.#host.verdictReached(false);
      case 'screening':
        // Its words wait (dropped at the pickup: they were the assistant's); the agent answers it.
        this.#screening = { step: 'asking' };
        return this.#host.holdForScreening();
      default:
        // human, ivr, unknown: the conversation goes on.
        this.#openGate();
        return this.#host.verdictReached(false);
    }
  }

  /**
   * A machine verdict taken back by words: a screening assistant is answered as on a screening
   * verdict; a person gets the conversation back (the agent opens again when it had stopped to wait
   * for a beep; with "continue" it never stopped).
   */
  #revised(e: Extract<AmdEvent, { type: 'revised' }>): void {
    this.#host.emit({ type: 'machine_detection_revised', answeredBy: e.answeredBy, atMs: e.atMs, cues: e.cues });
    this.#machine = false;
    if (e.answeredBy === 'screening') {
      this.#screening = { step: 'asking' };
      return this.#host.holdForScreening();
    }
    this.#host.pickedUp();
    this.#openGate();
  }

  #greetingEnd(e: Extract<AmdEvent, { type: 'greeting_end' }>): void {
    this.#host.emit({ type: 'machine_detection_ended', answeredBy: e.answeredBy, atMs: e.atMs, cues: e.cues, ...(e.beepHz !== undefined ? { beepHz: e.beepHz } : {}) });
    if (this.#machine && this.#spec.action === 'leave_message' && this.#spec.message !== undefined) {
      this.#host.endWithLine(this.#spec.message, 'voicemail_left');
    }
  }
}

/** Makes a detector for a call (src/amd/detector.ts createMachineDetector, or a test's). */
export type MachineDetectorFactory = (settings: AmdSettings, sampleRate: 8000 | 16000) => MachineDetector;

/** What hears the callee's words for the detector, besides the session's own transcripts. */
export interface MachineEars {
  /**
   * A phrase spotter (src/voice/phrase-spotter.ts), started at the answer with the detector's phrases
   * and stopped once the policy needs no more words: words for a session that has no recognizer of
   * its own (speech-to-speech).
   */
  spotter?: SttProvider;
  /** Hold a sound-only machine verdict for the words (AmdSettings.wordsExpected); measured not to pay (BENCHMARKS.md). */
  wordsExpected?: boolean;
  /** The session's recognizer transcribes the callee (AmdSettings.wordsComing); a spotter implies it. */
  wordsComing?: boolean;
  /** Told when the spotter fails (the detector goes on with sound and the session's words). */
  onSpotterError?: (err: unknown) => void;
  /**
   * The session's clock: time with no audio from the far end (a sender that sends nothing before it
   * speaks, or stops during silence, RFC 3551 §4.1) still passes for the detector, as lost frames,
   * so its deadlines are time since the answer and the verdict always comes. Absent: audio time only.
   */
  clock?: Clock;
}

/** No audio for this long: the detector is told the frames it did not get (ordinary jitter stays under it). */
export const AUDIO_GAP_MS = 200;
/** How often the line is checked for such a gap while the detector listens. */
const GAP_CHECK_MS = 100;

/**
 * Runs the policy on a leg: from the answer, every callee frame goes to the detector (at the leg's
 * rate, 8 or 16 kHz) and to the phrase spotter, if any. leave_message needs the greeting's end, so its
 * detector always looks for it. Returns where the session's events go, so the detector also gets the
 * words the session's recognizer hears.
 */
export function watchForMachine(leg: Leg, spec: MachineSpec, factory: MachineDetectorFactory, host: MachineHost, ears: MachineEars = {}): (e: VoiceEvent) => void {
  let policy: AnsweringMachinePolicy | undefined;
  let offAudio: (() => void) | undefined;
  let gapTimer: TimerHandle | undefined;
  const spotting = new AbortController();
  let offEarly: (() => void) | undefined;
  const off = leg.on((e) => {
    if (e.type === 'ringing' && e.earlySampleRate !== undefined && !offEarly && leg.onEarlyAudio) {
      offEarly = watchEarlyMedia(leg.onEarlyAudio.bind(leg), e.earlySampleRate, host);
    } else if (e.type === 'answered') {
      offEarly?.();
      const rate = e.sampleRate === 16000 ? 16000 : 8000;
      const wordsExpected = ears.wordsExpected === true;
      const wordsComing = ears.wordsComing === true || ears.spotter !== undefined;
      const settings: AmdSettings = {
        ...spec.settings,
        ...(spec.action === 'leave_message' ? { mode: 'detect_message_end' } : {}),
        ...(wordsExpected ? { wordsExpected } : {}),
        ...(wordsComing ? { wordsComing } : {}),
      };
      const p = new AnsweringMachinePolicy(spec, factory(settings, rate), host);
      policy = p;
      const spotter = ears.spotter ? startSpotter(ears.spotter, e.sampleRate, spotting.signal, p, ears.onSpotterError) : undefined;
      const clock = ears.clock;
      const answeredAt = clock?.now() ?? 0;
      const empty = new Int16Array(0);
      /** The frames that did not come, as lost frames, once the gap is longer than jitter. */
      const catchUp = () => {
        if (!clock || !p.listening) return;
        const behind = clock.now() - answeredAt - p.audioMs;
        if (behind < AUDIO_GAP_MS) return;
        for (let ms = behind; ms >= 20 && p.listening; ms -= 20) p.push(empty, e.sampleRate);
      };
      const watch = () => {
        if (!clock || !p.listening) return;
        gapTimer = clock.setTimer(GAP_CHECK_MS, () => {
          catchUp();
          watch();
        });
      };
      watch();
      offAudio = leg.onAudio?.((frame) => {
        catchUp();
        p.push(frame, e.sampleRate);
        if (!spotter) return;
        if (p.listening) spotter.push(frame);
        else if (!spotting.signal.aborted) spotting.abort();
      });
    } else if (e.type === 'ended') {
      offEarly?.();
      if (gapTimer) ears.clock?.clearTimer(gapTimer);
      spotting.abort();
      offAudio?.();
      off();
    }
  });
  return (e) => policy?.heard(e);
}

/**
 * Early media before the answer (src/amd/early-intercept.ts): SIT there is a network intercept, so the
 * call is cancelled at once and ends `number_unreachable`, seconds before the carrier's own final
 * response (or the ring timeout). The verdict is reported as any other, with the `early_media` cue;
 * its time counts from the early media's start. Returns the unsubscribe.
 */
function watchEarlyMedia(onEarlyAudio: NonNullable<Leg['onEarlyAudio']>, sampleRate: number, host: MachineHost): () => void {
  const watch = new EarlyIntercept(sampleRate === 16000 ? 16000 : 8000);
  const off = onEarlyAudio((frame) => {
    const atMs = watch.push(frame);
    if (atMs === undefined || host.over) return;
    off();
    host.emit({ type: 'machine_detection', answeredBy: 'intercept', atMs, cues: ['sit_tones', 'early_media'] });
    host.hangUp('number_unreachable');
  });
  return off;
}

/** The spotter's stream: its finals go to the policy as they come; an error stops it (the call goes on). */
function startSpotter(spotter: SttProvider, rate: number, signal: AbortSignal, policy: AnsweringMachinePolicy, onError?: (err: unknown) => void): SttStream | undefined {
  let stream: SttStream;
  try {
    stream = spotter.start({ sampleRate: rate, signal, vocabulary: SPOTTER_PHRASES });
  } catch (err) {
    onError?.(err);
    return undefined;
  }
  void (async () => {
    try {
      for await (const ev of stream) {
        if (ev.type === 'final') policy.spotted(ev.text, true);
        else if (ev.type === 'partial') policy.spotted(ev.text, false);
        else if (ev.type === 'error' && !signal.aborted) onError?.(ev.error);
      }
    } catch (err) {
      onError?.(err);
    }
  })();
  return stream;
}
