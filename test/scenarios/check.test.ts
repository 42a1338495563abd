import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExpectations, normalizeText, type ObservedCall, type ObservedTurn } from '../../src/cli/scenarios/check.js';

const call: ObservedCall = {
  status: 'completed',
  end_reason: 'agent_hangup',
  sip_status_code: 200,
  duration_s: 12.4,
  metrics: { answer_to_greeting_ms: 420, end_to_end_max_ms: 900 },
};
const turns: ObservedTurn[] = [
  { speaker: 'agent', text: 'Hello, this is the Outcall demo calling. Do you have a minute?' },
  { speaker: 'callee', text: 'yes i know' },
  { speaker: 'agent', text: 'Booked.', toolCalls: [{ name: 'book_slot', ok: true }] },
];

test('whole words, any case, punctuation ignored', () => {
  assert.equal(normalizeText('Hello,  World!'), ' hello world ');
  assert.ok(normalizeText('Do you have a MINUTE?').includes(normalizeText('a minute')));
  assert.ok(!normalizeText('i know').includes(normalizeText('no')));
});

test('everything met: no failures', () => {
  const f = checkExpectations(
    {
      status: 'completed',
      end_reason: 'agent_hangup',
      sip_status_code: 200,
      transcript_includes: [
        { speaker: 'agent', text: 'outcall DEMO' },
        { speaker: 'callee', text: 'yes' },
        { speaker: 'any', text: 'booked' },
      ],
      transcript_excludes: [
        { speaker: 'any', text: 'no' },
        { speaker: 'callee', text: 'hello' },
      ],
      tool_called: ['book_slot'],
      max_answer_to_greeting_ms: 420,
      max_turn_latency_ms: 900,
      min_turns: 3,
      max_duration_s: 13,
    },
    call,
    turns,
  );
  assert.deepEqual(f, []);
});

test('each expectation fails with expected vs actual', () => {
  const one = (expect: Parameters<typeof checkExpectations>[0], c: ObservedCall = call, t: ObservedTurn[] = turns) => checkExpectations(expect, c, t);
  assert.deepEqual(one({ status: 'busy' }), [{ expectation: 'status', expected: 'busy', actual: 'completed' }]);
  assert.deepEqual(one({ end_reason: 'busy' }, { ...call, end_reason: null }), [{ expectation: 'end_reason', expected: 'busy', actual: 'none' }]);
  assert.deepEqual(one({ sip_status_code: 486 }), [{ expectation: 'sip_status_code', expected: '486', actual: '200' }]);
  assert.deepEqual(one({ transcript_includes: [{ speaker: 'agent', text: 'outcall' }, { speaker: 'callee', text: 'hello' }] }), [
    { expectation: 'transcript_includes[1]', expected: 'the callee says "hello"', actual: 'callee: "yes i know"' },
  ]);
  assert.deepEqual(one({ transcript_includes: [{ speaker: 'any', text: 'bye' }] }, call, []), [
    { expectation: 'transcript_includes[0]', expected: 'anyone says "bye"', actual: 'an empty transcript' },
  ]);
  assert.deepEqual(one({ transcript_excludes: [{ speaker: 'agent', text: 'a minute' }] }), [
    { expectation: 'transcript_excludes[0]', expected: 'the agent never says "a minute"', actual: 'agent: "Hello, this is the Outcall demo calling. Do you have a minute?"' },
  ]);
  assert.deepEqual(one({ tool_called: ['book_slot', 'cancel'] }), [{ expectation: 'tool_called[1]', expected: 'the agent calls tool "cancel"', actual: 'tools called: book_slot' }]);
  assert.deepEqual(one({ tool_called: ['x'] }, call, turns.slice(0, 2)), [{ expectation: 'tool_called[0]', expected: 'the agent calls tool "x"', actual: 'no tool calls' }]);
  assert.deepEqual(one({ max_answer_to_greeting_ms: 419 }), [{ expectation: 'max_answer_to_greeting_ms', expected: '<= 419 ms', actual: '420 ms' }]);
  assert.deepEqual(one({ max_turn_latency_ms: 899 }), [{ expectation: 'max_turn_latency_ms', expected: '<= 899 ms', actual: '900 ms' }]);
  assert.deepEqual(one({ max_turn_latency_ms: 5000 }, { ...call, metrics: null }), [{ expectation: 'max_turn_latency_ms', expected: '<= 5000 ms', actual: 'not measured' }]);
  assert.deepEqual(one({ max_duration_s: 12 }), [{ expectation: 'max_duration_s', expected: '<= 12 s', actual: '12.4 s' }]);
  assert.deepEqual(one({ max_duration_s: 12 }, { ...call, duration_s: null }), [{ expectation: 'max_duration_s', expected: '<= 12 s', actual: 'not measured' }]);
  assert.deepEqual(one({ min_turns: 4 }), [{ expectation: 'min_turns', expected: '>= 4 turns', actual: '3 turns' }]);
});

test('several unmet expectations are all reported, in order', () => {
  const f = checkExpectations({ status: 'completed', end_reason: 'agent_hangup', sip_status_code: 200, min_turns: 1 }, { ...call, status: 'busy', end_reason: 'busy', sip_status_code: 486, metrics: null }, []);
  assert.deepEqual(
    f.map((x) => `${x.expectation}: ${x.expected} / ${x.actual}`),
    ['status: completed / busy', 'end_reason: agent_hangup / busy', 'sip_status_code: 200 / 486', 'min_turns: >= 1 turns / 0 turns'],
  );
});
