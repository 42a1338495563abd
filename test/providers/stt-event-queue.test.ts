import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SttEventQueue } from '../../src/providers/stt/event-queue.js';
import type { SttEvent } from '../../src/providers/stt/types.js';

test('events emitted before and while reading all arrive, in order, and iteration ends at closed', async () => {
  const q = new SttEventQueue();
  q.emit({ type: 'partial', text: 'hel' });
  const got: SttEvent[] = [];
  const reading = (async () => {
    for await (const e of q) got.push(e);
  })();
  await new Promise((r) => setImmediate(r)); // the reader is now waiting on an empty queue
  q.emit({ type: 'final', text: 'hello', startMs: 0, endMs: 400 });
  q.emit({ type: 'closed' });
  q.emit({ type: 'final', text: 'too late', startMs: 500, endMs: 600 }); // after closed: dropped
  await reading;
  assert.deepEqual(got.map((e) => e.type), ['partial', 'final', 'closed']);
  assert.equal(q.closed, true);
});

test('a second reader is refused rather than silently splitting the events', () => {
  const q = new SttEventQueue();
  q[Symbol.asyncIterator]();
  assert.throws(() => q[Symbol.asyncIterator](), /only once/);
});
