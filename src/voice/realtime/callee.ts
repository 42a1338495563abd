/**
 * The callee's side of the transcript from the server's events: speech_started/stopped give each
 * user item's times (audio ms since the first appended frame, i.e. since the answer, as the server
 * counts them), conversation.item.input_audio_transcription.completed gives its words, later.
 */
import type { TranscriptTurn } from '../events.js';

export class CalleeTranscript {
  readonly #items = new Map<string, { startMs: number; endMs: number | undefined; key: number }>();
  #lastEnd = 0;

  /** `key`: the line's place in the transcript's order. */
  started(itemId: string, audioStartMs: number | undefined, key: number): void {
    this.#items.set(itemId, { startMs: audioStartMs ?? this.#lastEnd, endMs: undefined, key });
  }

  stopped(itemId: string, audioEndMs: number | undefined, key: number): void {
    const it = this.#items.get(itemId);
    const end = audioEndMs ?? it?.startMs ?? this.#lastEnd;
    this.#lastEnd = Math.max(this.#lastEnd, end);
    if (it) it.endMs = end;
    else this.#items.set(itemId, { startMs: end, endMs: end, key });
  }

  /** Items whose words have not come yet (said, or still being said). */
  get pending(): boolean {
    return this.#items.size > 0;
  }

  /** An item the server's turn detection has not ended: the callee was still speaking. */
  get speaking(): boolean {
    for (const it of this.#items.values()) if (it.endMs === undefined) return true;
    return false;
  }

  /** The call ended while the callee spoke: their open items end where the audio sent did. */
  endOpen(audioEndMs: number): void {
    for (const it of this.#items.values()) if (it.endMs === undefined) it.endMs = Math.max(it.startMs, audioEndMs);
    this.#lastEnd = Math.max(this.#lastEnd, audioEndMs);
  }

  /** The transcript line for a transcribed item, or undefined for empty words. */
  completed(itemId: string, transcript: string): { turn: TranscriptTurn; key: number } | undefined {
    const it = this.#items.get(itemId);
    this.#items.delete(itemId);
    const text = transcript.trim();
    if (text === '') return undefined;
    const startMs = Math.round(it?.startMs ?? this.#lastEnd);
    return { turn: { speaker: 'callee', text, startMs, endMs: Math.round(it?.endMs ?? startMs), interrupted: false }, key: it?.key ?? Number.MAX_SAFE_INTEGER };
  }
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
