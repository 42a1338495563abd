/**
 * The agent's playout sink: utterances (one TTS request each) go into the call leg in order, and
 * the sink knows how much of each the callee actually heard.
 *
 * The leg has no way to take back frames it has queued, so "stop at once" is only possible if we
 * never hand it much: frames wait here and are written just `leadMs` ahead of what the leg plays,
 * topped up by a pacing tick on the injected clock and on the leg's 'drained'. clear() then drops
 * everything not yet written; what was written will still be heard, and is reported as played.
 */
import { FrameChunker, samplesPerFrame } from '../media/index.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import type { LegEvent, Leg } from './leg.js';

export interface UtteranceReport {
  id: string;
  text: string;
  /** Audio of this utterance the callee heard (or will hear: already in the leg's queue). */
  playedMs: number;
  /**
   * The utterance's length: the audio synthesized, or while its audio is still arriving, at least
   * the length its text would take at a typical speaking rate (SPEECH_MS_PER_CHAR).
   */
  totalMs: number;
  /** The words of `text` prorated by playedMs / totalMs (all of it when fully played). */
  heardText: string;
}

export type PlayoutEvent =
  | { type: 'first_frame'; id: string }
  | { type: 'played'; report: UtteranceReport }
  | { type: 'idle' };

interface Utterance {
  id: string;
  text: string;
  frames: Int16Array[];
  chunker: FrameChunker;
  /** Frames of this utterance written to the leg. */
  written: number;
  /** Frames received from TTS. */
  received: number;
  finished: boolean;
  /** Cumulative leg-written ms at which this utterance's first frame was written. */
  startAtMs: number | undefined;
}

/**
 * A typical speaking rate (about 60 ms a character, ~170 words a minute), for the length of an
 * utterance cut while its audio was still arriving. A cloud TTS streams at about real time, so
 * what was received by then is only the start of the utterance: taken as the whole, it would
 * report most of the words as heard when the callee heard only the first few.
 */
export const SPEECH_MS_PER_CHAR = 60;

export interface PlayoutOptions {
  sampleRate: number;
  clock: Clock;
  /** How far ahead of the listener the leg is fed; bounds how much plays after clear(). */
  leadMs?: number;
}

export class Playout {
  readonly #leg: Leg;
  readonly #clock: Clock;
  readonly #frameMs = 20;
  readonly #frameSize: number;
  readonly #leadMs: number;
  readonly #queue: Utterance[] = [];
  readonly #listeners = new Set<(e: PlayoutEvent) => void>();
  readonly #unsubscribe: () => void;
  /** ms written to the leg since this sink was made; minus leg.queuedMs = ms played. */
  #writtenMs = 0;
  #timer: TimerHandle | undefined;
  #idle = true;
  #closed = false;

  constructor(leg: Leg, opts: PlayoutOptions) {
    this.#leg = leg;
    this.#clock = opts.clock;
    this.#frameSize = samplesPerFrame(opts.sampleRate);
    this.#leadMs = opts.leadMs ?? 60;
    this.#unsubscribe = leg.on((e: LegEvent) => {
      if (e.type === 'drained') this.#pump();
    });
  }

  on(listener: (e: PlayoutEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Whether anything is queued or still playing. */
  get busy(): boolean {
    return !this.#idle;
  }

  /** Opens an utterance; its audio follows with push() and ends with finish(). */
  start(id: string, text: string): void {
    if (this.#closed) return;
    this.#idle = false;
    this.#queue.push({ id, text, frames: [], chunker: new FrameChunker(this.#frameSize), written: 0, received: 0, finished: false, startAtMs: undefined });
  }

  /** PCM16 at the leg's rate, any chunk size. Unknown (cleared) ids are ignored. */
  push(id: string, pcm: Int16Array): void {
    const u = this.#find(id);
    if (!u || u.finished) return;
    for (const f of u.chunker.push(pcm)) {
      u.frames.push(f);
      u.received++;
    }
    this.#pump();
  }

  /** No more audio for this utterance. */
  finish(id: string): void {
    const u = this.#find(id);
    if (!u || u.finished) return;
    const tail = u.chunker.flush();
    if (tail) {
      u.frames.push(tail);
      u.received++;
    }
    u.finished = true;
    this.#pump();
  }

  /** Played / total of an utterance still in the sink (undefined once reported as played or cleared). */
  report(id: string): UtteranceReport | undefined {
    const u = this.#find(id);
    return u ? this.#report(u) : undefined;
  }

  /**
   * Barge-in: drops all audio not yet written, at once. Returns, for each utterance that had not
   * fully played, what was heard of it (playedMs 0 for those never started), in order.
   */
  clear(): UtteranceReport[] {
    const out = this.#queue.map((u) => this.#report(u));
    this.#queue.length = 0;
    this.#stopTimer();
    this.#becomeIdleIfDone();
    return out;
  }

  /** Stops for good (hang-up): nothing more is written. */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
    this.#stopTimer();
    this.#unsubscribe();
  }

  #find(id: string): Utterance | undefined {
    return this.#queue.find((u) => u.id === id);
  }

  #playedTotalMs(): number {
    return Math.max(0, this.#writtenMs - this.#leg.queuedMs);
  }

  #report(u: Utterance): UtteranceReport {
    const writtenMs = u.written * this.#frameMs;
    // Written frames can no longer be taken back from the leg: they count as heard.
    const playedMs = u.startAtMs === undefined ? 0 : writtenMs;
    const receivedMs = u.received * this.#frameMs;
    const totalMs = u.finished ? receivedMs : Math.max(receivedMs, u.text.trim().length * SPEECH_MS_PER_CHAR);
    return { id: u.id, text: u.text, playedMs, totalMs, heardText: prorate(u.text, totalMs === 0 ? 0 : playedMs / totalMs) };
  }

  /** Feeds the leg up to leadMs ahead, reports finished utterances, and arms the pacing tick. */
  #pump(): void {
    if (this.#closed) return;
    while (this.#leg.queuedMs < this.#leadMs) {
      const u = this.#queue[0];
      if (!u) break;
      const frame = u.frames.shift();
      if (frame) {
        if (u.startAtMs === undefined) {
          u.startAtMs = this.#writtenMs;
          this.#emit({ type: 'first_frame', id: u.id });
        }
        this.#leg.write(frame);
        u.written++;
        this.#writtenMs += this.#frameMs;
        continue;
      }
      if (!u.finished) break; // wait for more TTS audio; never skip ahead to a later utterance
      this.#queue.shift();
      this.#emit({ type: 'played', report: this.#report(u) });
    }
    // Drop finished-and-written utterances whose audio is all in the leg, then check idle.
    const head = this.#queue[0];
    if (head && head.finished && head.frames.length === 0) {
      this.#queue.shift();
      this.#emit({ type: 'played', report: this.#report(head) });
      this.#pump();
      return;
    }
    if (this.#queue.length > 0) this.#armTimer();
    else this.#becomeIdleIfDone();
  }

  #becomeIdleIfDone(): void {
    if (this.#idle || this.#queue.length > 0) return;
    if (this.#playedTotalMs() < this.#writtenMs) {
      // Still audible in the leg: idle comes with 'drained' (or the next tick).
      this.#armTimer();
      return;
    }
    this.#idle = true;
    this.#emit({ type: 'idle' });
  }

  #armTimer(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = this.#clock.setTimer(this.#frameMs, () => {
      this.#timer = undefined;
      this.#pump();
    });
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #emit(e: PlayoutEvent): void {
    for (const l of [...this.#listeners]) l(e);
  }
}

/** The first round(fraction * n) words of text; a word counts as heard only if its share played. */
export function prorate(text: string, fraction: number): string {
  const words = text.trim().split(/\s+/).filter((w) => w.length > 0);
  if (fraction >= 1) return words.join(' ');
  const n = Math.floor(words.length * Math.max(0, fraction));
  return words.slice(0, n).join(' ');
}
