/**
 * The grammar a closed-vocabulary recognizer (soundswallower) listens with, built from what the
 * dialogue can hear at that point: the phrases and keywords given (a flow's branch keywords, a
 * sandbox persona's cues and the agent lines it expects), yes/no words and digits that any phone
 * conversation has, and a loop of common words. The loop is what keeps out-of-grammar speech from
 * being forced onto a keyword ("well, maybe later" must not come out as "yes"): the decoder can
 * always explain a sound with a filler word instead. A filler word that sounds one phone away from a
 * keyword (two, for keywords of up to three phones) is left out, since it would compete with the keyword
 * itself ("best" or "ask" vs "yes").
 *
 * The grammar is JSGF (W3C-style "Java Speech Grammar Format" 1.0, the format the decoder parses).
 */
import { editDistance } from '../../text/edit-distance.js';

/** Words every conversation may answer with: yes/no and their usual variants, and digits. */
export const BASE_WORDS: readonly string[] = [
  // Not "yep", "nope" or "ok": they would take the place of the "yes", "no" and "okay" a flow branches on.
  'yes', 'yeah', 'sure', 'okay', 'no', 'not', 'right', 'correct', 'fine',
  'zero', 'oh', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
  'hello', 'hi', 'bye', 'goodbye', 'thanks', 'thank', 'you', 'please', 'sorry',
];

/**
 * Common conversational words: the garbage loop that soaks up speech outside the expected words.
 * Not "ask" or "help": on phone audio they were heard for a leading "yes" and "no" (bench/stt-grammar.ts).
 */
export const FILLER_WORDS: readonly string[] = `a about after again ah ahead all also am an and any anything are around as at
away back bad be because been before being better bit but by call called calling can could day did do does done down each either else
even ever every for from get give go going good got great had has have he hear her here him his hold how i if in is it just keep
know last later leave let like little look lot make may maybe me mean mind minute moment more morning much must my need never new nice
nothing now of off on only or other our out over pretty probably quick quite really said say see she should so some something soon
sounds speak still talk tell than that the their them then there they thing think this those though through time to today tomorrow too
try um uh up us very wait want was way we week well were what when where which who why will with work would wrong yet your`
  .split(/\s+/)
  .filter((w) => w !== '');

export interface GrammarDictionary {
  /** The word's pronunciation (space-separated phones), or null when the dictionary lacks it. */
  lookup(word: string): string | null;
}

export interface BuiltGrammar {
  readonly jsgf: string;
  /** The words the grammar holds (keywords, base words and fillers). */
  readonly words: readonly string[];
  /** Words of the given phrases the dictionary has no pronunciation for: not listened for. */
  readonly skipped: readonly string[];
}

/** Lower case words of a phrase (punctuation dropped; "don't" kept whole). */
export function phraseWords(phrase: string): string[] {
  return phrase
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, ' ')
    .split(' ')
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w !== '');
}

/**
 * A JSGF token: words of letters, digits and apostrophes as they are (JSGF 1.0 allows an apostrophe
 * in a token, and the decoder keeps a quoted token's quotes, so "you're" quoted is a word the
 * dictionary lacks and the whole grammar is refused), anything else quoted.
 */
function token(w: string): string {
  return /^[a-z0-9']+$/.test(w) ? w : `"${w}"`;
}

/** Edit distance of two phone sequences, capped at 3 (we only ask "at most two apart"). */
function phonesApart(a: readonly string[], b: readonly string[]): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  return Math.min(3, editDistance(a, b));
}

/**
 * The grammar for `phrases` (each a keyword or a whole expected line). An utterance is any sequence
 * of expected phrases, single words of them, base words and fillers; the decoder picks the likeliest.
 */
export function buildGrammar(phrases: readonly string[], dict: GrammarDictionary): BuiltGrammar {
  const skipped = new Set<string>();
  const known = (w: string): boolean => {
    if (dict.lookup(w) !== null) return true;
    skipped.add(w);
    return false;
  };
  const sequences: string[][] = [];
  const keywords = new Set<string>();
  for (const p of phrases) {
    const ws = phraseWords(p);
    const heard = ws.filter(known);
    for (const w of heard) keywords.add(w);
    // A phrase with a word we cannot hear is still listened for as its other words.
    if (heard.length > 1 && heard.length === ws.length) sequences.push(heard);
  }
  for (const w of BASE_WORDS) if (dict.lookup(w) !== null) keywords.add(w);
  const keyPhones = [...keywords].map((w) => (dict.lookup(w) ?? '').split(' '));
  const fillers = FILLER_WORDS.filter((w) => {
    if (keywords.has(w)) return false;
    const pron = dict.lookup(w);
    if (pron === null) return false;
    const ph = pron.split(' ');
    return keyPhones.every((k) => phonesApart(k, ph) > (k.length <= 3 ? 2 : 1));
  });
  const words = [...keywords, ...fillers];
  const alternatives = [...new Set(sequences.map((s) => s.map(token).join(' ')))];
  // JSGF weights (/w/) on these alternatives changed nothing measurable here, so none are given.
  const jsgf = [
    '#JSGF V1.0;',
    'grammar outcall;',
    `public <utterance> = (${alternatives.length > 0 ? '<phrase> | ' : ''}<key> | <filler>)+;`,
    ...(alternatives.length > 0 ? [`<phrase> = ${alternatives.map((a) => `(${a})`).join(' | ')};`] : []),
    `<key> = ${[...keywords].map(token).join(' | ')};`,
    `<filler> = ${(fillers.length > 0 ? fillers : ['um']).map(token).join(' | ')};`,
    '',
  ].join('\n');
  return { jsgf, words, skipped: [...skipped] };
}
