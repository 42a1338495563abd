import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProviderError } from '../../src/providers/errors.js';
import { EspeakNgTts } from '../../src/providers/tts/espeak-ng.js';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';
import { skipReason } from '../helpers/require-tool.js';

const skip = skipReason('espeak-ng');
const TEXT = 'Hello, this is Outcall calling to confirm your appointment on Tuesday.';

async function collect(it: AsyncIterable<Int16Array>): Promise<{ samples: Int16Array; chunks: number }> {
  const parts: Int16Array[] = [];
  for await (const c of it) parts.push(c);
  const samples = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    samples.set(p, off);
    off += p.length;
  }
  return { samples, chunks: parts.length };
}

const rms = (s: Int16Array) => Math.sqrt(s.reduce((a, v) => a + v * v, 0) / Math.max(1, s.length));

test('espeak-ng speaks real audio at the leg rate', { skip }, async () => {
  const tts = new EspeakNgTts();
  const narrow = await collect(tts.synthesize({ text: TEXT, sampleRate: 8000 }));
  const wide = await collect(tts.synthesize({ text: TEXT, sampleRate: 16000 }));
  const seconds = narrow.samples.length / 8000;
  assert.ok(seconds > 2 && seconds < 10, `about a sentence of speech, got ${seconds} s`);
  assert.ok(rms(narrow.samples) > 500, `not silence: rms ${rms(narrow.samples)}`);
  const ratio = wide.samples.length / narrow.samples.length;
  assert.ok(ratio > 1.95 && ratio < 2.05, `16 kHz has twice the samples of 8 kHz, got ${ratio}`);
});

test('aborting stops the stream', { skip }, async () => {
  const tts = new EspeakNgTts();
  const ac = new AbortController();
  let got = 0;
  for await (const c of tts.synthesize({ text: TEXT.repeat(20), sampleRate: 8000, signal: ac.signal })) {
    got += c.length;
    ac.abort();
  }
  assert.ok(got > 0 && got < 8000 * 30, `stopped early after ${got} samples`);
});

test('a missing engine is a typed, non-retryable error', async () => {
  const tts = new EspeakNgTts({ binary: '/nonexistent/espeak-ng' });
  await assert.rejects(collect(tts.synthesize({ text: 'hi', sampleRate: 8000 })), (err: unknown) => {
    assert.ok(err instanceof ProviderError);
    assert.equal(err.code, 'provider_unavailable');
    assert.equal(err.retryable, false);
    return true;
  });
});

test('the WAV stream parser handles headers split across chunks and odd byte boundaries', () => {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(0xffffffff, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(22050, 24);
  header.writeUInt32LE(44100, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(0xffffffff, 40);
  const pcm = Buffer.alloc(10);
  [1, -2, 300, -32768, 32767].forEach((v, i) => pcm.writeInt16LE(v, i * 2));
  const all = Buffer.concat([header, pcm]);
  const p = new WavStreamParser();
  const out: number[] = [];
  for (const cut of [[0, 7], [7, 40], [40, 45], [45, 48], [48, 54]]) out.push(...p.push(all.subarray(cut[0], cut[1])));
  assert.deepEqual(out, [1, -2, 300, -32768, 32767]);
  assert.equal(p.format?.sampleRate, 22050);
  assert.throws(() => new WavStreamParser().push(Buffer.from('not a wav file at all')), /not a WAV/);
});
