import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTelephoneEvent, digitToEvent, DtmfReceiver, DtmfSender, encodeTelephoneEvent, eventToDigit, type DtmfPacket } from '../../../src/telephony/rtp/dtmf.js';

test('RFC 4733 §2.3 payload layout and event codes', () => {
  const b = encodeTelephoneEvent({ event: 11, end: true, volume: 10, duration: 800 });
  assert.deepEqual([...b], [11, 0x80 | 10, 0x03, 0x20]);
  assert.deepEqual(decodeTelephoneEvent(b), { event: 11, end: true, volume: 10, duration: 800 });
  assert.equal(decodeTelephoneEvent(new Uint8Array(3)), undefined);
  assert.equal(digitToEvent('*'), 10);
  assert.equal(digitToEvent('#'), 11);
  assert.equal(digitToEvent('d'), 15);
  assert.equal(digitToEvent('x'), undefined);
  assert.equal(eventToDigit(9), '9');
  assert.equal(eventToDigit(16), undefined, 'flash is not a digit');
});

function drain(s: DtmfSender, ticks: number, ts0 = 1000, step = 160): Array<DtmfPacket | undefined> {
  const out: Array<DtmfPacket | undefined> = [];
  for (let i = 0; i < ticks; i++) out.push(s.tick(ts0 + i * step));
  return out;
}

test('sender: marker on first packet, same timestamp, growing duration, 3 end packets', () => {
  const s = new DtmfSender({ samplesPerTick: 160 });
  s.enqueue('5', 100);
  const pkts = drain(s, 10).filter((p): p is DtmfPacket => p !== undefined);
  assert.equal(pkts.length, 5 + 3, '100 ms = 5 updates + 3 end packets');
  assert.equal(pkts[0]?.marker, true);
  assert.ok(pkts.slice(1).every((p) => !p.marker));
  assert.ok(pkts.every((p) => p.timestamp === 1000), 'all packets carry the event start timestamp');
  const evs = pkts.map((p) => decodeTelephoneEvent(p.payload));
  assert.deepEqual(evs.map((e) => e?.duration), [160, 320, 480, 640, 800, 800, 800, 800]);
  assert.deepEqual(evs.map((e) => e?.end), [false, false, false, false, false, true, true, true]);
  assert.ok(evs.every((e) => e?.event === 5));
  assert.deepEqual(pkts.map((p) => p.last), [false, false, false, false, false, false, false, true]);
});

test('sender: digits are separated by a gap of audio ticks and get new timestamps', () => {
  const s = new DtmfSender({ samplesPerTick: 160, gapMs: 60 });
  s.enqueue('12', 40);
  const seq = drain(s, 20);
  const firstEnd = seq.findIndex((p) => p?.last);
  assert.equal(seq.slice(firstEnd + 1, firstEnd + 4).every((p) => p === undefined), true, '3 audio ticks gap');
  const second = seq[firstEnd + 4];
  assert.ok(second?.marker);
  assert.equal(second?.digit, '2');
  assert.equal(second?.timestamp, 1000 + (firstEnd + 4) * 160);
  assert.throws(() => s.enqueue('1x', 100), RangeError);
});

test('receiver: one report per event despite 3 end packets and retransmitted updates', () => {
  const s = new DtmfSender({ samplesPerTick: 160 });
  s.enqueue('9#', 100);
  const r = new DtmfReceiver(8000);
  const got: string[] = [];
  let now = 0;
  for (const p of drain(s, 30)) {
    now += 20;
    if (!p) continue;
    for (let dup = 0; dup < 2; dup++) {
      const res = r.receive(p.timestamp, p.payload, now);
      assert.notEqual(res, 'malformed');
      if (res !== 'malformed') for (const d of res) got.push(`${d.digit}:${d.durationMs}`);
    }
  }
  assert.deepEqual(got, ['9:100', '#:100']);
});

test('receiver: event whose end packets were all lost is reported when the next starts, or when stale', () => {
  const r = new DtmfReceiver(8000);
  const upd = (ev: number, dur: number, end = false) => encodeTelephoneEvent({ event: ev, end, volume: 10, duration: dur });
  assert.deepEqual(r.receive(1000, upd(1, 160), 0), []);
  assert.deepEqual(r.receive(1000, upd(1, 480), 40), []);
  const res = r.receive(5000, upd(2, 160), 200);
  assert.deepEqual(res, [{ digit: '1', durationMs: 60 }]);
  assert.equal(r.flushStale(300), undefined, 'not stale yet');
  assert.deepEqual(r.flushStale(600), { digit: '2', durationMs: 20 });
  assert.equal(r.receive(5000, upd(2, 800, true), 650).length, 0, 'late end of a flushed event is deduped');
  assert.equal(r.receive(1, new Uint8Array(2), 700), 'malformed');
});
