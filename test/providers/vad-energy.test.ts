import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, toFrames, whiteNoise } from './conformance/audio.js';
import { vadConformance } from './conformance/vad.js';
import { EnergyVad, rmsDbfs } from '../../src/providers/vad/energy.js';
import { skipReason } from '../helpers/require-tool.js';

vadConformance('energy', () => new EnergyVad(), { skip: skipReason('flite') });

test('rmsDbfs: full-scale square wave is 0 dBFS, digital silence a finite floor, noise at its level', () => {
  assert.equal(rmsDbfs(new Int16Array(320).fill(-32768)), 0);
  assert.equal(rmsDbfs(new Int16Array(320)), -100);
  assert.ok(Math.abs(rmsDbfs(whiteNoise(20, 16000, -30)) - -30) < 1.5);
});

test('a room that gets louder is learned as the new floor: speech does not stick on', async () => {
  // -65 dBFS, then a 30 dB step in steady noise for 10 s. The step may look like speech at first,
  // but the floor must catch up and the segment end.
  const rate = 8000;
  const vad = await new EnergyVad().create({ sampleRate: rate });
  let speaking = false;
  let starts = 0;
  for (const f of toFrames(concat(whiteNoise(2000, rate, -65, 5), whiteNoise(10_000, rate, -35, 6)), rate)) {
    const r = await vad.push(f);
    speaking = r.speaking;
    starts += r.events.filter((e) => e.type === 'speech_start').length;
  }
  assert.equal(speaking, false);
  assert.ok(starts <= 1, `${starts} starts`);
});
