/**
 * A persona's turn-taking, as a pure state machine on an injected clock: it is told when the agent
 * starts and stops talking (energy VAD; "stops" = turn_silence_ms of silence), what words the agent
 * said (speech recognition, when the persona has a recognizer for the leg's rate) and when its own audio finished playing, and
 * answers with actions (play tones, say, beep, start recording, hang up).
 *
 * - On answer: `tones` (each pass one action, repeated as asked), then the person's `answer_line` or the
 *   machine's `greeting` (then hang up with hangup_after_greeting), then the `beep`, then it listens
 *   (and records, with `record`). The agent talking meanwhile is remembered, not answered: its turn
 *   ends with its silence, so the persona never talks over the agent beyond its opening.
 * - The persona waits for the agent to finish its turn, then says its next line. With words heard, the
 *   first remaining line whose `when` keywords the agent said is chosen, else the first remaining line
 *   without `when`; without words (no recognizer, nothing recognized) lines go in order.
 * - Recognition settles ~0.5 s after the speech ends: the persona waits up to wordsWaitMs for it.
 * - `interrupt`: the next line starts after that much agent speech, without waiting for silence.
 * - It hangs up after a line with then: 'hangup', after its last line (unless hangup_after_last_line is
 *   false), at hangup_after_ms after answering, or when the agent stays silent for idle_hangup_ms.
 */
import type { Clock } from '../time/clock.js';
import { NamedTimers } from '../time/named-timers.js';
import { containsKeyword, words } from '../voice/flow/match.js';
import type { Persona, PersonaLine } from './persona.js';
import { beepOf, type ToneSegment } from './tones.js';

export type TurnAction =
  /** `voice` / `espeakVoice`: the line's own voice, when it names one (else the persona's). */
  | { readonly type: 'say'; readonly text: string; readonly kind: 'answer' | 'greeting' | 'line'; readonly voice?: string; readonly espeakVoice?: string }
  /** One pass over the persona's tone segments. */
  | { readonly type: 'tones'; readonly segments: readonly ToneSegment[]; readonly pass: number }
  | { readonly type: 'beep'; readonly hz: number; readonly ms: number }
  | { readonly type: 'start_recording' }
  | { readonly type: 'hangup'; readonly reason: TurnHangupReason };

export type TurnHangupReason = 'last_line' | 'line_says_hangup' | 'after_greeting' | 'hangup_after_ms' | 'agent_idle';

export type TurnState =
  | 'idle' | 'tones' | 'answering' | 'greeting' | 'beep' | 'listening' | 'agent_speaking' | 'awaiting_words' | 'pausing' | 'speaking' | 'done';

export const DEFAULT_TURN_SILENCE_MS = 700;
export const DEFAULT_IDLE_HANGUP_MS = 20_000;
/** How long to wait after the agent's turn for the recognizer's result (pocketsphinx: ~0.4-0.5 s). */
export const DEFAULT_WORDS_WAIT_MS = 1500;

export class PersonaTurns {
  private s: TurnState = 'idle';
  private next = 0;
  private heard: string[] = [];
  private speaking: PersonaLine | undefined;
  /** The VAD's view, whatever our state: an agent turn that began while we talked is still a turn. */
  private agentTalking = false;
  private tonePasses = 0;
  private recording = false;
  private readonly timers: NamedTimers;
  /** Lines said, in order (for tests and logs). */
  readonly said: string[] = [];

  constructor(
    private readonly persona: Persona,
    private readonly deps: {
      readonly clock: Clock;
      readonly act: (a: TurnAction) => void;
      /** True when agent speech is recognized into words (a recognizer that takes the leg's rate). */
      readonly hearsWords: boolean;
      readonly wordsWaitMs?: number;
    },
  ) {
    this.timers = new NamedTimers(deps.clock);
  }

  get state(): TurnState {
    return this.s;
  }

  /** The call was answered. */
  start(): void {
    if (this.s !== 'idle') return;
    const p = this.persona;
    if (p.hangup_after_ms !== undefined) this.timers.set('hangup-after', p.hangup_after_ms, () => this.hangup('hangup_after_ms'));
    if (p.tones) this.playTones();
    else this.opening();
  }

  agentSpeechStart(): void {
    this.agentTalking = true;
    if (this.s === 'listening' || this.s === 'awaiting_words') {
      this.timers.clear('idle');
      this.timers.clear('words');
      if (this.s === 'listening') this.heard = [];
      this.s = 'agent_speaking';
      const i = this.persona.interrupt;
      if (i && this.next < this.persona.lines.length) {
        this.timers.set('interrupt', i.after_agent_speech_ms, () => {
          if (this.s === 'agent_speaking') this.reply();
        });
      }
    }
  }

  /** The agent's turn ended (turn_silence_ms of silence after speech). */
  agentSpeechEnd(): void {
    this.agentTalking = false;
    if (this.s !== 'agent_speaking') return;
    this.timers.clear('interrupt');
    if (!this.deps.hearsWords) {
      this.reply();
      return;
    }
    this.s = 'awaiting_words';
    this.timers.set('words', this.deps.wordsWaitMs ?? DEFAULT_WORDS_WAIT_MS, () => {
      if (this.s === 'awaiting_words') this.reply();
    });
  }

  /** A recognized utterance of the agent. */
  agentSaid(text: string): void {
    if (this.s === 'done') return;
    this.heard.push(...words(text));
    if (this.s === 'awaiting_words') this.reply();
  }

  /** Our last say/beep finished playing. */
  playbackDone(): void {
    switch (this.s) {
      case 'tones': {
        const repeat = this.persona.tones?.repeat ?? 1;
        if (repeat === 'until_hangup' || this.tonePasses < repeat) this.playTones();
        else this.opening();
        return;
      }
      case 'answering':
        this.listen();
        return;
      case 'greeting':
        if (this.persona.hangup_after_greeting === true) this.hangup('after_greeting');
        else this.afterGreeting();
        return;
      case 'beep':
        this.listen();
        return;
      case 'speaking': {
        const line = this.speaking;
        this.speaking = undefined;
        const following = this.persona.lines[this.next];
        if (line?.then === 'hangup') this.hangup('line_says_hangup');
        else if (line?.then === 'next' && following) {
          this.next += 1;
          this.sayLine(following);
        } else if (this.next >= this.persona.lines.length && this.persona.hangup_after_last_line !== false) this.hangup('last_line');
        else this.listen();
        return;
      }
      default:
        return;
    }
  }

  /** The call is over (either side hung up): no more actions. */
  stop(): void {
    this.s = 'done';
    this.timers.clearAll();
  }

  private playTones(): void {
    const segments = this.persona.tones?.segments ?? [];
    this.s = 'tones';
    this.tonePasses += 1;
    this.deps.act({ type: 'tones', segments, pass: this.tonePasses });
  }

  /** What is said on picking up, after any tones: a person's answer line or a machine's greeting. */
  private opening(): void {
    const p = this.persona;
    if (p.answer_line !== undefined) {
      this.s = 'answering';
      this.deps.act({ type: 'say', text: p.answer_line, kind: 'answer' });
    } else if (p.greeting !== undefined) {
      this.s = 'greeting';
      this.deps.act({ type: 'say', text: p.greeting, kind: 'greeting' });
    } else this.afterGreeting();
  }

  private afterGreeting(): void {
    const beep = beepOf(this.persona.beep);
    if (beep) {
      this.s = 'beep';
      this.deps.act({ type: 'beep', ...beep });
      return;
    }
    this.listen();
  }

  private listen(): void {
    if (this.s === 'done') return;
    if (this.persona.record === true && !this.recording) {
      this.recording = true;
      this.deps.act({ type: 'start_recording' });
    }
    this.s = 'listening';
    this.heard = [];
    if (this.agentTalking) {
      // The agent started while we were talking and is still at it: its turn ends with its silence.
      this.s = 'awaiting_words';
      this.agentSpeechStart();
      return;
    }
    this.timers.set('idle', this.persona.idle_hangup_ms ?? DEFAULT_IDLE_HANGUP_MS, () => {
      if (this.s === 'listening') this.hangup('agent_idle');
    });
  }

  private reply(): void {
    this.timers.clear('words');
    this.timers.clear('interrupt');
    const line = this.pick();
    if (!line) {
      if (this.persona.hangup_after_last_line !== false) this.hangup('last_line');
      else this.listen();
      return;
    }
    this.sayLine(line);
  }

  /** Says a line, after its pause_before_ms of silence (the persona's turn all the same). */
  private sayLine(line: PersonaLine): void {
    this.speaking = line;
    const say = (): void => {
      this.s = 'speaking';
      this.said.push(line.say);
      this.deps.act({
        type: 'say', text: line.say, kind: 'line',
        ...(line.voice !== undefined ? { voice: line.voice } : {}),
        ...(line.espeak_voice !== undefined ? { espeakVoice: line.espeak_voice } : {}),
      });
    };
    if ((line.pause_before_ms ?? 0) > 0) {
      this.s = 'pausing';
      this.timers.set('pause', line.pause_before_ms ?? 0, () => {
        if (this.s === 'pausing') say();
      });
    } else say();
  }

  /**
   * Keyword match among the remaining lines when words were heard, else line order. A `then: "next"`
   * line is a hand-over (the screening assistant's last words): matching never skips past it.
   */
  private pick(): PersonaLine | undefined {
    const remaining = this.persona.lines.slice(this.next);
    if (remaining.length === 0) return undefined;
    const handOver = remaining.findIndex((l) => l.then === 'next');
    const candidates = handOver >= 0 ? remaining.slice(0, handOver + 1) : remaining;
    let idx = 0;
    if (this.heard.length > 0) {
      const byWords = candidates.findIndex((l) => l.when !== undefined && l.when.agent_said_any.some((k) => containsKeyword(this.heard, k)));
      const plain = candidates.findIndex((l) => l.when === undefined);
      idx = byWords >= 0 ? byWords : plain >= 0 ? plain : 0;
    }
    this.next += idx + 1;
    return remaining[idx];
  }

  private hangup(reason: TurnHangupReason): void {
    if (this.s === 'done') return;
    this.stop();
    this.deps.act({ type: 'hangup', reason });
  }
}
