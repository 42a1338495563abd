/**
 * What recorded answers say, as the recognizer streams it: phrase lists per class and a matcher that
 * survives recognizer noise (case, punctuation, apostrophes, and one wrong, missing or extra word inside
 * a phrase of three words or more). Lists are from the prompts of carriers' voicemail, phone
 * assistants' call screening and network announcements; a phrase should be one people rarely say when
 * they answer their own phone. The human list is the other way round: what a person says and a
 * recording does not.
 */
import { editDistance } from '../text/edit-distance.js';

export type PhraseClass = 'voicemail' | 'screening' | 'ivr' | 'intercept' | 'human';

export const PHRASES: Readonly<Record<PhraseClass, readonly string[]>> = {
  // Not "the person you are calling": a partial of a screening prompt ("the person you're calling is
  // using a screening service") would be taken for a voicemail; "(is) not available" covers the greeting.
  voicemail: [
    'leave a message', 'leave me a message', 'leave your message', 'leave your name', 'leave a brief message', 'not available',
    'unavailable', 'after the tone', 'after the beep', 'at the tone', 'at the beep', 'voicemail', 'voice mail', 'mailbox',
    'record your message', 'can\'t come to the phone', 'cannot come to the phone', 'can\'t take your call', 'unable to take your call',
    'you have reached', 'you\'ve reached', 'reached the voicemail', 'get back to you', 'call you back', 'return your call',
    'away from my desk', 'away from the phone', 'is not available', 'please leave', 'when you have finished recording',
  ],
  screening: [
    'using a screening service', 'screening service', 'the person you\'re calling is using', 'say your name', 'state your name',
    'why you\'re calling', 'why you are calling', 'the reason for your call', 'google assistant', 'call screen', 'screening',
    'record your name', 'see if this person is available', 'person is available',
  ],
  ivr: [
    'press one', 'press two', 'press 1', 'press 2', 'press zero', 'for english', 'para español', 'main menu', 'please listen carefully',
    'menu options have changed', 'your call is important', 'please hold', 'speak to a representative', 'speak with a representative', 'dial by name',
  ],
  intercept: [
    'not in service', 'no longer in service', 'has been disconnected', 'check the number', 'please hang up', 'hang up and try again',
    'number you have dialed', 'number you dialed', 'cannot be completed as dialed', 'is not a working number', 'not reachable',
    'your call cannot be completed', 'is temporarily out of service', 'has been changed', 'is not available from your calling area',
  ],
  /**
   * A person at the phone offering to talk, or asking who calls: what a receptionist or a talkative
   * person says, and a recorded greeting does not (it cannot help you now, nor ask who you are).
   * "This is Sam" is left out on purpose: "Hi, this is Sam, leave a message" is a greeting's opening.
   */
  human: [
    'how can i help', 'how may i help', 'can i help you', 'may i help you', 'what can i do for you', 'how can we help', 'speaking',
    'whos calling', 'who is calling', 'who is this', 'whos this',
  ],
};

/** Lower case, apostrophes dropped (can't -> cant), everything else but letters and digits a space. */
export function normalize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[\u2019']/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .split(' ')
    .filter((w) => w.length > 0);
}

/**
 * Words a phrase cannot do without, nor gain: dropping a negation turns "is not available" into "is
 * available" ("I'll see if this person is available", a screening assistant's line) and reverses the
 * meaning; inserting one does the same the other way ("person is available" must not match a
 * voicemail's "the person is not available").
 */
const KEEP = new Set(['not', 'no', 'cant', 'cannot', 'unable']);

/** Word-level edit distance between a phrase and a candidate span. */
const distance = (a: readonly string[], b: readonly string[]): number => editDistance(a, b);

/**
 * Whether `words` hold `phrase`: exactly for phrases of one or two words (one word off would match
 * almost anything), with one word substituted, dropped or inserted *inside* longer ones: the first and
 * last words must be heard as they are ("is not available" must not match "is not in service").
 */
export function containsPhrase(words: readonly string[], phrase: readonly string[]): boolean {
  const m = phrase.length;
  if (m === 0) return false;
  const slack = m >= 3 ? 1 : 0;
  for (let i = 0; i < words.length; i++) {
    for (let len = Math.max(1, m - slack); len <= m + slack && i + len <= words.length; len++) {
      const span = words.slice(i, i + len);
      if (span[0] !== phrase[0] || span[span.length - 1] !== phrase[m - 1]) continue;
      if (phrase.some((w) => KEEP.has(w) && !span.includes(w))) continue;
      if (span.some((w) => KEEP.has(w) && !phrase.includes(w))) continue;
      if (distance(phrase, span) <= slack) return true;
    }
  }
  return false;
}

const NORMALIZED: readonly { cls: PhraseClass; phrase: string; words: string[] }[] = (Object.keys(PHRASES) as PhraseClass[]).flatMap((cls) =>
  PHRASES[cls].map((phrase) => ({ cls, phrase, words: normalize(phrase) })),
);

export interface PhraseHit {
  cls: PhraseClass;
  phrase: string;
}

/** Every listed phrase the text holds, in list order (voicemail, screening, ivr, intercept, human). */
export function findPhrases(text: string): PhraseHit[] {
  const words = normalize(text);
  return NORMALIZED.filter((p) => containsPhrase(words, p.words)).map((p) => ({ cls: p.cls, phrase: p.phrase }));
}
