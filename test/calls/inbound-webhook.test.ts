import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseInboundAnswer } from '../../src/calls/inbound-webhook.js';
import { numberCandidates } from '../../src/worker/control/inbound-router.js';

test('an inbound webhook answer: each field checked, metadata kept as written, empty is no change', () => {
  assert.deepEqual(parseInboundAnswer(''), {});
  assert.deepEqual(parseInboundAnswer('{"agent_id":"agt_1","dynamic_variables":{"name":"Ana"},"call_context":"vip","metadata":{"n":1.50}}'), {
    agentId: 'agt_1',
    dynamicVariables: { name: 'Ana' },
    callContext: 'vip',
    metadataJson: '{"n":1.50}',
  });
  assert.deepEqual(parseInboundAnswer('{"metadata":null,"agent_id":null}'), {});
  assert.equal(parseInboundAnswer('[1]'), 'the answer is not a JSON object');
  assert.match(String(parseInboundAnswer('{"dynamic_variables":{"n":1}}')), /dynamic_variables\.n must be a string/);
  assert.match(String(parseInboundAnswer('{"agent_id":7}')), /agent_id/);
  assert.match(String(parseInboundAnswer('{"call_context":5}')), /call_context/);
  assert.match(String(parseInboundAnswer('{"a":1,"a":2}')), /gives "a" twice/);
  assert.match(String(parseInboundAnswer('{"metadata":"' + 'x'.repeat(17_000) + '"}')), /over 16 KB/);
  assert.match(String(parseInboundAnswer('not json')), /not JSON/);
});

test("the numbers an INVITE's Request-URI or To user may stand for", () => {
  assert.deepEqual(numberCandidates(['+14155550123', '14155550123']), ['+14155550123']);
  assert.deepEqual(numberCandidates(['%2B1-415-555-0123']), ['+14155550123']);
  assert.deepEqual(numberCandidates(['trunk-7', '+442071838750']), ['+442071838750']);
  assert.deepEqual(numberCandidates(['alice', '', '0123', '+0123456789']), []);
});
