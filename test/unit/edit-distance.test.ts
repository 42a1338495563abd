import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editDistance } from '../../src/text/edit-distance.js';

test('edit distance counts insertions, deletions and substitutions', () => {
  assert.equal(editDistance([], []), 0);
  assert.equal(editDistance(['a', 'b'], []), 2);
  assert.equal(editDistance('leave a message'.split(' '), 'leave the message'.split(' ')), 1);
  assert.equal(editDistance('kitten'.split(''), 'sitting'.split('')), 3);
  assert.equal(editDistance(['y', 'eh', 's'], ['b', 'eh', 's', 't']), 2);
});
