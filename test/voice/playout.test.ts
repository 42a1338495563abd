import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Playout, prorate, SPEECH_MS_PER_CHAR, type PlayoutEvent } from '../../src/voice/playout.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { FakeLeg } from './helpers/fake-leg.js';

const RATE = 8000;
const frames = (n: number) => new Int16Array(160 * n).fill(1000);

function setup(leadMs = 60) {
  const leg = new FakeLeg();
  const clock = new VirtualClock();
  const playout = new Playout(leg, { sampleRate: RATE, clock, leadMs });
  const events: PlayoutEvent[] = [];
  playout.on((e) => events.push(e));
  return { leg, clock, playout, events };
}

/** The leg plays 20 ms and the pacing tick runs: one real-time frame period. */
function period(leg: FakeLeg, clock: VirtualClock, n = 1) {
  for (let i = 0; i < n; i++) {
    leg.play(20);
    clock.advance(20);
  }
}

test('feeds the leg only leadMs ahead, then tops up as it plays', () => {
  const { leg, clock, playout } = setup(60);
  playout.start('u1', 'hello there');
  playout.push('u1', frames(10));
  assert.equal(leg.written.length, 3, 'only 60 ms handed to the leg');
  period(leg, clock, 2);
  assert.equal(leg.written.length, 5);
});

test('utterances play in order and idle fires once everything has been heard', () => {
  const { leg, clock, playout, events } = setup(60);
  playout.start('a', 'one');
  playout.start('b', 'two');
  playout.push('b', frames(2)); // b's audio arrives first but must wait for a
  assert.equal(leg.written.length, 0);
  playout.push('a', frames(2));
  playout.finish('a');
  playout.finish('b');
  assert.deepEqual(
    events.filter((e) => e.type === 'first_frame').map((e) => (e.type === 'first_frame' ? e.id : '')),
    ['a', 'b'],
  );
  assert.equal(events.some((e) => e.type === 'idle'), false, 'not idle while audio is still queued in the leg');
  period(leg, clock, 4);
  assert.equal(events.filter((e) => e.type === 'idle').length, 1);
  const played = events.flatMap((e) => (e.type === 'played' ? [e.report] : []));
  assert.deepEqual(played.map((r) => [r.id, r.playedMs, r.heardText]), [
    ['a', 40, 'one'],
    ['b', 40, 'two'],
  ]);
  assert.equal(playout.busy, false);
});

test('clear() stops at once and reports the heard prefix, prorated by words', () => {
  const { leg, clock, playout } = setup(40);
  playout.start('u1', 'one two three four five six seven eight nine ten');
  playout.push('u1', frames(10)); // 200 ms
  playout.finish('u1');
  playout.start('u2', 'never heard');
  playout.push('u2', frames(5));
  period(leg, clock, 2); // 2 frames played, leg holds 2 more: 4 frames = 80 ms written
  const reports = playout.clear();
  assert.equal(reports.length, 2);
  assert.deepEqual(reports[0], { id: 'u1', text: 'one two three four five six seven eight nine ten', playedMs: 80, totalMs: 200, heardText: 'one two three four' });
  assert.equal(reports[1]?.playedMs, 0);
  assert.equal(reports[1]?.heardText, '');
  const before = leg.written.length;
  period(leg, clock, 10);
  assert.equal(leg.written.length, before, 'nothing more is written after clear');
  assert.equal(playout.busy, false);
});

test('clear() while the audio is still arriving prorates by the text\'s expected length, not by the audio received so far', () => {
  const { leg, clock, playout } = setup(40);
  const text = 'one two three four five six seven eight nine ten';
  const expectedMs = text.length * SPEECH_MS_PER_CHAR; // 2940 ms
  playout.start('u1', text);
  playout.push('u1', frames(10)); // 200 ms arrived, the TTS (a cloud stream) still sending
  period(leg, clock, 6); // 8 frames written: 160 ms
  const [r] = playout.clear();
  // 160 of 200 ms received would be 8 of 10 words; the callee heard 160 ms of ~2.9 s: none yet.
  assert.deepEqual([r?.playedMs, r?.totalMs, r?.heardText], [160, expectedMs, '']);
});

test('pushes to a cleared utterance are ignored', () => {
  const { leg, playout } = setup(1000);
  playout.start('u1', 'x');
  playout.clear();
  playout.push('u1', frames(3));
  assert.equal(leg.written.length, 0);
});

test('prorate floors partial words and keeps all at fraction 1', () => {
  assert.equal(prorate('a b c d', 0.74), 'a b');
  assert.equal(prorate('a b c d', 1), 'a b c d');
  assert.equal(prorate('a b c d', 0), '');
});
