import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LegSchedule, PacingClock } from '../../../src/telephony/rtp/pacing-clock.js';
import { VirtualClock } from '../../helpers/virtual-clock.js';

/** A leg like MediaSession's: records the send time of every due packet and its grid deadline. */
function makeLeg(clock: PacingClock, maxBurst = 3) {
  const sends: Array<{ at: number; deadline: number; burst: number }> = [];
  let skipped = 0;
  let schedule: LegSchedule | undefined;
  const reg = clock.register({
    onTick(now) {
      const d = (schedule as LegSchedule).due(now);
      skipped += d.skipped;
      for (const deadline of d.deadlines) sends.push({ at: now, deadline, burst: d.deadlines.length });
    },
  });
  schedule = new LegSchedule(reg.firstDeadline, 20, maxBurst);
  return { sends, reg, skipped: () => skipped };
}

test('each leg sends exactly one packet per 20 ms on its own phase, one shared timer', () => {
  const vt = new VirtualClock({ start: 1000, nodeRounding: true });
  const clock = new PacingClock({ time: vt, slots: 10 });
  const legs = Array.from({ length: 20 }, () => makeLeg(clock));
  assert.equal(vt.pending, 1, 'one timer for all legs, never one per leg');
  // phases are spread: 20 legs over 10 slots → 2 per slot
  const perSlot = new Map<number, number>();
  for (const l of legs) perSlot.set(l.reg.slot, (perSlot.get(l.reg.slot) ?? 0) + 1);
  assert.deepEqual([...perSlot.values()], new Array(10).fill(2));
  vt.advance(1000);
  for (const l of legs) {
    assert.ok(l.sends.length >= 49 && l.sends.length <= 50, `sent ${l.sends.length}`);
    for (let i = 1; i < l.sends.length; i++) {
      assert.equal((l.sends[i]?.deadline ?? 0) - (l.sends[i - 1]?.deadline ?? 0), 20, 'grid spacing');
    }
    for (const s of l.sends) assert.ok(Math.abs(s.at - s.deadline) < 1e-9, 'sent exactly on deadline in ideal time');
  }
  assert.equal(clock.stats().earlyWakeups, 0);
  for (const l of legs) l.reg.unregister();
  assert.equal(vt.pending, 0, 'idle clock holds no timer (process can exit)');
});

test('timers firing early are re-armed, never skip a slot (no 20 ms holes)', () => {
  const vt = new VirtualClock({ start: 1000, nodeRounding: true });
  vt.fireSkewMs = -0.9; // Node fires up to ~1 ms early
  const clock = new PacingClock({ time: vt, slots: 4, earlyToleranceMs: 0.25 });
  const leg = makeLeg(clock);
  vt.advance(2000);
  assert.ok(clock.stats().earlyWakeups > 0, 'early wake-ups happened and were detected');
  assert.ok(leg.sends.length >= 99, `sent ${leg.sends.length}`);
  for (let i = 1; i < leg.sends.length; i++) {
    const gap = (leg.sends[i]?.at ?? 0) - (leg.sends[i - 1]?.at ?? 0);
    assert.ok(gap > 19 && gap < 21, `gap ${gap}`);
  }
  for (const s of leg.sends) assert.ok(s.deadline - s.at <= 0.25, 'never more than the tolerance early');
  leg.reg.unregister();
});

test('late timers: catch up in order, sending at most maxBurst at once, skipping the rest', () => {
  const vt = new VirtualClock({ start: 1000, nodeRounding: true });
  const clock = new PacingClock({ time: vt, slots: 10 });
  const leg = makeLeg(clock, 3);
  vt.advance(200);
  const before = leg.sends.length;
  vt.stall(150); // the event loop was blocked 150 ms: 7-8 packets are owed
  vt.advance(1);
  const burst = leg.sends.slice(before);
  assert.equal(burst.length, 3, 'bounded burst');
  assert.ok(leg.skipped() >= 4, `skipped ${leg.skipped()}`);
  assert.ok(clock.stats().skippedSlots > 0 || clock.stats().lateSlots > 0);
  // afterwards it is back on the grid, one per 20 ms
  const mark = leg.sends.length;
  vt.advance(200);
  assert.equal(leg.sends.length - mark, 10);
  leg.reg.unregister();
});

test('a slightly late timer (3 ms) sends 3 ms late, not skipped, not doubled', () => {
  const vt = new VirtualClock({ start: 1000, nodeRounding: true });
  vt.fireSkewMs = 3;
  const clock = new PacingClock({ time: vt, slots: 10 });
  const leg = makeLeg(clock);
  vt.advance(1000);
  const devs = leg.sends.map((s) => s.at - s.deadline);
  assert.ok(devs.every((d) => d >= 0 && d <= 3 + 1e-9), `max dev ${Math.max(...devs)}`);
  assert.ok(leg.sends.every((s) => s.burst === 1));
  assert.equal(leg.skipped(), 0);
  assert.ok(leg.sends.length >= 48);
  leg.reg.unregister();
});

test('a leg that throws is reported and does not stop the others', () => {
  const vt = new VirtualClock({ start: 1000, nodeRounding: true });
  const clock = new PacingClock({ time: vt, slots: 1 });
  const errors: unknown[] = [];
  clock.onError = (e) => errors.push(e);
  const bad = clock.register({
    onTick() {
      throw new Error('boom');
    },
  });
  const good = makeLeg(clock);
  vt.advance(100);
  assert.ok(errors.length >= 4);
  assert.ok(good.sends.length >= 4);
  bad.unregister();
  good.reg.unregister();
  bad.unregister(); // idempotent
  assert.equal(clock.stats().legs, 0);
});

test('LegSchedule: due() tolerates sub-ms early ticks and bounds bursts', () => {
  const s = new LegSchedule(100, 20, 3);
  assert.deepEqual(s.due(99.5), { deadlines: [], skipped: 0 });
  assert.deepEqual(s.due(99.8), { deadlines: [100], skipped: 0 });
  assert.deepEqual(s.due(161), { deadlines: [120, 140, 160], skipped: 0 });
  assert.deepEqual(s.due(300), { deadlines: [240, 260, 280, 300].slice(1), skipped: 4 });
  assert.equal(s.nextDeadline, 320);
});
