/**
 * The cadence of the answer, from frame energy: when speech starts, how long the greeting runs (speech
 * bridged over pauses shorter than a person's wait), how many word-ish bursts it holds, and how long
 * the line has been quiet since. A person says a few words and waits; a recording speaks on.
 * The noise floor is the quietest frame of the last FLOOR_WINDOW_MS, so line noise at any level is
 * not speech, and a frame is speech when well above it (tones are handled apart: never speech).
 */
import {
  BURST_RISE_DB, FLOOR_START_DBFS, FLOOR_WINDOW_MS, FRAME_MS, HUMAN_WAIT_SILENCE_MS, SPEECH_MIN_DBFS, SPEECH_OVER_FLOOR_DB, SPEECH_START_MS,
} from './thresholds.js';

export interface CadenceState {
  /** Where the first speech started (audio ms), if any. */
  firstSpeechMs: number | undefined;
  /** The greeting: from the first speech to the end of the last speech frame, with no wait in between. */
  greetingStartMs: number | undefined;
  greetingEndMs: number | undefined;
  /** A wait (silence >= HUMAN_WAIT_SILENCE_MS) has followed the greeting: it is over. */
  greetingClosed: boolean;
  /** Word-ish bursts (syllable nuclei after a dip) in the greeting. */
  bursts: number;
  /** Speech is going on (the last frames were speech). */
  inSpeech: boolean;
  /** End of the last frame with sound (speech or tone), audio ms. */
  lastSoundEndMs: number;
  /** End of the last speech frame, audio ms (undefined before any speech). */
  lastSpeechEndMs: number | undefined;
}

export class Cadence {
  readonly #levels: number[] = [];
  readonly #window: number;
  #speechFrames = 0;
  #pendingStartMs = 0;
  #dip = Infinity;
  #peak = -Infinity;
  #armed = true;
  readonly state: CadenceState = {
    firstSpeechMs: undefined,
    greetingStartMs: undefined,
    greetingEndMs: undefined,
    greetingClosed: false,
    bursts: 0,
    inSpeech: false,
    lastSoundEndMs: 0,
    lastSpeechEndMs: undefined,
  };

  constructor(frameMs = FRAME_MS) {
    this.#window = Math.max(1, Math.round(FLOOR_WINDOW_MS / frameMs));
  }

  /** The noise floor now (dBFS). */
  get floor(): number {
    return this.#levels.length === 0 ? FLOOR_START_DBFS : Math.min(...this.#levels);
  }

  /** One frame: its level, whether it is a steady tone, where it starts and ends (audio ms). */
  step(dbfs: number, tonal: boolean, startMs: number, endMs: number): void {
    const level = Math.max(-100, dbfs);
    const floor = this.floor;
    // A lost frame (no audio: -Infinity) is quiet, but says nothing of the line's noise floor.
    if (dbfs !== -Infinity) {
      this.#levels.push(level);
      if (this.#levels.length > this.#window) this.#levels.shift();
    }
    const st = this.state;
    const speech = !tonal && level >= SPEECH_MIN_DBFS && level >= floor + SPEECH_OVER_FLOOR_DB;
    if (tonal) st.lastSoundEndMs = endMs;
    if (!speech) {
      this.#speechFrames = 0;
      st.inSpeech = false;
      // A wait is quiet: a tone after the words (a beep) is the machine still sounding, not a person waiting.
      if (st.greetingEndMs !== undefined && !st.greetingClosed && endMs - st.lastSoundEndMs >= HUMAN_WAIT_SILENCE_MS) st.greetingClosed = true;
      this.#trackBurst(level, false);
      return;
    }
    if (this.#speechFrames === 0) this.#pendingStartMs = startMs;
    this.#speechFrames++;
    if (this.#speechFrames * (endMs - startMs) < SPEECH_START_MS && !st.inSpeech) return;
    if (!st.inSpeech) {
      st.inSpeech = true;
      st.firstSpeechMs ??= this.#pendingStartMs;
      st.greetingStartMs ??= this.#pendingStartMs;
    }
    st.lastSoundEndMs = endMs;
    st.lastSpeechEndMs = endMs;
    if (!st.greetingClosed) {
      st.greetingEndMs = endMs;
      this.#trackBurst(level, true);
    }
  }

  /** A burst is counted when the level rises BURST_RISE_DB over the dip before it; it re-arms after falling as far. */
  #trackBurst(level: number, speech: boolean): void {
    if (this.state.greetingClosed) return;
    this.#dip = Math.min(this.#dip, level);
    if (this.#armed && speech && level - this.#dip >= BURST_RISE_DB) {
      this.state.bursts++;
      this.#armed = false;
      this.#peak = level;
    } else if (!this.#armed) {
      this.#peak = Math.max(this.#peak, level);
      if (this.#peak - level >= BURST_RISE_DB) {
        this.#armed = true;
        this.#dip = level;
      }
    }
  }
}
