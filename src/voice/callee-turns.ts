/**
 * When the callee has finished a turn. Two signals must agree: the VAD says the callee stopped
 * speaking, and the recognizer has settled the words (a final). They arrive in either order, so
 * this keeps both and yields the utterance once it has them. Pure: no timers, no I/O.
 */

export interface CalleeUtterance {
  text: string;
  /** Clock time speech started / ended (the final's time when the VAD missed the speech). */
  startMs: number;
  endMs: number;
  /** How long after the speech ended the final arrived (0 when it came first). */
  sttFinalMs: number;
}

export class CalleeTurns {
  #speaking = false;
  #onsetAudioMs = 0;
  #startAt: number | undefined;
  #endAt: number | undefined;
  #text = '';
  #finalAt: number | undefined;

  get speaking(): boolean {
    return this.#speaking;
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

  speechEnd(now: number): CalleeUtterance | undefined {
    this.#speaking = false;
    this.#endAt = now;
    return this.#take();
  }

  final(text: string, now: number): CalleeUtterance | undefined {
    if (text.trim() === '') return undefined;
    this.#text = `${this.#text} ${text}`.trim();
    this.#finalAt = now;
    return this.#take();
  }

  #take(): CalleeUtterance | undefined {
    if (this.#speaking || this.#text === '' || this.#finalAt === undefined) return undefined;
    const end = this.#endAt ?? this.#finalAt;
    const u: CalleeUtterance = { text: this.#text, startMs: this.#startAt ?? end, endMs: end, sttFinalMs: Math.max(0, this.#finalAt - end) };
    this.#text = '';
    this.#finalAt = undefined;
    this.#startAt = undefined;
    this.#endAt = undefined;
    return u;
  }
}
