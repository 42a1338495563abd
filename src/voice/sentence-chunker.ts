/**
 * Turns streamed LLM text into speakable chunks, so TTS can start on the first sentence while the
 * model is still writing. A chunk ends at . ! ? (or …) followed by whitespace, never inside a number
 * ("3.5") or after a common abbreviation ("Dr."), and at the last space before maxChars so a
 * run-on sentence does not hold back the first audio.
 */

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'etc', 'e.g', 'i.e', 'no', 'approx', 'inc', 'ltd', 'co', 'jan', 'feb',
  'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'a.m', 'p.m', 'u.s',
]);

export interface SentenceChunkerOptions {
  /** Longest chunk before splitting at a space regardless of punctuation. */
  maxChars?: number;
}

export class SentenceChunker {
  #buf = '';
  readonly #maxChars: number;

  constructor(opts: SentenceChunkerOptions = {}) {
    this.#maxChars = opts.maxChars ?? 200;
  }

  /** Adds a delta; returns the chunks it completed (trimmed, never empty). */
  push(delta: string): string[] {
    this.#buf += delta;
    const out: string[] = [];
    for (;;) {
      const cut = this.#findCut();
      if (cut === undefined) break;
      const chunk = this.#buf.slice(0, cut).trim();
      this.#buf = this.#buf.slice(cut);
      if (chunk.length > 0) out.push(chunk);
    }
    return out;
  }

  /** The model is done: whatever is left is the last chunk. */
  flush(): string[] {
    const rest = this.#buf.trim();
    this.#buf = '';
    return rest.length > 0 ? [rest] : [];
  }

  /** Index just after a sentence end (the following whitespace must already be here), or a length cut. */
  #findCut(): number | undefined {
    const b = this.#buf;
    for (let i = 0; i < b.length; i++) {
      const c = b[i];
      if (c !== '.' && c !== '!' && c !== '?' && c !== '…') continue;
      // Swallow runs like "?!" or "..." and closing quotes/brackets.
      let j = i + 1;
      while (j < b.length && /[.!?…"'”’)\]]/.test(b[j] ?? '')) j++;
      // We only know a sentence ended once whitespace follows; "3." may become "3.5".
      if (j >= b.length) return this.#lengthCut();
      if (!/\s/.test(b[j] ?? '')) {
        i = j - 1;
        continue;
      }
      if (c === '.' && j === i + 1 && isAbbreviation(b.slice(0, i))) continue;
      return j;
    }
    return this.#lengthCut();
  }

  #lengthCut(): number | undefined {
    if (this.#buf.length <= this.#maxChars) return undefined;
    const space = this.#buf.lastIndexOf(' ', this.#maxChars);
    return space > 0 ? space + 1 : this.#maxChars;
  }
}

/** Whether the word before a period is an abbreviation or a single initial ("J. Smith"). */
function isAbbreviation(before: string): boolean {
  const m = /([A-Za-z][A-Za-z.]*)$/.exec(before);
  if (!m) return false;
  const word = (m[1] ?? '').toLowerCase();
  return ABBREVIATIONS.has(word) || (word.length === 1 && /[A-Z]/.test(m[1] ?? ''));
}
