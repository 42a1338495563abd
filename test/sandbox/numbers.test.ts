import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAGIC_NUMBERS, routeFor, SANDBOX_CALLER_ID } from '../../src/sandbox/numbers.js';

describe('sandbox number routing', () => {
  test('the documented numbers route to their behaviours', () => {
    const table = Object.fromEntries(MAGIC_NUMBERS.map((n) => [n.number, n.name]));
    assert.deepEqual(table, {
      '+12025550100': 'human',
      '+12025550101': 'busy',
      '+12025550102': 'no-answer',
      '+12025550103': 'declined',
      '+12025550104': 'failure',
      '+12025550105': 'voicemail',
      '+12025550106': 'hangs-up',
      '+12025550107': 'slow-answer',
      '+12025550108': 'interrupter',
      '+12025550109': 'voicemail-no-beep',
      '+12025550110': 'voicemail-high-beep',
      '+12025550111': 'screening',
      '+12025550112': 'intercept',
      '+12025550113': 'fax',
      '+12025550114': 'talkative-human',
      '+12025550115': 'intercept-early',
      '+12025550116': 'fax-answer',
    });
    for (const n of MAGIC_NUMBERS) assert.equal(routeFor(n.number)?.name, n.name, n.number);
    assert.deepEqual(routeFor('+12025550101')?.route, { kind: 'reject', status: 486, reason: 'Busy Here', ringMs: 0 });
    assert.deepEqual(routeFor('+12025550107')?.route, { kind: 'persona', persona: 'human', answerAfterMs: 8000 });
    assert.deepEqual(routeFor('+12025550115')?.route, { kind: 'persona', persona: 'intercept', earlyMedia: { finalStatus: 404, reason: 'Not Found' } });
    for (const [number, persona] of [['+13125550109', 'voicemail-no-beep'], ['2025550110', 'voicemail-high-beep'], ['+1 415 555 0111', 'screening'], ['5550112', 'intercept'], ['+12125550113', 'fax'], ['+1.202.555.0114', 'talkative-human']]) {
      assert.deepEqual(routeFor(number as string)?.route, { kind: 'persona', persona }, number);
    }
  });

  test('any area code, with or without +1, visual separators allowed', () => {
    assert.equal(routeFor('+14155550103')?.name, 'declined');
    assert.equal(routeFor('12125550104')?.name, 'failure');
    assert.equal(routeFor('2025550102')?.name, 'no-answer');
    assert.equal(routeFor('5550101')?.name, 'busy');
    assert.equal(routeFor('+1 (202) 555-0100')?.name, 'human');
    assert.equal(routeFor('+1.202.555.0105')?.name, 'voicemail');
  });

  test('numbers outside the fictional range, unassigned lines and garbage do not route', () => {
    for (const n of ['+12025550199', '+12025550117', '+12025550120', '+12025550198', '+12025550200', '+12025551234', '+442075550100', '+1202555010', 'alice', '', '+1125550100']) {
      assert.equal(routeFor(n), undefined, n);
    }
    assert.match(SANDBOX_CALLER_ID, /^\+1\d{3}55501\d\d$/, 'the caller id is fictional too');
    assert.equal(routeFor(SANDBOX_CALLER_ID), undefined, 'and is not a magic number');
  });
});
