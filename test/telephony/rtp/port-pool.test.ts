import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortPool, PortPoolExhaustedError } from '../../../src/telephony/rtp/port-pool.js';

test('hands out even ports within range, never the same port twice while in use', () => {
  const pool = new PortPool({ min: 10001, max: 10020 });
  const got = new Set<number>();
  for (let i = 0; i < pool.capacity; i++) {
    const p = pool.acquire();
    assert.equal(p % 2, 0);
    assert.ok(p >= 10002 && p + 1 <= 10020);
    assert.ok(!got.has(p), `port ${p} handed out twice`);
    got.add(p);
  }
  assert.equal(got.size, 9);
  assert.throws(() => pool.acquire(), PortPoolExhaustedError);
  const first = [...got][0] as number;
  pool.release(first);
  pool.release(first); // idempotent
  assert.equal(pool.acquire(), first);
  assert.throws(() => pool.acquire(), PortPoolExhaustedError);
});

test('released ports go to the back of the rotation', () => {
  const pool = new PortPool({ min: 20000, max: 20009 });
  const a = pool.acquire();
  pool.release(a);
  const next = pool.acquire();
  assert.notEqual(next, a);
  assert.equal(pool.isInUse(next), true);
  assert.equal(pool.isInUse(a), false);
});

test('default range 10000-20000 and validation', () => {
  const pool = new PortPool();
  assert.equal(pool.capacity, 5000);
  assert.throws(() => new PortPool({ min: 100, max: 200 }), RangeError);
  assert.throws(() => new PortPool({ min: 3000, max: 2000 }), RangeError);
  assert.throws(() => new PortPool({ min: 3000, max: 3000 }), RangeError);
});

test('many acquire/release cycles keep the invariant', () => {
  const pool = new PortPool({ min: 30000, max: 30100 });
  const inUse = new Set<number>();
  let seed = 7;
  for (let i = 0; i < 20000; i++) {
    seed = (seed * 48271) % 2147483647;
    if (seed % 2 === 0 && inUse.size < pool.capacity) {
      const p = pool.acquire();
      assert.ok(!inUse.has(p));
      inUse.add(p);
    } else if (inUse.size > 0) {
      const p = [...inUse][seed % inUse.size] as number;
      inUse.delete(p);
      pool.release(p);
    }
  }
  assert.equal(pool.used, inUse.size);
});
