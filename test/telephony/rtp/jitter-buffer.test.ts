import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JitterBuffer, type JitterPop } from '../../../src/telephony/rtp/jitter-buffer.js';

function kinds(pops: Array<JitterPop<string>>): string[] {
  return pops.map((p) => (p.kind === 'packet' ? p.payload : p.kind === 'missing' ? `miss${p.seq}` : 'idle'));
}

test('prefetches target packets, then plays in sequence order despite reordering', () => {
  const jb = new JitterBuffer<string>({ targetPackets: 3 });
  jb.push(11, 'b');
  assert.equal(jb.pop().kind, 'idle', 'prefetch: 1 < 3');
  jb.push(10, 'a');
  jb.push(13, 'd');
  jb.push(12, 'c');
  const out = kinds([jb.pop(), jb.pop(), jb.pop(), jb.pop()]);
  assert.deepEqual(out, ['a', 'b', 'c', 'd']);
});

test('a lost packet is reported missing once; its late arrival is dropped as late', () => {
  const jb = new JitterBuffer<string>({ targetPackets: 2 });
  jb.push(1, 'p1');
  jb.push(3, 'p3');
  assert.deepEqual(kinds([jb.pop(), jb.pop(), jb.pop()]), ['p1', 'miss2', 'p3']);
  assert.equal(jb.push(2, 'p2-late'), 'late');
  assert.equal(jb.stats.late, 1);
  assert.equal(jb.stats.missing, 1);
});

test('duplicates are dropped and counted', () => {
  const jb = new JitterBuffer<string>({ targetPackets: 1 });
  assert.equal(jb.push(5, 'x'), 'queued');
  assert.equal(jb.push(5, 'x again'), 'duplicate');
  assert.deepEqual(kinds([jb.pop()]), ['x']);
  assert.equal(jb.push(5, 'x third'), 'late', 'after playout a copy is late, not played twice');
  assert.equal(jb.stats.duplicates, 1);
});

test('sequence wrap-around 65535 → 0 keeps order', () => {
  const jb = new JitterBuffer<string>({ targetPackets: 3 });
  jb.push(0, 'c');
  jb.push(65534, 'a');
  jb.push(65535, 'b');
  jb.push(1, 'd');
  assert.deepEqual(kinds([jb.pop(), jb.pop(), jb.pop(), jb.pop()]), ['a', 'b', 'c', 'd']);
});

test('overflow drops the oldest to bound latency', () => {
  const jb = new JitterBuffer<number>({ targetPackets: 2, maxPackets: 4 });
  for (let s = 100; s < 110; s++) jb.push(s, s);
  assert.equal(jb.size, 4);
  assert.equal(jb.stats.overflowDropped, 6);
  const p = jb.pop();
  assert.equal(p.kind === 'packet' ? p.payload : -1, 106);
});

test('long underrun returns to prefetch (idle) instead of concealing forever', () => {
  const jb = new JitterBuffer<number>({ targetPackets: 2, maxUnderrun: 3 });
  jb.push(1, 1);
  jb.push(2, 2);
  const pops = [jb.pop(), jb.pop(), jb.pop(), jb.pop(), jb.pop(), jb.pop()].map((p) => p.kind);
  assert.deepEqual(pops, ['packet', 'packet', 'missing', 'missing', 'idle', 'idle']);
  assert.equal(jb.isPlaying, false);
  jb.push(10, 10);
  assert.equal(jb.pop().kind, 'idle', 'needs a fresh prefetch');
  jb.push(11, 11);
  const p = jb.pop();
  assert.equal(p.kind === 'packet' ? p.payload : -1, 10);
});

test('a huge sequence jump resyncs only when the next packet confirms it (RFC 3550 A.1 logic)', () => {
  const jb = new JitterBuffer<number>({ targetPackets: 1 });
  jb.push(100, 100);
  jb.pop();
  assert.equal(jb.push(40000, 40000), 'late', 'a single stray packet is not believed');
  assert.equal(jb.push(101, 101), 'queued');
  assert.equal(jb.stats.resyncs, 0);
  assert.equal(jb.push(50000, 50000), 'late');
  assert.equal(jb.push(50001, 50001), 'queued', 'confirmed by its successor');
  assert.equal(jb.stats.resyncs, 1);
  const p = jb.pop();
  assert.equal(p.kind === 'packet' ? p.payload : -1, 50001);
});

test('virtual-time simulation: jittery arrival, 20 ms playout, nothing lost or reordered', () => {
  // Packets sent every 20 ms arrive with 0-35 ms random delay (deterministic LCG); playout at 60 ms
  // depth pops every 20 ms. Every packet must play exactly once, in order.
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const arrivals: Array<{ at: number; seq: number }> = [];
  for (let i = 0; i < 500; i++) arrivals.push({ at: i * 20 + rand() * 35, seq: (65000 + i) & 0xffff });
  arrivals.sort((a, b) => a.at - b.at);
  const jb = new JitterBuffer<number>({ targetPackets: 3 });
  const played: number[] = [];
  let k = 0;
  for (let t = 0; t < 500 * 20 + 200; t += 20) {
    while (k < arrivals.length && (arrivals[k]?.at ?? Infinity) <= t) {
      const a = arrivals[k++];
      if (a) jb.push(a.seq, a.seq);
    }
    const p = jb.pop();
    if (p.kind === 'packet') played.push(p.payload);
  }
  assert.equal(played.length, 500);
  for (let i = 0; i < played.length; i++) assert.equal(played[i], (65000 + i) & 0xffff);
  assert.equal(jb.stats.late, 0);
});
