/**
 * Parses what `pocketsphinx_continuous -time yes` prints on stdout: per utterance, one hypothesis
 * line, then one line per segment `word start end posterior` (seconds from the first sample of the
 * stream), ending with `</s>`. Chunks may split lines anywhere, and a build may route log lines to
 * stdout, so the parser works line by line, skips anything shaped like a log line, and tells
 * segment lines from hypotheses by their shape (a hypothesis never has numeric fields).
 */
export interface PsWord {
  word: string;
  startS: number;
  endS: number;
  prob: number;
}

export interface PsUtterance {
  /** The hypothesis line ('' when the engine printed none, e.g. only noise). */
  text: string;
  /** Real words only: fillers, silences and sentence markers removed. */
  words: PsWord[];
}

const SEGMENT = /^(\S+) (-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/i;
const LOG = /^(INFO|WARN(ING)?|ERROR|FATAL(_ERROR)?|DEBUG|SYSTEM_ERROR)\s*:/;
// <s>, </s>, <sil>, [NOISE], ++UH++, (NULL): markers, not words the callee said.
const NON_WORD = /^(<.*>|\[.*\]|\+\+.*\+\+|\(NULL\))$/;

export class PocketsphinxOutputParser {
  #partialLine = '';
  #pending: PsUtterance | undefined;

  /** True when an utterance has started but its closing `</s>` has not arrived yet. */
  get hasPending(): boolean {
    return this.#pending !== undefined;
  }

  /** Feeds stdout text; returns the utterances now complete. */
  push(chunk: string): PsUtterance[] {
    const text = this.#partialLine + chunk;
    const lines = text.split('\n');
    this.#partialLine = lines.pop() ?? '';
    const out: PsUtterance[] = [];
    for (const raw of lines) this.#line(raw.replace(/\r$/, ''), out);
    return out;
  }

  /** Completes whatever is pending (the engine exited, or went quiet mid-utterance). */
  flush(): PsUtterance[] {
    const out: PsUtterance[] = [];
    if (this.#partialLine !== '') {
      this.#line(this.#partialLine, out);
      this.#partialLine = '';
    }
    this.#complete(out);
    return out;
  }

  #line(line: string, out: PsUtterance[]): void {
    if (line.trim() === '' || LOG.test(line)) return;
    const seg = SEGMENT.exec(line);
    if (seg) {
      const [, word = '', start = '0', end = '0', prob = '0'] = seg;
      this.#pending ??= { text: '', words: [] };
      if (word === '</s>') {
        this.#complete(out);
        return;
      }
      if (!NON_WORD.test(word)) {
        // Alternate pronunciations come back as `hello(2)`: the word is `hello`.
        this.#pending.words.push({ word: word.replace(/\(\d+\)$/, ''), startS: Number(start), endS: Number(end), prob: Number(prob) });
      }
      return;
    }
    // Anything else is a hypothesis line, which opens a new utterance.
    this.#complete(out);
    this.#pending = { text: line.trim(), words: [] };
  }

  #complete(out: PsUtterance[]): void {
    const u = this.#pending;
    this.#pending = undefined;
    if (!u) return;
    if (u.text === '' && u.words.length > 0) u.text = u.words.map((w) => w.word).join(' ');
    if (u.text !== '') out.push(u);
  }
}
