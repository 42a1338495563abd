import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { SentenceChunker } from '../../src/voice/sentence-chunker.js';

function feed(deltas: string[], maxChars?: number): string[] {
  const c = new SentenceChunker(maxChars === undefined ? {} : { maxChars });
  const out: string[] = [];
  for (const d of deltas) out.push(...c.push(d));
  out.push(...c.flush());
  return out;
}

test('splits at sentence ends across arbitrary delta boundaries', () => {
  assert.deepEqual(feed(['Hel', 'lo there', '! How are', ' you? Fine.', ' Bye']), ['Hello there!', 'How are you?', 'Fine.', 'Bye']);
});

test('emits a sentence as soon as the whitespace after it arrives, not before', () => {
  const c = new SentenceChunker();
  assert.deepEqual(c.push('It costs 3.'), []);
  assert.deepEqual(c.push('5 dollars. Ok'), ['It costs 3.5 dollars.']);
  assert.deepEqual(c.flush(), ['Ok']);
});

test('does not split after abbreviations or initials', () => {
  assert.deepEqual(feed(['Dr. Smith and Mrs. Jones met J. Doe at 5 p.m. today. Next.']), [
    'Dr. Smith and Mrs. Jones met J. Doe at 5 p.m. today.',
    'Next.',
  ]);
});

test('keeps punctuation runs and closing quotes with the sentence', () => {
  assert.deepEqual(feed(['Really?! He said "yes." Then left...  ok']), ['Really?!', 'He said "yes."', 'Then left...', 'ok']);
});

test('cuts a run-on at the last space before maxChars', () => {
  const out = feed(['one two three four five six seven'], 14);
  assert.deepEqual(out, ['one two three', 'four five six', 'seven']);
  for (const c of out) assert.ok(c.length <= 14);
});

test('no empty chunks from whitespace-only input', () => {
  assert.deepEqual(feed(['  ', '\n']), []);
});
