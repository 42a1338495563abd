import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallRecorder } from '../../src/media/wav-recorder.js';
import { encodeWav, WAV_HEADER_BYTES } from '../../src/media/wav.js';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';

/** Parses a WAV with the project's reader: format and one array per channel. */
function parse(buf: ArrayBuffer): { sampleRate: number; channels: number; planes: Int16Array[] } {
  const p = new WavStreamParser();
  const inter = p.push(Buffer.from(buf));
  const f = p.format;
  assert.ok(f, 'WAV header parsed');
  const frames = inter.length / f.channels;
  const planes = Array.from({ length: f.channels }, (_, c) => Int16Array.from({ length: frames }, (_, i) => inter[i * f.channels + c] as number));
  return { sampleRate: f.sampleRate, channels: f.channels, planes };
}

const frame = (value: number, n = 160) => new Int16Array(n).fill(value);

test('encodeWav: canonical RIFF header, sizes, and samples interleaved left/right', () => {
  const left = Int16Array.from([1, -2, 32767]);
  const right = Int16Array.from([-32768, 5, 6]);
  const buf = encodeWav([left, right], 16000);
  const b = Buffer.from(buf);
  assert.equal(b.length, WAV_HEADER_BYTES + 12);
  assert.equal(b.toString('ascii', 0, 4), 'RIFF');
  assert.equal(b.readUInt32LE(4), 36 + 12);
  assert.equal(b.toString('ascii', 8, 16), 'WAVEfmt ');
  assert.equal(b.readUInt16LE(20), 1, 'PCM');
  assert.equal(b.readUInt16LE(22), 2, 'channels');
  assert.equal(b.readUInt32LE(24), 16000);
  assert.equal(b.readUInt32LE(28), 16000 * 4, 'byte rate');
  assert.equal(b.readUInt16LE(32), 4, 'block align');
  assert.equal(b.readUInt16LE(34), 16);
  assert.equal(b.toString('ascii', 36, 40), 'data');
  assert.equal(b.readUInt32LE(40), 12);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => b.readInt16LE(44 + 2 * i)), [1, -32768, -2, 5, 32767, 6]);
  const back = parse(buf);
  assert.deepEqual([...(back.planes[0] as Int16Array)], [...left]);
  assert.deepEqual([...(back.planes[1] as Int16Array)], [...right]);
  assert.throws(() => encodeWav([left, new Int16Array(2)], 8000), /same length/);
});

test('mono: both sides summed, clipped at 16 bits, silence where nobody spoke', () => {
  const r = new CallRecorder({ sampleRate: 8000, channels: 'mono', startAt: 1000, maxMs: 60_000 });
  r.callee(frame(20000), 1000); // slot 0
  r.agent(frame(20000), 1000); // slot 0: 40000 clips to 32767
  r.callee(frame(-30000), 1021); // slot 1
  r.agent(frame(-30000), 1021); // clips to -32768
  r.agent(frame(100), 1100); // slot 5
  const rec = r.finish(1140);
  assert.equal(rec.durationMs, 140);
  const { sampleRate, channels, planes } = parse(rec.wav);
  assert.equal(sampleRate, 8000);
  assert.equal(channels, 1);
  const s = planes[0] as Int16Array;
  assert.equal(s.length, 7 * 160);
  assert.equal(s[0], 32767);
  assert.equal(s[160], -32768);
  assert.equal(s[2 * 160], 0, 'slots 2-4: silence');
  assert.equal(s[4 * 160 + 159], 0);
  assert.equal(s[5 * 160], 100);
  assert.equal(s[6 * 160], 0);
});

test('dual: callee on the left, agent on the right, each where its frame clock put it', () => {
  const r = new CallRecorder({ sampleRate: 16000, channels: 'dual', startAt: 0, maxMs: 60_000 });
  r.agent(frame(7, 320), 0);
  r.callee(frame(-9, 320), 40); // slot 2
  const { channels, planes } = parse(r.finish(100).wav);
  assert.equal(channels, 2);
  const [left, right] = planes as [Int16Array, Int16Array];
  assert.equal(left.length, 1600);
  assert.equal(right[0], 7);
  assert.equal(right[320], 0);
  assert.equal(left[0], 0, 'the callee said nothing in the first 40 ms');
  assert.equal(left[640], -9);
  assert.equal(left[959], -9);
  assert.equal(left[960], 0);
  assert.equal(right[640], 0, 'the sides never leak into each other');
});

test('agent frames written ahead play back to back after what is queued (the leg plays one per tick)', () => {
  const r = new CallRecorder({ sampleRate: 8000, channels: 'dual', startAt: 0, maxMs: 60_000 });
  // A greeting synthesized faster than real time: 5 frames written at once at t=0.
  for (let i = 1; i <= 5; i++) r.agent(frame(i), 0);
  // Written at t=200 after the queue emptied: it plays at slot 10, not at slot 5.
  r.agent(frame(9), 200);
  const right = parse(r.finish(300).wav).planes[1] as Int16Array;
  assert.deepEqual([0, 1, 2, 3, 4].map((k) => right[k * 160]), [1, 2, 3, 4, 5]);
  assert.equal(right[5 * 160], 0);
  assert.equal(right[10 * 160], 9);
});

test('callee frames follow each other whatever their arrival jitter; a real silence stays a gap', () => {
  const r = new CallRecorder({ sampleRate: 8000, channels: 'dual', startAt: 0, maxMs: 60_000 });
  // One frame per tick, the event loop late now and then (arrival 0, 27, 39, 75, 80 ms).
  const arrivals = [0, 27, 39, 75, 80];
  arrivals.forEach((at, i) => r.callee(frame(i + 1), at));
  // Then nothing for 400 ms (the far end stopped sending), and one more frame.
  r.callee(frame(50), 500);
  const left = parse(r.finish(600).wav).planes[0] as Int16Array;
  assert.deepEqual([0, 1, 2, 3, 4].map((k) => left[k * 160]), [1, 2, 3, 4, 5], 'contiguous, in order, no holes');
  assert.equal(left[5 * 160], 0);
  assert.equal(left[24 * 160], 0);
  assert.equal(left[25 * 160], 50, 'after the gap the frame sits at its own time');
});

test('cap: nothing past maxMs is kept, whatever is written', () => {
  const r = new CallRecorder({ sampleRate: 8000, channels: 'mono', startAt: 0, maxMs: 100 });
  for (let t = 0; t < 1000; t += 20) r.callee(frame(3), t);
  const rec = r.finish(1000);
  assert.equal(rec.durationMs, 100);
  const s = parse(rec.wav).planes[0] as Int16Array;
  assert.equal(s.length, 800);
  assert.ok(s.every((v) => v === 3));
  assert.equal(rec.wav.byteLength, WAV_HEADER_BYTES + 1600);
});

test('the recording ends at the end of the call: agent audio still queued then was never heard', () => {
  const r = new CallRecorder({ sampleRate: 8000, channels: 'dual', startAt: 0, maxMs: 60_000 });
  for (let i = 0; i < 10; i++) r.agent(frame(4), 0); // 200 ms queued at once
  const rec = r.finish(60); // hung up after 60 ms
  assert.equal(rec.durationMs, 60);
  const right = parse(rec.wav).planes[1] as Int16Array;
  assert.equal(right.length, 480);
  assert.throws(() => r.finish(100), /already finished/);
});

test('track inbound keeps the callee only, outbound the agent only; both is the default', () => {
  const play = (track?: 'inbound' | 'outbound' | 'both') => {
    const r = new CallRecorder({ sampleRate: 8000, channels: 'mono', startAt: 0, maxMs: 60_000, ...(track ? { track } : {}) });
    r.callee(frame(11), 0); // slot 0
    r.agent(frame(22), 20); // slot 1
    const s = parse(r.finish(40).wav).planes[0] as Int16Array;
    return [s[0], s[160]];
  };
  assert.deepEqual(play('inbound'), [11, 0], 'inbound: the callee, not the agent');
  assert.deepEqual(play('outbound'), [0, 22], 'outbound: the agent, not the callee');
  assert.deepEqual(play('both'), [11, 22]);
  assert.deepEqual(play(), [11, 22]);
});

test('trimSilence: the leading and trailing silence go, the sound between stays whole and aligned', () => {
  const r = new CallRecorder({ sampleRate: 8000, channels: 'dual', startAt: 0, maxMs: 60_000, trimSilence: true });
  r.callee(frame(3), 0); // -80 dBFS: silence by the threshold
  r.agent(frame(900), 200); // slot 10: sound
  r.callee(frame(0), 240); // a silent frame between sounds stays
  r.callee(frame(-700), 260); // slot 13: sound on the other channel
  const rec = r.finish(1000);
  // Slots 10 to 13 (80 ms) of a 1000 ms call.
  assert.equal(rec.durationMs, 80);
  const [left, right] = parse(rec.wav).planes as [Int16Array, Int16Array];
  assert.equal(left.length, 4 * 160);
  assert.equal(right[0], 900, 'it starts at the first sound');
  assert.equal(left[0], 0, 'the other channel is cut at the same sample');
  assert.equal(left[3 * 160], -700);
  assert.equal(left[4 * 160 - 1], -700, 'and ends with the last sound');

  const quiet = new CallRecorder({ sampleRate: 8000, channels: 'mono', startAt: 0, maxMs: 60_000, trimSilence: true });
  quiet.callee(frame(2), 0);
  const none = quiet.finish(500);
  assert.equal(none.durationMs, 0, 'a silent call trims to nothing');
  assert.equal(none.wav.byteLength, WAV_HEADER_BYTES);
});
