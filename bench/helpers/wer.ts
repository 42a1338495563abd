/**
 * Word error rate, as speech recognition reports it: the word-level Levenshtein distance
 * (substitutions + deletions + insertions) between the reference and the hypothesis, over the
 * number of reference words. Both texts are normalized first so that case, punctuation and the
 * recognizer's alternate-pronunciation marks ("to(3)") do not count as errors.
 */

/** Lower case, alternate-pronunciation marks and fillers dropped, punctuation (but apostrophes) as spaces. */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/\(\d+\)/g, '') // pocketsphinx's "word(2)": the same word, another pronunciation
    .replace(/<\/?s>|<sil>|\[[a-z_]+\]/g, ' ') // sentence markers, silence and noise tokens
    .replace(/[^a-z0-9']+/g, ' ')
    .split(' ')
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w !== '');
}

export interface WordErrors {
  substitutions: number;
  deletions: number;
  insertions: number;
  /** Reference words (the denominator). */
  words: number;
}

/** Edit operations of the minimal alignment of hyp to ref (ties: substitution, then deletion). */
export function wordErrors(reference: string, hypothesis: string): WordErrors {
  const r = normalizeWords(reference);
  const h = normalizeWords(hypothesis);
  // d[i][j]: [cost, subs, dels, ins] aligning r[0..i) with h[0..j).
  type Cell = [number, number, number, number];
  let prev: Cell[] = Array.from({ length: h.length + 1 }, (_, j): Cell => [j, 0, 0, j]);
  for (let i = 1; i <= r.length; i++) {
    const row: Cell[] = [[i, 0, i, 0]];
    for (let j = 1; j <= h.length; j++) {
      const diag = prev[j - 1]!;
      const same = r[i - 1] === h[j - 1];
      const sub: Cell = [diag[0] + (same ? 0 : 1), diag[1] + (same ? 0 : 1), diag[2], diag[3]];
      const up = prev[j]!;
      const del: Cell = [up[0] + 1, up[1], up[2] + 1, up[3]];
      const left = row[j - 1]!;
      const ins: Cell = [left[0] + 1, left[1], left[2], left[3] + 1];
      let best = sub;
      if (del[0] < best[0]) best = del;
      if (ins[0] < best[0]) best = ins;
      row.push(best);
    }
    prev = row;
  }
  const [, substitutions, deletions, insertions] = prev[h.length]!;
  return { substitutions, deletions, insertions, words: r.length };
}

/** Errors summed over many sentences; WER = errors / reference words (not a mean of per-sentence rates). */
export function sumErrors(all: readonly WordErrors[]): WordErrors {
  return all.reduce((a, e) => ({
    substitutions: a.substitutions + e.substitutions,
    deletions: a.deletions + e.deletions,
    insertions: a.insertions + e.insertions,
    words: a.words + e.words,
  }), { substitutions: 0, deletions: 0, insertions: 0, words: 0 });
}

export function wer(e: WordErrors): number {
  return e.words === 0 ? 0 : (e.substitutions + e.deletions + e.insertions) / e.words;
}
