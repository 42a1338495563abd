/**
 * When the callee has finished a turn. Two signals must agree: the VAD says the callee stopped
 * speaking, and the recognizer has settled the words (a final) up to where the speech stopped. They
 * arrive in either order, so this keeps both and yields the utterance once it has them. Pure: no
 * timers, no I/O.
 *
 * Why "up to where the speech stopped": a recognizer with a shorter end-of-speech silence than the
 * VAD splits "Yes, I have a minute." at the comma into two finals while the VAD hears one segment.
 * On a loaded host the second final can come after the VAD's speech end; taking the turn then would
 * answer "yes" alone and treat "I have a minute" as a second turn. So a final that ends well before
 * the speech does (audio times, STT and VAD on one timeline) leaves the turn open; `settle()` is the
 * caller's way out when the words for the rest never come (noise the recognizer drops).
 */

export interface CalleeUtterance {
  text: string;
  /** Clock time speech started / ended (the final's time when the VAD missed the speech). */
  startMs: number;
  endMs: number;
  /** How long after the speech ended the final arrived (0 when it came first). */
  sttFinalMs: number;
}

/**
 * How far a final's audio end may fall short of the VAD's speech end and still cover it: the two
 * engines place the end of the last word differently (trailing consonants, hangover), by well under
 * this; the pause inside a sentence that splits finals is longer than this.
 */
export const FINAL_COVERS_SLACK_MS = 250;

export class CalleeTurns {
  #speaking = false;
  #onsetAudioMs = 0;
  #startAt: number | undefined;
  #endAt: number | undefined;
  #text = '';
  #finalAt: number | undefined;
  /** Audio time (the recognizer's timeline) the VAD's last speech segment ended at. */
  #speechEndAudioMs: number | undefined;
  /** Audio time the recognizer's finals have settled up to. */
  #settledAudioMs = 0;

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Words of the current utterance are held (a new speech segment continues it). */
  get hasWords(): boolean {
    return this.#text !== '';
  }

  /** Words are held for a turn that waits on the recognizer (not speaking, final short of the speech end). */
  get waiting(): boolean {
    return !this.#speaking && this.#text !== '';
  }

  /** ms of audio spoken in the current segment up to audio time `audioMs` (0 when silent). */
  speechMs(audioMs: number): number {
    return this.#speaking ? audioMs - this.#onsetAudioMs : 0;
  }

  speechStart(now: number, onsetAudioMs: number): void {
    this.#speaking = true;
    this.#onsetAudioMs = onsetAudioMs;
    // A pause inside one utterance (start, end, start again before the final) keeps the first start.
    this.#startAt ??= now;
    this.#endAt = undefined;
  }

  /** `endAudioMs`: where the speech ended on the recognizer's timeline (absent: not known, not checked). */
  speechEnd(now: number, endAudioMs?: number): CalleeUtterance | undefined {
    this.#speaking = false;
    this.#endAt = now;
    this.#speechEndAudioMs = endAudioMs;
    return this.#take(false);
  }

  /** `endAudioMs`: where the final's audio ends. An empty final settles audio but adds no words. */
  final(text: string, now: number, endAudioMs?: number): CalleeUtterance | undefined {
    if (endAudioMs !== undefined) this.#settledAudioMs = Math.max(this.#settledAudioMs, endAudioMs);
    if (text.trim() === '') return this.#text === '' ? undefined : this.#take(false);
    this.#text = `${this.#text} ${text}`.trim();
    this.#finalAt = now;
    return this.#take(false);
  }

  /** The recognizer had its time: the words held so far are the turn (undefined while speaking or with none). */
  settle(): CalleeUtterance | undefined {
    return this.#take(true);
  }

  #take(force: boolean): CalleeUtterance | undefined {
    if (this.#speaking || this.#text === '' || this.#finalAt === undefined) return undefined;
    const end = this.#speechEndAudioMs;
    if (!force && end !== undefined && this.#settledAudioMs < end - FINAL_COVERS_SLACK_MS) return undefined;
    const endAt = this.#endAt ?? this.#finalAt;
    const u: CalleeUtterance = { text: this.#text, startMs: this.#startAt ?? endAt, endMs: endAt, sttFinalMs: Math.max(0, this.#finalAt - endAt) };
    this.#text = '';
    this.#finalAt = undefined;
    this.#startAt = undefined;
    this.#endAt = undefined;
    this.#speechEndAudioMs = undefined;
    return u;
  }
}
