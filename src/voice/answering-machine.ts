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
 * action: there is nobody to talk to. Every verdict is reported (`machine_detection`, and
 * `machine_detection_ended` for a machine's greeting end).
 */
import type { AmdEvent, AmdSettings, MachineDetector } from '../amd/types.js';
import type { VoiceEndReason, VoiceEvent } from './events.js';
import type { Leg } from './leg.js';
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
  /** Make this line's audio now, to be said later by endWithLine without a synthesis delay (optional). */
  prepareLine?(text: string): void;
  /** Say a last line, then end for `reason`. */
  endWithLine(text: string, reason: VoiceEndReason): void;
  hangUp(reason: VoiceEndReason): void;
  emit(e: VoiceEvent): void;
  /** The call is hanging up or over: nothing more to do. */
  readonly over: boolean;
}

export class AnsweringMachinePolicy {
  readonly #spec: MachineSpec;
  readonly #detector: MachineDetector;
  readonly #host: MachineHost;
  #machine = false;
  #finished = false;
  #audioMs = 0;

  constructor(spec: MachineSpec, detector: MachineDetector, host: MachineHost) {
    this.#spec = spec;
    this.#detector = detector;
    this.#host = host;
    host.awaitVerdict();
  }

  /** One 20 ms frame of the callee's audio, from the answer on. */
  push(frame: Int16Array, sampleRate: number): void {
    if (this.#finished || this.#host.over) return;
    this.#audioMs += (frame.length * 1000) / sampleRate;
    this.#act(this.#detector.push(frame));
  }

  /** What the recognizer heard (the session's transcript events). */
  heard(e: VoiceEvent): void {
    if (this.#finished || this.#host.over) return;
    if (e.type === 'transcript_partial' || e.type === 'transcript_final') this.#act(this.#detector.words(e.text, e.type === 'transcript_final', this.#audioMs));
  }

  #act(events: AmdEvent[]): void {
    for (const e of events) {
      if (e.type === 'verdict') this.#verdict(e);
      else this.#greetingEnd(e);
    }
    if (this.#detector.done) this.#finished = true;
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
        return this.#host.verdictReached(false);
      default:
        // human, screening, ivr, unknown: the conversation goes on.
        return this.#host.verdictReached(false);
    }
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

/**
 * Runs the policy on a leg: from the answer, every callee frame goes to the detector (at the leg's
 * rate, 8 or 16 kHz). leave_message needs the greeting's end, so its detector always looks for it.
 * Returns where the session's events go, so the detector also gets the words the recognizer hears.
 */
export function watchForMachine(
  leg: Leg,
  spec: MachineSpec,
  factory: MachineDetectorFactory,
  host: MachineHost,
  /** The session's recognizer transcribes the callee (a cascaded session): the detector may wait for its words. */
  wordsExpected = false,
): (e: VoiceEvent) => void {
  let policy: AnsweringMachinePolicy | undefined;
  let offAudio: (() => void) | undefined;
  const off = leg.on((e) => {
    if (e.type === 'answered') {
      const rate = e.sampleRate === 16000 ? 16000 : 8000;
      const settings: AmdSettings = { ...spec.settings, ...(spec.action === 'leave_message' ? { mode: 'detect_message_end' } : {}), ...(wordsExpected ? { wordsExpected } : {}) };
      const p = new AnsweringMachinePolicy(spec, factory(settings, rate), host);
      policy = p;
      offAudio = leg.onAudio?.((frame) => p.push(frame, e.sampleRate));
    } else if (e.type === 'ended') {
      offAudio?.();
      off();
    }
  });
  return (e) => policy?.heard(e);
}
