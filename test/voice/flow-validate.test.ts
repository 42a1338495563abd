import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowBrain } from '../../src/voice/flow/brain.js';
import { FlowValidationError, validateFlow } from '../../src/voice/flow/validate.js';

/** Asserts the flow is rejected and that the message names the node and says what is wrong. */
function rejects(flow: unknown, node: string | undefined, pattern: RegExp, opts = {}): FlowValidationError {
  let caught: unknown;
  try {
    validateFlow(flow, opts);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof FlowValidationError, `rejected with a FlowValidationError, got ${String(caught)}`);
  if (node !== undefined) {
    assert.ok(caught.message.includes(`node "${node}"`), `names node "${node}": ${caught.message}`);
    assert.ok(caught.problems.some((p) => p.node === node));
  }
  assert.match(caught.message, pattern);
  return caught;
}

const ok = {
  start: 'hi',
  nodes: {
    hi: { type: 'say', text: 'Hello', next: 'l' },
    l: { type: 'listen', timeout_ms: 5000, next: 'b', on_timeout: 'end' },
    b: { type: 'branch', cases: [{ keywords: ['yes'], next: 'end' }], default: 'hi' },
    end: { type: 'end', text: 'Bye' },
  },
};

test('a valid flow parsed from JSON text is accepted as is and runs', () => {
  const flow = validateFlow(JSON.parse(JSON.stringify(ok)));
  assert.deepEqual(flow, ok);
  assert.deepEqual(new FlowBrain(JSON.parse(JSON.stringify(ok))).start()[0], { type: 'say', text: 'Hello' });
});

test('a reference to a missing node names the node and field', () => {
  const e = rejects({ ...ok, nodes: { ...ok.nodes, l: { ...ok.nodes.l, next: 'bb' } } }, 'l', /next "bb" is not a node/);
  assert.deepEqual(e.problems.map((p) => p.path), ['nodes.l.next']);
  rejects({ ...ok, nodes: { ...ok.nodes, b: { ...ok.nodes.b, cases: [{ keywords: ['yes'], next: 'nowhere' }] } } }, 'b', /next "nowhere" is not a node/);
});

test('start must name a node', () => {
  rejects({ ...ok, start: 'hello' }, undefined, /"start" must name a node, got "hello"/);
});

test('unknown node types and unknown fields (typos) are rejected', () => {
  rejects({ ...ok, nodes: { ...ok.nodes, hi: { type: 'speak', text: 'x', next: 'l' } } }, 'hi', /unknown type "speak"/);
  rejects({ ...ok, nodes: { ...ok.nodes, hi: { type: 'say', text: 'x', nxt: 'l' } } }, 'hi', /needs "next".*unknown field "nxt"/);
  rejects({ ...ok, extra: 1 }, undefined, /unknown field "extra"/);
});

test('field values are checked: timeout range, reprompt needs text, dtmf digit, keywords, end reason, empty text', () => {
  const at = (id: string, node: unknown) => ({ ...ok, nodes: { ...ok.nodes, [id]: node } });
  rejects(at('l', { ...ok.nodes.l, timeout_ms: 50 }), 'l', /timeout_ms/);
  rejects(at('l', { ...ok.nodes.l, max_reprompts: 2 }), 'l', /needs a "reprompt"/);
  rejects(at('b', { ...ok.nodes.b, cases: [{ dtmf: '12', next: 'end' }] }), 'b', /"dtmf" must be one of/);
  rejects(at('b', { ...ok.nodes.b, cases: [{ keywords: [], next: 'end' }] }), 'b', /"keywords" must be a non-empty list/);
  rejects(at('b', { ...ok.nodes.b, cases: [{ next: 'end' }] }), 'b', /needs "keywords" or "dtmf"/);
  rejects(at('b', { ...ok.nodes.b, cases: [] }), 'b', /1 to 50 cases/);
  rejects(at('end', { type: 'end', reason: 'hung_up' }), 'end', /"reason" must be one of agent_hangup, inactivity_timeout/);
  rejects(at('hi', { type: 'say', text: '  ', next: 'l' }), 'hi', /non-empty text/);
});

test('a tool node must name one of the agent tools when they are given', () => {
  const flow = {
    start: 't',
    nodes: { t: { type: 'tool', tool: 'crm', arguments: { a: 1 }, on_success: 'e', on_failure: 'e' }, e: { type: 'end' } },
  };
  assert.doesNotThrow(() => validateFlow(flow, { toolNames: ['crm'] }));
  rejects(flow, 't', /tool "crm" is not one of the agent's tools \(end_call\)/, { toolNames: ['end_call'] });
  rejects({ ...flow, nodes: { ...flow.nodes, t: { ...flow.nodes.t, arguments: [1] } } }, 't', /"arguments" must be an object/);
});

test('unreachable nodes are rejected by name', () => {
  rejects({ ...ok, nodes: { ...ok.nodes, orphan: { type: 'end' } } }, 'orphan', /not reachable from start "hi"/);
});

test('a loop that never waits for the callee is rejected, naming its nodes', () => {
  const flow = {
    start: 'a',
    nodes: {
      a: { type: 'say', text: 'A', next: 'b' },
      b: { type: 'branch', cases: [{ keywords: ['x'], next: 'e' }], default: 'a' },
      e: { type: 'end' },
    },
  };
  rejects(flow, 'a', /loop "a" -> "b" -> "a" has no listen or tool node/);
  // The same loop through a listen node waits each time round: fine.
  assert.doesNotThrow(() => validateFlow(ok));
});

test('all problems are reported at once, and garbage input is rejected with a clear message', () => {
  const e = rejects({ start: 'x', nodes: { x: { type: 'say', text: '', next: 'y' } } }, 'x', /non-empty text.*next "y" is not a node/);
  assert.equal(e.problems.length, 2);
  rejects(null, undefined, /a flow is an object/);
  rejects({ start: 'a', nodes: {} }, undefined, /at least one node/);
  rejects({ start: 'a', nodes: { 'bad id': { type: 'end' } } }, 'bad id', /node ids are/);
  assert.throws(() => new FlowBrain({ start: 'a', nodes: { a: { type: 'say', text: 'x', next: 'a' } } }), FlowValidationError, 'the brain validates too');
});
