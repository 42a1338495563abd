/** Rendering persona tones: lengths, frequencies, gaps, dual tones, and the beep's defaults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BEEP_DEFAULT, beepOf, renderTones, TONE_AMPLITUDE, tonesPassMs } from '../../src/sandbox/tones.js';
import { dominantFrequency, goertzel, rms } from '../fixtures/media/signals.js';

test('segments render in order, each tone then its gap of silence, at the leg rate', () => {
  for (const rate of [8000, 16000]) {
    const segments = [{ hz: 913.8, ms: 330, gap_ms: 30 }, { hz: 1370.6, ms: 330 }, { hz: 1776.7, ms: 330, gap_ms: 500 }];
    const pcm = renderTones(rate, segments);
    assert.equal(tonesPassMs(segments), 1520);
    assert.equal(pcm.length, 1.52 * rate, `${rate} Hz`);
    const at = (from: number, to: number) => pcm.subarray((from * rate) / 1000, (to * rate) / 1000);
    assert.ok(Math.abs(dominantFrequency(at(0, 330), rate) - 913.8) <= 10);
    assert.equal(rms(at(330, 360)), 0, 'the 30 ms gap');
    assert.ok(Math.abs(dominantFrequency(at(360, 690), rate) - 1370.6) <= 10);
    assert.ok(Math.abs(dominantFrequency(at(690, 1020), rate) - 1776.7) <= 10);
    assert.equal(rms(at(1020, 1520)), 0, 'the 500 ms gap after the last tone');
    const peak = pcm.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(peak <= TONE_AMPLITUDE && peak > TONE_AMPLITUDE * 0.99, `peak ${peak}`);
  }
});

test('a dual tone holds both frequencies at equal strength, and never clips', () => {
  const pcm = renderTones(8000, [{ hz: [350, 440], ms: 500 }]);
  const a = goertzel(pcm, 8000, 350);
  const b = goertzel(pcm, 8000, 440);
  const off = goertzel(pcm, 8000, 1000);
  assert.ok(Math.abs(a - b) / a < 0.05, `${a} vs ${b}`);
  assert.ok(off < a / 100, 'nothing between them');
  assert.ok(pcm.every((v) => Math.abs(v) <= TONE_AMPLITUDE));
});

test('beep: true is 1000 Hz for 400 ms, an object its own, false or absent none', () => {
  assert.deepEqual(BEEP_DEFAULT, { hz: 1000, ms: 400 });
  assert.deepEqual(beepOf(true), { hz: 1000, ms: 400 });
  assert.deepEqual(beepOf({ hz: 1400, ms: 250 }), { hz: 1400, ms: 250 });
  assert.equal(beepOf(false), undefined);
  assert.equal(beepOf(undefined), undefined);
});
