import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReceiverStats } from '../../../src/telephony/rtp/receiver-stats.js';

test('loss per RFC 3550 A.3 with sequence wrap, and fraction lost per interval', () => {
  const s = new ReceiverStats();
  s.reset(42);
  let seq = 65530;
  for (let i = 0; i < 100; i++, seq = (seq + 1) & 0xffff) {
    if (i % 10 === 3) continue; // lose 10 %
    s.update(seq, i * 160, i * 160);
  }
  assert.equal(s.expected, 100);
  assert.equal(s.lost, 10);
  const rb = s.reportBlock(0);
  assert.ok(rb);
  assert.equal(rb.cumulativeLost, 10);
  assert.equal(rb.fractionLost, Math.floor((10 * 256) / 100));
  assert.equal(rb.extendedHighestSeq, 65536 + ((65530 + 99) & 0xffff), 'cycles counted after wrap');
  const rb2 = s.reportBlock(0);
  assert.equal(rb2?.fractionLost, 0, 'new interval');
});

test('jitter per RFC 3550 A.8 converges to the mean transit deviation', () => {
  const s = new ReceiverStats();
  s.reset(1);
  // alternate arrivals 0 and +80 timestamp units (10 ms at 8 kHz) late: |D| = 80 every packet
  for (let i = 0; i < 500; i++) s.update(i, i * 160, i * 160 + (i % 2) * 80);
  assert.ok(Math.abs(s.jitter - 80) < 1, `jitter ${s.jitter}`);
  const t = new ReceiverStats();
  t.reset(1);
  for (let i = 0; i < 500; i++) t.update(i, i * 160, i * 160 + 5000);
  assert.equal(t.jitter, 0, 'constant delay is not jitter');
});

test('a single stray far-off sequence number is not believed; two in a row restart', () => {
  const s = new ReceiverStats();
  s.reset(1);
  for (let i = 0; i < 10; i++) s.update(i, 0, undefined);
  assert.equal(s.update(30000, 0, undefined), false);
  assert.equal(s.update(10, 0, undefined), true);
  assert.equal(s.lost, 0);
  assert.equal(s.update(40000, 0, undefined), false);
  assert.equal(s.update(40001, 0, undefined), true);
  assert.equal(s.expected, 1);
});
