/**
 * Levenshtein distance between two sequences (words, phones): the fewest insertions, deletions and
 * substitutions that turn one into the other. Used where recognizer output is matched loosely
 * against what was expected (src/amd/phrases.ts, src/providers/stt/grammar.ts).
 */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
