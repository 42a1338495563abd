import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { FrameResampler, pickRate } from '../../src/voice/frame-resampler.js';

test('pickRate keeps the leg rate when supported, else prefers 16 kHz', () => {
  assert.equal(pickRate(8000, [8000, 16000]), 8000);
  assert.equal(pickRate(8000, [16000, 48000]), 16000);
  assert.equal(pickRate(16000, [8000]), 8000);
  assert.equal(pickRate(8000, [24000]), 24000);
});

test('8 kHz frames become whole 20 ms frames at 16 kHz, one per input frame on average', () => {
  const a = new FrameResampler(8000, 16000);
  const out: Int16Array[] = [];
  for (let i = 0; i < 50; i++) out.push(...a.push(new Int16Array(160).fill(1000)));
  assert.ok(out.length >= 48 && out.length <= 50, `got ${out.length} frames for 1 s`);
  for (const f of out) assert.equal(f.length, 320);
});

test('matching rates pass the frame through untouched', () => {
  const a = new FrameResampler(8000, 8000);
  const f = new Int16Array(160).fill(7);
  assert.deepEqual(a.push(f), [f]);
});
