import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapOutcome } from '../../../src/telephony/sip/outcome.js';

test('outcome mapping', () => {
  const m = (sipStatusCode: number, answered = false, canceledBy?: 'local' | 'ring-timeout') => mapOutcome({ sipStatusCode, answered, canceledBy });
  for (const s of [486, 600, 603]) assert.equal(m(s), 'busy', String(s));
  for (const s of [480, 408]) assert.equal(m(s), 'no_answer', String(s));
  assert.equal(m(487, false, 'ring-timeout'), 'no_answer');
  assert.equal(m(408, false, 'ring-timeout'), 'no_answer');
  assert.equal(m(487, false, 'local'), 'canceled');
  assert.equal(m(200, false, 'local'), 'canceled');
  assert.equal(m(200, true), 'completed');
  assert.equal(m(200, true, 'local'), 'completed');
  for (const s of [403, 404, 487, 488, 500, 503, 401, 407, 302]) assert.equal(m(s), 'failed', String(s));
});
