import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowBrain } from '../../src/voice/flow/brain.js';
import { containsKeyword, words } from '../../src/voice/flow/match.js';
import type { Flow, FlowAction } from '../../src/voice/flow/types.js';

/** Confirm an appointment: greeting -> listen -> branch yes/no/other -> say -> end. */
const confirmAppointment: Flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Hi {{first_name}}, this is Bright Dental. Can you make your appointment on {{appt_time}}?', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 6000, next: 'decide', on_timeout: 'bye_silent' },
    decide: {
      type: 'branch',
      cases: [
        { keywords: ['no', 'not', "can't", 'cancel'], next: 'declined' },
        { keywords: ['yes', 'yeah', 'sure', 'of course'], next: 'confirmed' },
      ],
      default: 'unclear',
    },
    confirmed: { type: 'say', text: 'Great, see you on {{appt_time}}.', next: 'bye' },
    declined: { type: 'say', text: 'No problem, we will call you to reschedule.', next: 'bye' },
    unclear: { type: 'say', text: 'Sorry, I did not catch that. Please say yes or no.', next: 'ask' },
    bye: { type: 'end', text: 'Goodbye!' },
    bye_silent: { type: 'end', reason: 'inactivity_timeout' },
  },
};
const vars = { first_name: 'Ana', appt_time: 'Tuesday at 10 AM' };

const says = (actions: FlowAction[]) => actions.flatMap((a) => (a.type === 'say' ? [a.text] : []));

test('confirm appointment: the greeting is filled from dynamic_variables, then the brain waits', () => {
  const brain = new FlowBrain(confirmAppointment, vars);
  assert.deepEqual(brain.start(), [
    { type: 'say', text: 'Hi Ana, this is Bright Dental. Can you make your appointment on Tuesday at 10 AM?' },
    { type: 'wait', timeoutMs: 6000, listenId: 1 },
  ]);
  assert.equal(brain.currentNode, 'ask');
  assert.throws(() => brain.start(), /already/);
});

test('confirm appointment: "Yes, that works" confirms and hangs up with agent_hangup', () => {
  const brain = new FlowBrain(confirmAppointment, vars);
  brain.start();
  assert.deepEqual(brain.handle({ type: 'callee_utterance', text: 'Yes, that works.' }), [
    { type: 'say', text: 'Great, see you on Tuesday at 10 AM.' },
    { type: 'say', text: 'Goodbye!' },
    { type: 'end_call', reason: 'agent_hangup' },
  ]);
  assert.equal(brain.ended, true);
  assert.deepEqual(brain.handle({ type: 'callee_utterance', text: 'hello?' }), [], 'nothing after the end');
});

test('confirm appointment: "no" wins over "sure" by case order, any case; "I cannot" is not the word "not"', () => {
  const no = new FlowBrain(confirmAppointment, vars);
  no.start();
  assert.deepEqual(says(no.handle({ type: 'callee_utterance', text: "Sure... actually NO, I can't." })), ['No problem, we will call you to reschedule.', 'Goodbye!']);
  const cannot = new FlowBrain(confirmAppointment, vars);
  cannot.start();
  assert.deepEqual(says(cannot.handle({ type: 'callee_utterance', text: 'I cannot say, yesterday was busy' })), ['Sorry, I did not catch that. Please say yes or no.']);
});

test('confirm appointment: an empty or punctuation-only transcript is not an answer; the brain keeps listening', () => {
  const brain = new FlowBrain(confirmAppointment, vars);
  brain.start();
  assert.deepEqual(brain.handle({ type: 'callee_utterance', text: '  ...  ' }), []);
  assert.equal(brain.currentNode, 'ask');
  assert.deepEqual(says(brain.handle({ type: 'callee_utterance', text: 'yes' })), ['Great, see you on Tuesday at 10 AM.', 'Goodbye!']);
});

test('confirm appointment: an unclear answer asks again and the second answer is used', () => {
  const brain = new FlowBrain(confirmAppointment, vars);
  brain.start();
  const again = brain.handle({ type: 'callee_utterance', text: 'Who is this?' });
  assert.deepEqual(again, [
    { type: 'say', text: 'Sorry, I did not catch that. Please say yes or no.' },
    { type: 'wait', timeoutMs: 6000, listenId: 2 },
  ]);
  assert.deepEqual(says(brain.handle({ type: 'callee_utterance', text: 'Of course!' })), ['Great, see you on Tuesday at 10 AM.', 'Goodbye!']);
});

test('DTMF branch: press 1 to confirm, 2 to cancel, other keys fall to the default; words do not match digit cases', () => {
  const flow: Flow = {
    start: 'menu',
    nodes: {
      menu: { type: 'say', text: 'Press 1 to confirm or 2 to cancel.', next: 'keys' },
      keys: { type: 'listen', timeout_ms: 5000, next: 'route', on_timeout: 'end' },
      route: { type: 'branch', cases: [{ dtmf: '1', keywords: ['confirm'], next: 'ok' }, { dtmf: '2', next: 'cancel' }], default: 'menu' },
      ok: { type: 'end', text: 'Confirmed.' },
      cancel: { type: 'end', text: 'Cancelled, you pressed {{last_dtmf}}.' },
      end: { type: 'end' },
    },
  };
  const one = new FlowBrain(flow);
  one.start();
  assert.deepEqual(says(one.handle({ type: 'dtmf', digit: '1' })), ['Confirmed.']);
  const two = new FlowBrain(flow);
  two.start();
  assert.deepEqual(says(two.handle({ type: 'dtmf', digit: '2' })), ['Cancelled, you pressed 2.']);
  const star = new FlowBrain(flow);
  star.start();
  assert.deepEqual(star.handle({ type: 'dtmf', digit: '*' }), [
    { type: 'say', text: 'Press 1 to confirm or 2 to cancel.' },
    { type: 'wait', timeoutMs: 5000, listenId: 2 },
  ]);
  assert.deepEqual(says(star.handle({ type: 'callee_utterance', text: 'one' })), ['Press 1 to confirm or 2 to cancel.'], '"one" is not the digit 1');
  assert.deepEqual(says(star.handle({ type: 'callee_utterance', text: 'I confirm' })), ['Confirmed.'], 'a case can match by keyword too');
});

test('listen timeout: reprompts up to max_reprompts, then ends with inactivity_timeout; a stale timer is ignored', () => {
  const flow: Flow = {
    start: 'ask',
    nodes: {
      ask: { type: 'listen', timeout_ms: 4000, next: 'thanks', on_timeout: 'giveup', reprompt: 'Are you still there?', max_reprompts: 2 },
      thanks: { type: 'end', text: 'Thanks.' },
      giveup: { type: 'end', text: 'I will try again later. Goodbye.', reason: 'inactivity_timeout' },
    },
  };
  const brain = new FlowBrain(flow);
  assert.deepEqual(brain.start(), [{ type: 'wait', timeoutMs: 4000, listenId: 1 }]);
  assert.deepEqual(brain.handle({ type: 'timeout', listenId: 1 }), [
    { type: 'say', text: 'Are you still there?' },
    { type: 'wait', timeoutMs: 4000, listenId: 2 },
  ]);
  assert.deepEqual(brain.handle({ type: 'timeout', listenId: 1 }), [], 'the first wait was replaced; its timer is stale');
  assert.deepEqual(says(brain.handle({ type: 'timeout', listenId: 2 })), ['Are you still there?']);
  assert.deepEqual(brain.handle({ type: 'timeout' }), [
    { type: 'say', text: 'I will try again later. Goodbye.' },
    { type: 'end_call', reason: 'inactivity_timeout' },
  ]);
  assert.equal(brain.ended, true);
});

test('listen timeout without reprompt goes straight to on_timeout', () => {
  const brain = new FlowBrain({
    start: 'l',
    nodes: { l: { type: 'listen', timeout_ms: 1000, next: 'a', on_timeout: 'b' }, a: { type: 'end', text: 'A' }, b: { type: 'end', text: 'B' } },
  });
  brain.start();
  assert.deepEqual(says(brain.handle({ type: 'timeout', listenId: 1 })), ['B']);
});

const toolFlow: Flow = {
  start: 'ask',
  nodes: {
    ask: { type: 'listen', timeout_ms: 5000, next: 'save', on_timeout: 'bye' },
    save: {
      type: 'tool',
      tool: 'crm_update',
      arguments: { customer: '{{customer_id}}', answer: '{{last_utterance}}', confirmed: true, tags: ['flow', '{{first_name}}'], n: 3 },
      on_success: 'saved',
      on_failure: 'failed',
    },
    saved: { type: 'say', text: 'Saved.', next: 'bye' },
    failed: { type: 'say', text: 'Sorry, I could not save that.', next: 'bye' },
    bye: { type: 'end', text: 'Bye.' },
  },
};

test('tool node: calls the tool with filled static arguments, waits, and ignores input meanwhile', () => {
  const brain = new FlowBrain(toolFlow, { customer_id: 'c-42', first_name: 'Ana' }, { toolNames: ['crm_update'] });
  brain.start();
  assert.deepEqual(brain.handle({ type: 'callee_utterance', text: 'Tuesday works' }), [
    { type: 'call_tool', name: 'crm_update', arguments: { customer: 'c-42', answer: 'Tuesday works', confirmed: true, tags: ['flow', 'Ana'], n: 3 } },
  ]);
  assert.equal(brain.currentNode, 'save');
  assert.deepEqual(brain.handle({ type: 'dtmf', digit: '5' }), [], 'no input while the tool runs');
  assert.deepEqual(brain.handle({ type: 'timeout' }), []);
  assert.deepEqual(brain.handle({ type: 'tool_result', ok: true, result: { id: 1 } }), [
    { type: 'say', text: 'Saved.' },
    { type: 'say', text: 'Bye.' },
    { type: 'end_call', reason: 'agent_hangup' },
  ]);
});

test('tool node: a failed tool takes on_failure; a tool_result while listening is ignored', () => {
  const brain = new FlowBrain(toolFlow, { customer_id: 'c-1', first_name: 'Bo' });
  brain.start();
  assert.deepEqual(brain.handle({ type: 'tool_result', ok: true }), [], 'no tool is running');
  brain.handle({ type: 'callee_utterance', text: 'ok' });
  assert.deepEqual(says(brain.handle({ type: 'tool_result', ok: false, result: 'HTTP 500' })), ['Sorry, I could not save that.', 'Bye.']);
});

test('a branch with no input yet takes its default; the original flow object is not changed by running it', () => {
  const flow: Flow = {
    start: 'b',
    nodes: { b: { type: 'branch', cases: [{ keywords: ['x'], next: 'x' }], default: 'd' }, x: { type: 'end', text: 'X' }, d: { type: 'end', text: 'D' } },
  };
  const copy = structuredClone(flow);
  assert.deepEqual(says(new FlowBrain(flow).start()), ['D']);
  assert.deepEqual(flow, copy);
});

test('word matching: whole words, any case, multi-word keywords in sequence, curly apostrophes', () => {
  assert.deepEqual(words('YES!  Of-course, I don’t know'), ['yes', 'of', 'course', 'i', "don't", 'know']);
  assert.equal(containsKeyword(words('yesterday'), 'yes'), false);
  assert.equal(containsKeyword(words('Well, of course.'), 'of course'), true);
  assert.equal(containsKeyword(words('course of action'), 'of course'), false);
  assert.equal(containsKeyword(words('Sí, claro'), 'SÍ'), true);
  assert.equal(containsKeyword(words('anything'), '...'), false);
});
