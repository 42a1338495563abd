/**
 * A flow reads the call's call_context: as {{call_context}} in its texts, and in branch cases that
 * match a variable's value (call_context, a dynamic variable) instead of the callee's last input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowBrain } from '../../src/voice/flow/brain.js';
import { FlowValidationError, validateFlow } from '../../src/voice/flow/validate.js';
import type { Flow, FlowAction } from '../../src/voice/flow/types.js';
import { flowVariables } from '../../src/worker/media/voice-call.js';

const flow: Flow = {
  start: 'route',
  nodes: {
    route: {
      type: 'branch',
      cases: [
        { variable: 'call_context', keywords: ['overdue'], next: 'overdue' },
        { variable: 'tier', equals: 'Gold', next: 'gold' },
      ],
      default: 'plain',
    },
    overdue: { type: 'say', text: 'About your account: {{call_context}}', next: 'ask' },
    gold: { type: 'say', text: 'Hello, valued gold customer.', next: 'ask' },
    plain: { type: 'say', text: 'Hello.', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 5000, next: 'again', on_timeout: 'bye' },
    // A variable case still matches after the callee spoke; an input case reads what they said.
    again: { type: 'branch', cases: [{ keywords: ['why'], next: 'why' }, { variable: 'call_context', keywords: ['overdue'], next: 'bye' }], default: 'bye' },
    why: { type: 'say', text: 'Because {{call_context}}', next: 'bye' },
    bye: { type: 'end' },
  },
};

const says = (actions: FlowAction[]) => actions.flatMap((a) => (a.type === 'say' ? [a.text] : []));
const brain = (callContext: string | undefined, vars: Record<string, string> = {}) =>
  new FlowBrain(flow, flowVariables({ dynamicVariables: vars, ...(callContext ? { callContext } : {}) }));

test('{{call_context}} is filled in say nodes, and a branch case on it matches its words', () => {
  const b = brain('Invoice 12 is OVERDUE by ten days.');
  assert.deepEqual(says(b.start()), ['About your account: Invoice 12 is OVERDUE by ten days.']);
  assert.deepEqual(b.opening(), ['About your account: Invoice 12 is OVERDUE by ten days.'], 'known before the answer too');
  assert.deepEqual(says(b.handle({ type: 'callee_utterance', text: 'why is that' })), ['Because Invoice 12 is OVERDUE by ten days.']);
});

test('equals on a dynamic variable (trimmed, any case); no match falls to the default; no call_context is empty', () => {
  assert.deepEqual(says(brain('all paid', { tier: ' gold ' }).start()), ['Hello, valued gold customer.']);
  assert.deepEqual(says(brain(undefined, { tier: 'silver' }).start()), ['Hello.']);
  assert.deepEqual(flowVariables({ dynamicVariables: { a: '1' } }), { call_context: '', a: '1' });
  assert.deepEqual(flowVariables({ dynamicVariables: { call_context: 'var' }, callContext: 'field' }), { call_context: 'field' }, "the call's own field wins");
  // A variable the call does not give matches no case.
  const b = new FlowBrain(flow, {});
  assert.deepEqual(says(b.start()), ['Hello.']);
});

test('validation: a variable case needs a variable name and exactly one of keywords or equals, and no dtmf', () => {
  const withCase = (c: unknown) => ({ start: 'b', nodes: { b: { type: 'branch', cases: [c], default: 'e' }, n: { type: 'end' }, e: { type: 'end' } } });
  assert.doesNotThrow(() => validateFlow(withCase({ variable: 'call_context', keywords: ['vip'], next: 'n' })));
  assert.doesNotThrow(() => validateFlow(withCase({ variable: 'tier', equals: 'gold', next: 'n' })));
  const bad: Array<[unknown, RegExp]> = [
    [{ variable: 'call context', keywords: ['x'], next: 'n' }, /"variable" must be a variable name/],
    [{ variable: 'tier', next: 'n' }, /exactly one of "keywords" or "equals"/],
    [{ variable: 'tier', equals: 'a', keywords: ['b'], next: 'n' }, /exactly one of "keywords" or "equals"/],
    [{ variable: 'tier', dtmf: '1', equals: 'a', next: 'n' }, /not "dtmf"/],
    [{ equals: 'gold', next: 'n' }, /"equals" needs a "variable"/],
  ];
  for (const [c, message] of bad) assert.throws(() => validateFlow(withCase(c)), (e: unknown) => e instanceof FlowValidationError && message.test(e.message), JSON.stringify(c));
});
