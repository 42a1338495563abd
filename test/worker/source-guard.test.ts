import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SourceGuard } from '../../src/worker/media/source-guard.js';

test('a source refused 403 `limit` times within the window is blocked for blockMs; others are not', () => {
  let now = 0;
  const g = new SourceGuard({ limit: 3, windowMs: 1000, blockMs: 5000, now: () => now });
  g.refused('198.51.100.7');
  g.refused('198.51.100.7');
  assert.equal(g.blocked('198.51.100.7'), false, 'under the limit');
  g.refused('198.51.100.7');
  assert.equal(g.blocked('198.51.100.7'), true);
  assert.equal(g.blocked('198.51.100.8'), false);
  now = 4999;
  assert.equal(g.blocked('198.51.100.7'), true);
  now = 5000;
  assert.equal(g.blocked('198.51.100.7'), false, 'the block ends');
});

test('refusals spread over windows never block; the table keeps at most maxSources', () => {
  let now = 0;
  const g = new SourceGuard({ limit: 3, windowMs: 1000, blockMs: 5000, maxSources: 2, now: () => now });
  for (let i = 0; i < 10; i++) {
    g.refused('a');
    g.refused('a');
    now += 1000;
  }
  assert.equal(g.blocked('a'), false);
  g.refused('b');
  g.refused('c');
  assert.equal(g.size, 2);
});
