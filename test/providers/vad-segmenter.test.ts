import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProviderError } from '../../src/providers/errors.js';
import { segmenterSettings, SpeechSegmenter } from '../../src/providers/vad/segmenter.js';
import type { VadEvent } from '../../src/providers/vad/types.js';

// Probabilities per 20 ms step; the segmenter is the part every VAD shares, so its rules are
// pinned here on exact sequences rather than through audio.
function run(probs: number[], opts = { threshold: 0.5, minSpeechMs: 100, minSilenceMs: 100 }): { events: VadEvent[]; tail: VadEvent[] } {
  const seg = new SpeechSegmenter(segmenterSettings({ sampleRate: 16000, ...opts }, 0.5));
  const events = probs.flatMap((p, i) => seg.update(p, i * 20, 20));
  return { events, tail: seg.end() };
}
const rep = (p: number, n: number) => Array<number>(n).fill(p);

test('speech starts at its onset once it has lasted minSpeechMs, and ends where the silence began', () => {
  const { events, tail } = run([...rep(0, 10), ...rep(0.9, 20), ...rep(0, 10)]);
  assert.deepEqual(events, [
    { type: 'speech_start', atMs: 200 },
    { type: 'speech_end', atMs: 600, durationMs: 400 },
  ]);
  assert.deepEqual(tail, []);
});

test('a blip shorter than minSpeechMs is not speech', () => {
  assert.deepEqual(run([...rep(0, 5), ...rep(0.9, 4), ...rep(0, 20)]).events, []);
});

test('hysteresis: dips between the stop and start thresholds neither end speech nor start it', () => {
  // stop threshold defaults to 0.35: 0.4 keeps a segment going ...
  const { events } = run([...rep(0.9, 6), ...rep(0.4, 30), ...rep(0, 6)]);
  assert.deepEqual(events.map((e) => [e.type, e.atMs]), [['speech_start', 0], ['speech_end', 720]]);
  // ... but never starts one.
  assert.deepEqual(run(rep(0.4, 50)).events, []);
});

test('a pause shorter than minSilenceMs does not split the segment', () => {
  const { events } = run([...rep(0.9, 10), ...rep(0, 4), ...rep(0.9, 10), ...rep(0, 10)]);
  assert.deepEqual(events.map((e) => e.type), ['speech_start', 'speech_end']);
  assert.equal(events[1]?.atMs, 480);
});

test('end() closes an open segment at its last speech', () => {
  assert.deepEqual(run([...rep(0, 2), ...rep(0.9, 10)]).tail, [{ type: 'speech_end', atMs: 240, durationMs: 200 }]);
  // Inside a pause that has not reached minSilenceMs yet, the segment ends where the pause began.
  assert.deepEqual(run([...rep(0.9, 10), ...rep(0, 2)]).tail, [{ type: 'speech_end', atMs: 200, durationMs: 200 }]);
});

test('settings that cannot work are refused', () => {
  for (const bad of [{ threshold: 0 }, { threshold: 1.2 }, { threshold: 0.5, stopThreshold: 0.7 }, { minSilenceMs: -1 }]) {
    assert.throws(() => segmenterSettings({ sampleRate: 16000, ...bad }, 0.5), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request');
  }
});
