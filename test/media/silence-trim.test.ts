/** Where a recording's sound starts and ends, by the energy of its 20 ms frames (record.trim_silence). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soundRange, TRIM_SILENCE_THRESHOLD_DBFS, TRIM_SILENCE_THRESHOLD_RMS } from '../../src/media/silence-trim.js';

/** `frames` 20 ms frames at 8 kHz, frame i holding the constant values[i] (0 past the array). */
function plane(frames: number, values: Record<number, number>): Int16Array {
  const p = new Int16Array(frames * 160);
  for (const [i, v] of Object.entries(values)) p.fill(v, Number(i) * 160, (Number(i) + 1) * 160);
  return p;
}

test('the threshold is -50 dBFS: an RMS of about 104', () => {
  assert.equal(TRIM_SILENCE_THRESHOLD_DBFS, -50);
  assert.ok(Math.abs(TRIM_SILENCE_THRESHOLD_RMS - 103.6) < 0.1, `${TRIM_SILENCE_THRESHOLD_RMS}`);
});

test('from the first frame at or over the threshold to the end of the last one', () => {
  assert.deepEqual(soundRange([plane(10, { 3: 104, 6: -2000 })], 8000), { start: 3 * 160, end: 7 * 160 });
  // Just under the threshold is silence.
  assert.deepEqual(soundRange([plane(10, { 2: 103, 3: 104, 8: 103 })], 8000), { start: 3 * 160, end: 4 * 160 });
});

test('a frame is sound when any channel is loud', () => {
  assert.deepEqual(soundRange([plane(10, { 5: 500 }), plane(10, { 2: -500 })], 8000), { start: 2 * 160, end: 6 * 160 });
});

test('all silence is an empty range; all sound the whole; a partial last frame counts', () => {
  assert.deepEqual(soundRange([plane(10, {})], 8000), { start: 0, end: 0 });
  assert.deepEqual(soundRange([new Int16Array(0)], 8000), { start: 0, end: 0 });
  const loud = new Int16Array(1000).fill(1000);
  assert.deepEqual(soundRange([loud], 8000), { start: 0, end: 1000 });
  const tail = new Int16Array(1000);
  tail.fill(1000, 990);
  assert.deepEqual(soundRange([tail], 16000), { start: 960, end: 1000 }, 'the last frame (320 samples at 16 kHz) is partial: 960 to 1000');
});
