/**
 * Keyword matching for branch nodes: whole words, any case, so "yes" matches "Yes, please." but
 * not "yesterday". Letters and digits of any script count as word characters; an apostrophe inside
 * a word keeps it whole ("don't"). NFKC folds compatibility forms (full-width letters) before lowering.
 */
export function words(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .split(/[^\p{L}\p{N}']+/u)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w !== '');
}

/** Whether the words of `keyword` appear consecutively among `utteranceWords`. */
export function containsKeyword(utteranceWords: readonly string[], keyword: string): boolean {
  const k = words(keyword);
  if (k.length === 0) return false;
  for (let i = 0; i + k.length <= utteranceWords.length; i++) {
    if (k.every((w, j) => utteranceWords[i + j] === w)) return true;
  }
  return false;
}
