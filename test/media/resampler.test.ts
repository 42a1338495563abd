import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resampler, resample } from '../../src/media/resampler.js';

function sine(freq: number, rate: number, n: number, amp = 10000): Int16Array {
  const a = new Int16Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate));
  return a;
}

/** Amplitude of the `freq` component (single-bin DFT), skipping the filter's start-up transient. */
function amplitudeAt(x: Int16Array, freq: number, rate: number, skip: number): number {
  const w = (2 * Math.PI * freq) / rate;
  let re = 0;
  let im = 0;
  const end = x.length - skip;
  for (let i = skip; i < end; i++) {
    re += (x[i] as number) * Math.cos(w * i);
    im += (x[i] as number) * Math.sin(w * i);
  }
  return (2 * Math.hypot(re, im)) / (end - skip);
}

const db = (r: number): number => 20 * Math.log10(r);
const PAIRS: Array<[number, number]> = [
  [8000, 16000], [16000, 8000], [22050, 8000], [22050, 16000], [24000, 8000], [24000, 16000],
  [44100, 8000], [44100, 16000], [48000, 8000], [48000, 16000],
];

for (const [inRate, outRate] of PAIRS) {
  test(`${inRate} → ${outRate}: passband flat, length right, no aliasing`, () => {
    const r = new Resampler(inRate, outRate);
    const chunk = inRate / 50; // 20 ms chunks, as the pipeline feeds it (22050/50 is not an integer)
    const x = sine(1000, inRate, inRate); // 1 s
    const parts: Int16Array[] = [];
    for (let k = 0; k < x.length; k += Math.floor(chunk)) parts.push(r.process(x.subarray(k, k + Math.floor(chunk))));
    const total = parts.reduce((a, p) => a + p.length, 0);
    const y = new Int16Array(total);
    let off = 0;
    for (const p of parts) {
      y.set(p, off);
      off += p.length;
    }
    // streaming output = one-shot output minus the flushed tail
    assert.ok(Math.abs(total - outRate) < 40, `got ${total} samples for 1 s`);
    const ampDb = db(amplitudeAt(y, 1000, outRate, outRate / 20) / 10000);
    assert.ok(Math.abs(ampDb) < 0.2, `1 kHz gain ${ampDb.toFixed(2)} dB`);
    // 3.2 kHz (passband edge region for 8 kHz) keeps its level within 1 dB
    const edge = 3200;
    const ye = resample(sine(edge, inRate, inRate), inRate, outRate);
    const edgeDb = db(amplitudeAt(ye, edge, outRate, outRate / 20) / 10000);
    assert.ok(Math.abs(edgeDb) < 1, `${edge} Hz gain ${edgeDb.toFixed(2)} dB`);

    // A tone above the lower Nyquist must be removed, not folded back into the band.
    const lowNyq = Math.min(inRate, outRate) / 2;
    const tone = lowNyq + 1500;
    if (tone < inRate / 2) {
      const ya = resample(sine(tone, inRate, inRate), inRate, outRate);
      const folded = outRate - tone; // where an alias would land (tone is within (outRate/2, outRate))
      const aliasDb = db(amplitudeAt(ya, Math.abs(folded), outRate, outRate / 20) / 10000);
      assert.ok(aliasDb < -60, `alias at ${folded} Hz only ${aliasDb.toFixed(1)} dB down`);
    }
  });
}

test('8k → 16k up-sampling leaves no image of a 3 kHz tone at 5 kHz', () => {
  const y = resample(sine(3000, 8000, 8000), 8000, 16000);
  assert.ok(db(amplitudeAt(y, 3000, 16000, 800) / 10000) > -1);
  assert.ok(db(amplitudeAt(y, 5000, 16000, 800) / 10000) < -60);
});

test('streaming in chunks equals one-shot processing (state is carried across calls)', () => {
  const x = sine(440, 44100, 44100 / 2);
  const oneShot = resample(x, 44100, 16000);
  const r = new Resampler(44100, 16000);
  const parts: number[] = [];
  for (let k = 0; k < x.length; k += 137) parts.push(...r.process(x.subarray(k, k + 137)));
  parts.push(...r.flush());
  assert.deepEqual(Int16Array.from(parts), oneShot);
});

test('same rate is a copy; bad rates throw', () => {
  const x = new Int16Array([1, 2, 3]);
  const y = new Resampler(8000, 8000).process(x);
  assert.deepEqual(y, x);
  assert.notEqual(y, x);
  assert.throws(() => new Resampler(0, 8000), RangeError);
  assert.throws(() => new Resampler(8000.5, 8000), RangeError);
});

test('full-scale input saturates instead of wrapping', () => {
  const sq = new Int16Array(4000).map((_, i) => (Math.floor(i / 20) % 2 ? 32767 : -32768));
  const y = resample(sq, 8000, 16000);
  // Gibbs overshoot would exceed int16; wrapping would create sign flips next to full-scale samples.
  let flips = 0;
  for (let i = 1; i < y.length; i++) if (Math.abs((y[i] as number) - (y[i - 1] as number)) > 60000) flips++;
  assert.equal(flips, 0);
});
