/** Every end reason maps to one word of the common vocabulary, and a failed call says why. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DISCONNECTION_OF, DISCONNECTIONS, disconnectionOf } from '../../src/contract/disconnection.js';
import { callErrorOf } from '../../src/contract/call-error.js';
import { CALL_STATUSES, END_REASONS } from '../../src/contract/status.js';

test('every end reason maps to a disconnection of the vocabulary, and no key is not an end reason', () => {
  for (const r of END_REASONS) assert.ok((DISCONNECTIONS as readonly string[]).includes(DISCONNECTION_OF[r]), `${r} -> ${DISCONNECTION_OF[r]}`);
  assert.deepEqual(Object.keys(DISCONNECTION_OF).sort(), [...END_REASONS].sort());
  assert.equal(disconnectionOf(null), null);
});

test('the mapping says what a client expects of the common words', () => {
  const expect: Array<[string, string]> = [
    ['callee_hangup', 'user_hangup'], ['agent_hangup', 'agent_hangup'], ['canceled_by_api', 'canceled'], ['ring_timeout', 'no_answer'],
    ['no_answer', 'no_answer'], ['busy', 'busy'], ['declined', 'declined'], ['max_duration_reached', 'max_duration'],
    ['inactivity_timeout', 'inactivity'], ['transferred', 'transferred'], ['machine_detected', 'machine_detected'],
    ['sip_error', 'failed'], ['dial_error', 'failed'], ['worker_lost', 'error'], ['error_stt', 'error'], ['error_llm', 'error'], ['error_tts', 'error'],
  ];
  for (const [reason, word] of expect) assert.equal(disconnectionOf(reason as never), word, reason);
});

test('error is null unless failed; failed carries the end reason as code and the words given, or default words', () => {
  for (const s of CALL_STATUSES) if (s !== 'failed') assert.equal(callErrorOf(s, 'busy', 'x'), null, s);
  assert.deepEqual(callErrorOf('failed', 'sip_error', 'Service Unavailable'), { code: 'sip_error', message: 'Service Unavailable' });
  assert.deepEqual(callErrorOf('failed', 'worker_lost', null), { code: 'worker_lost', message: 'the media worker running the call was lost' });
  assert.deepEqual(callErrorOf('failed', 'dial_error', '  '), { code: 'dial_error', message: 'the call could not be dialed' });
  assert.deepEqual(callErrorOf('failed', null, null), { code: 'error', message: 'the call failed' });
  for (const r of END_REASONS) assert.ok(callErrorOf('failed', r, null)!.message.length > 0, r);
});
