/**
 * The lifecycle both voice sessions share, the cascaded VoiceSession and the speech-to-speech
 * RealtimeSession: one explicit phase, the named timers, the playout and those waiting on it, the
 * inactivity prompt, the wrap-up at max duration, and the end protocol (a last line, then hang-up,
 * teardown and the `ended` event, exactly once). How the agent hears and speaks stays in each
 * session, behind SessionHooks.
 */
import type { Clock } from '../time/clock.js';
import { NamedTimers } from '../time/named-timers.js';
import type { VoiceEndReason, VoiceEvent } from './events.js';
import type { Leg, LegEvent } from './leg.js';
import { Playout, type UtteranceReport } from './playout.js';
import { linesOf, type ConversationLines, type VoiceSessionOptions } from './policy.js';

export type SessionPhase =
  /** Dialed, not answered: nothing reaches the leg yet (an opening may be prepared meanwhile). */
  | { readonly name: 'ringing' }
  /** Answered, in conversation. */
  | { readonly name: 'live' }
  /** In conversation, the inactivity prompt said: the next silence hangs up. */
  | { readonly name: 'prompted' }
  /**
   * A machine answered and the agent waits, silent and deaf to it, for its greeting to end, to leave
   * a message (a last line) then; no new turns, input or barge-in meanwhile.
   */
  | { readonly name: 'machine' }
  /**
   * A call-screening assistant answered: the agent answers it with one line and waits, deaf to it,
   * for the person to pick up (back to live) or the call to end.
   */
  | { readonly name: 'screening' }
  /** A last line or last turn is under way: no new turns, input or barge-in; the call ends for `reason`. */
  | { readonly name: 'closing'; readonly reason: VoiceEndReason }
  /** All the last words are out: hang up for `reason` once the playout has played them. */
  | { readonly name: 'draining'; readonly reason: VoiceEndReason }
  /** end_requested told and torn down; the leg is hanging up (or the far end already has). */
  | { readonly name: 'hanging_up'; readonly reason: VoiceEndReason }
  /** `ended` told: nothing more happens. */
  | { readonly name: 'ended'; readonly reason: VoiceEndReason };

export type PhaseName = SessionPhase['name'];

/** The only moves a session makes; anything else is a bug and throws (see #to). */
export const TRANSITIONS: { readonly [P in PhaseName]: readonly PhaseName[] } = {
  ringing: ['live', 'hanging_up'],
  live: ['prompted', 'machine', 'screening', 'closing', 'hanging_up'],
  prompted: ['live', 'machine', 'screening', 'closing', 'hanging_up'],
  machine: ['live', 'screening', 'closing', 'hanging_up'],
  screening: ['live', 'closing', 'hanging_up'],
  closing: ['draining', 'hanging_up'],
  draining: ['hanging_up'],
  hanging_up: ['ended'],
  ended: [],
};

/** The shell's own timers; a session adds its own names (T). */
export type ShellTimer = 'max' | 'inactivity' | 'last';

export type ErrorSource = 'stt' | 'llm' | 'tts' | 'vad';

/** What the shell asks of the session around it. */
export interface SessionHooks {
  /** The leg answered: the playout and the max-duration timer already run; start hearing and speaking. */
  answered(sampleRate: number, codec: string): void;
  /** A digit from the callee (only while the call is not over). */
  dtmf(digit: string): void;
  /** The far end hung up: record what was in flight (a transfer's tool call) before the teardown. */
  farEndLeft(): void;
  firstFrame(utteranceId: string): void;
  played(report: UtteranceReport): void;
  /** The playout went idle (waiters already woken; not called when that idle hangs up). */
  idle(): void;
  /** The agent is speaking or about to: the inactivity count does not prompt or hang up then. */
  agentBusy(): boolean;
  /** Stop whatever the agent is saying: a last line cuts in. */
  cut(): void;
  /** Say a fixed line; with endAfter, the call ends for that reason once it has been heard. */
  say(text: string, endAfter?: VoiceEndReason): void;
  /** Stop the session's own work for good (its engines, socket, tools in flight). */
  stop(): void;
}

export interface SessionShellDeps {
  leg: Leg;
  clock: Clock;
  options: VoiceSessionOptions;
  emit?: (e: VoiceEvent) => void;
  hooks: SessionHooks;
  /**
   * Hang up anyway this long after a last line was asked for. For a voice that may never report the
   * line finished or failed (a remote model); absent, the line's own end or failure ends the call.
   */
  lastLineLimitMs?: number;
}

export class SessionShell<T extends string = never> {
  readonly events: VoiceEvent[] = [];
  readonly timers: NamedTimers<ShellTimer | T>;
  readonly lines: ConversationLines;
  readonly #d: SessionShellDeps;
  readonly #h: SessionHooks;
  #phase: SessionPhase = { name: 'ringing' };
  #playout: Playout | undefined;
  /** Clock time of the answer: what the transcript counts from. */
  #answeredAt = 0;
  /** Why the call ends if the far end hangs up now (a transfer in flight), instead of callee_hangup. */
  #remoteEnd: VoiceEndReason | undefined;
  #spokenWaiters: Array<() => void> = [];
  readonly #unsubscribe: () => void;

  constructor(deps: SessionShellDeps) {
    this.#d = deps;
    this.#h = deps.hooks;
    this.timers = new NamedTimers(deps.clock);
    this.lines = linesOf(deps.options);
    this.#unsubscribe = deps.leg.on((e) => this.#onLeg(e));
  }

  get phase(): SessionPhase {
    return this.#phase;
  }

  get ringing(): boolean {
    return this.#phase.name === 'ringing';
  }

  /** Answered and not ending: turns, input, barge-in and the inactivity count are taken. */
  get conversing(): boolean {
    return this.#phase.name === 'live' || this.#phase.name === 'prompted';
  }

  /** The end has begun (a last line, or the hang-up): no new turns. */
  get ending(): boolean {
    return !this.ringing && !this.conversing;
  }

  /** Hanging up or ended: nothing more is sent, said or reported but the end itself. */
  get over(): boolean {
    return this.#phase.name === 'hanging_up' || this.#phase.name === 'ended';
  }

  /** Exists from the answer on. */
  get playout(): Playout | undefined {
    return this.#playout;
  }

  now(): number {
    return this.#d.clock.now();
  }

  emit(e: VoiceEvent): void {
    this.events.push(e);
    this.#d.emit?.(e);
  }

  /** Transcript times count from the answer: the session clock's origin means nothing to a reader. */
  sinceAnswer(t: number): number {
    return Math.max(0, Math.round(t - this.#answeredAt));
  }

  /** Resolves once everything said so far has played out to the callee (or was cut, or the call ended). */
  untilSpoken(): Promise<void> {
    if (!this.#playout?.busy || this.over) return Promise.resolve();
    return new Promise((resolve) => this.#spokenWaiters.push(resolve));
  }

  /** What was said is gone (played, cut or torn down): wakes untilSpoken(). */
  spoken(): void {
    for (const w of this.#spokenWaiters.splice(0)) w();
  }

  /** While set, the far end hanging up ends the call for `reason` (e.g. the transferee leaving after a REFER). */
  expectRemoteEnd(reason: VoiceEndReason | undefined): void {
    this.#remoteEnd = reason;
  }

  /** The callee spoke: they are there after all (a prompt is owed again after the next silence). */
  calleeSpoke(): void {
    if (this.#phase.name === 'prompted') this.#to({ name: 'live' });
    this.timers.clear('inactivity');
  }

  /** Counts the callee's silence: the prompt after inactivityTimeoutMs, then the hang-up after as long again. */
  armInactivity(): void {
    if (!this.conversing) return;
    this.timers.set('inactivity', this.#d.options.inactivityTimeoutMs, () => {
      if (this.#h.agentBusy() || !this.conversing) return;
      if (this.#phase.name === 'prompted') return this.hangUp('inactivity_timeout');
      this.#to({ name: 'prompted' });
      this.#h.say(this.lines.inactivityPrompt);
    });
  }

  /**
   * No new turns from now on: the session lets what is being said finish, then ends for `reason`
   * (the first reason given wins). Before the answer there is nothing to finish: the call is cancelled.
   * False when the call is over already: nothing is left for the session to wind down.
   */
  close(reason: VoiceEndReason): boolean {
    if (this.ringing) this.hangUp(reason);
    else if (this.conversing) this.#to({ name: 'closing', reason });
    return !this.over;
  }

  /**
   * A machine answered: stop talking now (the greeting may be under way) and stop conversing, so its
   * recorded greeting gets no replies; the call then waits for endWithLine (the message) or a hang-up.
   */
  holdForMachine(): void {
    if (!this.conversing) return;
    this.#to({ name: 'machine' });
    this.timers.clear('inactivity');
    this.#h.cut();
  }

  /** A screening assistant answered (or a machine verdict was taken back for one): stop talking now and stop conversing until pickedUp(). */
  holdForScreening(): void {
    if (!this.conversing && this.#phase.name !== 'machine') return;
    this.#to({ name: 'screening' });
    this.timers.clear('inactivity');
    this.#h.cut();
  }

  /** Whether a screening assistant has the line (the agent may say its screening response, nothing else). */
  get screening(): boolean {
    return this.#phase.name === 'screening';
  }

  /** Whether the agent waits out a machine (screening, or a machine's greeting): pickedUp() makes it a conversation. */
  get waitingOut(): boolean {
    return this.#phase.name === 'screening' || this.#phase.name === 'machine';
  }

  /** A person is on the line after screening or a machine verdict taken back: in conversation again (the session opens anew). */
  pickedUp(): void {
    if (this.#phase.name !== 'screening' && this.#phase.name !== 'machine') return;
    this.#to({ name: 'live' });
    this.#h.cut();
  }

  /** Cut what is being said, say a last line (wrap-up, apology, a voicemail message), hang up once it has played. */
  endWithLine(text: string, reason: VoiceEndReason): void {
    // Already saying a last line: it hangs up when it has played.
    if (this.ending && this.#phase.name !== 'machine' && this.#phase.name !== 'screening') return;
    // Nobody to say it to yet.
    if (this.ringing) return this.hangUp(reason);
    this.#to({ name: 'closing', reason });
    this.#h.cut();
    this.#h.say(text, reason);
    const limit = this.#d.lastLineLimitMs;
    if (limit !== undefined && !this.over) this.timers.set('last', limit, () => this.hangUp(reason));
  }

  /**
   * A provider failed: tell it, then end for `reason`. With `apologize` (a voice is left to say it)
   * the apology comes first; without, or when already saying a last line (the apology itself may be
   * what failed), the call hangs up rather than risk dead air.
   */
  fail(source: ErrorSource, err: unknown, reason: VoiceEndReason, apologize: boolean): void {
    if (this.over) return;
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'unknown';
    this.emit({ type: 'error', source, code, message: err instanceof Error ? err.message : String(err), endReason: reason, atMs: this.now() });
    if (!apologize) return this.hangUp(reason);
    const p = this.#phase;
    // The agent's own goodbye gives way to the error; a wrap-up, transfer or earlier error keeps its reason.
    if (p.name === 'closing' || p.name === 'draining') return this.hangUp(p.reason === 'agent_hangup' ? reason : p.reason);
    this.endWithLine(this.lines.apology, reason);
  }

  /** The last words are out: hang up once the callee has heard them (now, if nothing is playing). */
  hangUpWhenIdle(reason: VoiceEndReason): void {
    if (this.over) return;
    if (!this.#playout?.busy) return this.hangUp(reason);
    if (this.#phase.name !== 'draining') this.#to({ name: 'draining', reason });
  }

  hangUp(reason: VoiceEndReason): void {
    if (this.over) return;
    const answered = !this.ringing;
    this.#to({ name: 'hanging_up', reason });
    this.emit({ type: 'end_requested', reason, atMs: this.now() });
    this.#teardown();
    const finish = () => this.#finish(reason);
    // Before the answer the call is cancelled, never answered into silence. A leg that fails to
    // hang up reports that itself; the session still ends, once.
    (answered ? this.#d.leg.hangup() : this.#d.leg.cancel()).then(finish, finish);
  }

  #onLeg(e: LegEvent): void {
    if (e.type === 'answered') this.#answer(e.sampleRate, e.codec);
    else if (e.type === 'dtmf' && !this.over) this.#h.dtmf(e.digit);
    else if (e.type === 'ended' && !this.over) this.#farEndLeft();
  }

  #answer(sampleRate: number, codec: string): void {
    if (!this.ringing) return;
    this.#to({ name: 'live' });
    this.#answeredAt = this.now();
    this.#playout = new Playout(this.#d.leg, { sampleRate, clock: this.#d.clock });
    this.#playout.on((e) => {
      if (e.type === 'first_frame') this.#h.firstFrame(e.id);
      else if (e.type === 'played') this.#h.played(e.report);
      else {
        this.spoken();
        if (this.#phase.name === 'draining') return this.hangUp(this.#phase.reason);
        this.#h.idle();
      }
    });
    this.timers.set('max', this.#d.options.maxDurationMs, () => this.endWithLine(this.lines.wrapUp, 'max_duration_reached'));
    this.#h.answered(sampleRate, codec);
  }

  #farEndLeft(): void {
    const reason = this.#remoteEnd ?? 'callee_hangup';
    this.#to({ name: 'hanging_up', reason });
    this.#h.farEndLeft();
    this.#teardown();
    this.emit({ type: 'end_requested', reason, atMs: this.now() });
    this.#finish(reason);
  }

  #teardown(): void {
    this.timers.clearAll();
    this.#h.stop();
    this.#playout?.close();
    this.spoken();
    this.#unsubscribe();
  }

  #finish(reason: VoiceEndReason): void {
    if (this.#phase.name === 'ended') return;
    this.#to({ name: 'ended', reason });
    this.emit({ type: 'ended', reason, atMs: this.now() });
  }

  #to(next: SessionPhase): void {
    if (!TRANSITIONS[this.#phase.name].includes(next.name)) {
      throw new Error(`voice session: ${this.#phase.name} -> ${next.name} is not a legal move`);
    }
    this.#phase = next;
  }
}
