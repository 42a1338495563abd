import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALL_STATUSES, canTransition, isTerminal, TERMINAL_STATUSES, type CallStatus } from '../../src/contract/status.js';

// The whole matrix, written out independently of the module so a changed rule fails here.
const LEGAL: Array<[CallStatus, CallStatus]> = [
  ['queued', 'dispatching'],
  ['queued', 'canceled'],
  ['queued', 'failed'],
  ['dispatching', 'queued'],
  ['dispatching', 'dialing'],
  ['dispatching', 'canceled'],
  ['dispatching', 'failed'],
  ['dialing', 'in_progress'],
  ['dialing', 'no_answer'],
  ['dialing', 'busy'],
  ['dialing', 'failed'],
  ['dialing', 'canceled'],
  // Inbound: answered, or the caller gave up, or it could not be answered.
  ['ringing', 'in_progress'],
  ['ringing', 'canceled'],
  ['ringing', 'failed'],
  ['in_progress', 'completed'],
  ['in_progress', 'failed'],
];

test('every legal transition is allowed and every other pair is refused', () => {
  const legal = new Set(LEGAL.map(([a, b]) => `${a}->${b}`));
  let checked = 0;
  for (const from of CALL_STATUSES) {
    for (const to of CALL_STATUSES) {
      assert.equal(canTransition(from, to), legal.has(`${from}->${to}`), `${from} -> ${to}`);
      checked++;
    }
  }
  assert.equal(checked, 100);
});

test('terminal statuses are exactly the five endings, and none has a way out', () => {
  assert.deepEqual([...TERMINAL_STATUSES].sort(), ['busy', 'canceled', 'completed', 'failed', 'no_answer']);
  for (const s of CALL_STATUSES) {
    assert.equal(isTerminal(s), (TERMINAL_STATUSES as readonly string[]).includes(s));
    if (isTerminal(s)) for (const to of CALL_STATUSES) assert.equal(canTransition(s, to), false);
  }
});

test('an answered call can never become unanswered outcomes', () => {
  for (const to of ['no_answer', 'busy', 'canceled', 'queued', 'dialing'] as const) assert.equal(canTransition('in_progress', to), false);
});
