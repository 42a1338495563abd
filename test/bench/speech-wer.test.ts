/**
 * bench/speech-wer.ts: the word error rate it reports (checked on known strings), and its --short
 * variant run end to end with the real engines (every local voice x pocketsphinx 16 kHz, 8 kHz,
 * mu-law, A-law), so the bench cannot rot between full runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { normalizeWords, sumErrors, wer, wordErrors } from '../../bench/helpers/wer.js';
import { localProviders } from '../../src/providers/registry.js';
import { skipReason } from '../helpers/require-tool.js';

test('normalization: case, punctuation, alternate pronunciations and engine tokens do not count', () => {
  assert.deepEqual(normalizeWords("Yes, I'm HERE -- at 3 o'clock!"), ['yes', "i'm", 'here', 'at', '3', "o'clock"]);
  assert.deepEqual(normalizeWords('<s> to(3) the [NOISE] <sil> end </s>'), ['to', 'the', 'end']);
  assert.deepEqual(normalizeWords("  'quoted'  "), ['quoted']);
  assert.deepEqual(normalizeWords(''), []);
});

test('word errors: substitutions, deletions and insertions of the minimal alignment', () => {
  assert.deepEqual(wordErrors('yes that works for me', 'Yes, that works for me.'), { substitutions: 0, deletions: 0, insertions: 0, words: 5 });
  assert.deepEqual(wordErrors('yes that works for me', 'yes that work for me'), { substitutions: 1, deletions: 0, insertions: 0, words: 5 });
  assert.deepEqual(wordErrors('please call me back', 'please me back'), { substitutions: 0, deletions: 1, insertions: 0, words: 4 });
  assert.deepEqual(wordErrors('call me back', 'call me back now'), { substitutions: 0, deletions: 0, insertions: 1, words: 3 });
  assert.deepEqual(wordErrors('a b c', ''), { substitutions: 0, deletions: 3, insertions: 0, words: 3 });
  assert.deepEqual(wordErrors('', 'x y'), { substitutions: 0, deletions: 0, insertions: 2, words: 0 });
  // One deletion and one insertion (2), not three substitutions.
  assert.deepEqual(wordErrors('i would like to', 'would like to go'), { substitutions: 0, deletions: 1, insertions: 1, words: 4 });
  // Two words swapped: 2 errors either way (2 substitutions, or a deletion and an insertion); ties go to substitutions.
  assert.deepEqual(wordErrors('monday tuesday', 'tuesday monday'), { substitutions: 2, deletions: 0, insertions: 0, words: 2 });
});

test('WER sums errors over sentences (not a mean of rates), and can exceed 100 %', () => {
  const all = [wordErrors('one two three four', 'one two three four'), wordErrors('five', 'six')];
  assert.deepEqual(sumErrors(all), { substitutions: 1, deletions: 0, insertions: 0, words: 5 });
  assert.equal(wer(sumErrors(all)), 0.2);
  assert.equal(wer(wordErrors('yes', 'yes yes yes')), 2);
  assert.equal(wer(sumErrors([])), 0);
});

const skip = skipReason('pocketsphinx_continuous') || skipReason('flite') || skipReason('espeak-ng');

test('bench/speech-wer.ts --short: every local voice x every recognizer config gets a WER; latency paced in real time', { skip }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/speech-wer.ts', '--short', '--jobs', '4', '--json'], { maxBuffer: 1 << 24, timeout: 540_000 });
  const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
    sentences: number;
    words: number;
    wer: Array<{ tts: string; stt: string; wer: number; errors: { words: number }; split: number }>;
    latency: Array<{ stt: string; n: number; missed: number; p50: number }>;
  };
  assert.ok(out.sentences >= 3 && out.sentences <= 8, `a handful of sentences: ${out.sentences}`);
  const sttNames = ['ps16', 'ps8', 'ps8-mulaw', 'ps8-alaw'];
  for (const p of localProviders('tts')) {
    for (const stt of sttNames) {
      const rows = out.wer.filter((r) => (r.tts === p || r.tts.startsWith(`${p}:`)) && r.stt === stt);
      assert.ok(rows.length >= 1, `${p} x ${stt} measured`);
      for (const r of rows) {
        assert.equal(r.errors.words, out.words);
        assert.ok(Number.isFinite(r.wer) && r.wer >= 0, `${r.tts} ${r.stt}: ${r.wer}`);
      }
    }
  }
  // The bench really hears: flite's slt voice on wideband audio is the engine's best case (a few %).
  const best = out.wer.find((r) => r.tts === 'flite:slt' && r.stt === 'ps16');
  assert.ok(best && best.wer < 0.5, `flite:slt heard at 16 kHz: ${JSON.stringify(best)}`);
  assert.deepEqual(out.latency.map((r) => r.stt), sttNames);
  for (const r of out.latency) assert.equal(r.n + r.missed, 2, JSON.stringify(r));
});
