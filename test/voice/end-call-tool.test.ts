/**
 * end_call as the agent declares it: offered by default (built-in name and description), under its
 * declared name and description when declared (what the model sees and calls), and not at all with
 * `enabled: false`, for the LLM brain (the speech-to-speech session: test/voice/realtime-conversation).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { END_CALL_BUILT_IN, endCallFromAgent, modelToolsFromAgent } from '../../src/providers/llm/agent-tools.js';
import { ScriptedLlm } from '../../src/providers/llm/scripted.js';
import { ProviderError } from '../../src/providers/errors.js';
import { LlmAgentBrain } from '../../src/voice/llm-brain.js';
import type { BrainOutput } from '../../src/voice/brain.js';

test('what the model is offered: the built-in by default, the declaration as declared, nothing when disabled', () => {
  assert.deepEqual(endCallFromAgent([]), END_CALL_BUILT_IN);
  assert.equal(END_CALL_BUILT_IN.name, 'end_call');
  const declared = endCallFromAgent([{ type: 'end_call', name: 'hang_up', description: 'Hang up once the slot is booked.' }]);
  assert.deepEqual(declared, { name: 'hang_up', description: 'Hang up once the slot is booked.', parameters: END_CALL_BUILT_IN.parameters });
  assert.deepEqual(endCallFromAgent([{ type: 'end_call', description: 'Only when they say bye.' }]), { ...END_CALL_BUILT_IN, description: 'Only when they say bye.' });
  assert.equal(endCallFromAgent([{ type: 'end_call', enabled: false }]), null);
  const all = modelToolsFromAgent([{ type: 'send_dtmf' }, { type: 'end_call', name: 'bye' }]);
  assert.deepEqual([all.tools.map((t) => t.name), all.endCall?.name], [['send_dtmf'], 'bye']);
  assert.throws(() => modelToolsFromAgent([{ type: 'http', name: 'end_call', url: 'https://x.test', description: 'd' }]), (e: unknown) => e instanceof ProviderError && /two tools are named "end_call"/.test(e.message));
});

async function run(brain: LlmAgentBrain): Promise<BrainOutput[]> {
  const out: BrainOutput[] = [];
  for await (const o of brain.respond({ type: 'utterance', text: 'that is all, bye' }, new AbortController().signal)) out.push(o);
  return out;
}

test('the brain offers the declared end_call and hangs up when the model calls it by that name', async () => {
  const llm = new ScriptedLlm().reply({ toolCalls: [{ id: 'c1', name: 'hang_up', arguments: { goodbye: 'Bye now.' } }] });
  const endCall = endCallFromAgent([{ type: 'end_call', name: 'hang_up', description: 'Hang up once the slot is booked.' }]);
  const out = await run(new LlmAgentBrain({ llm, systemPrompt: 'p', endCall }));
  const offered = llm.requests[0]?.tools ?? [];
  assert.deepEqual(offered.map((t) => [t.name, t.description]), [['hang_up', 'Hang up once the slot is booked.']]);
  assert.deepEqual(out.filter((o) => o.type === 'text' || o.type === 'end_call'), [{ type: 'text', text: ' Bye now.' }, { type: 'end_call', reason: 'agent_hangup' }]);
});

test('disabled: not offered, and a model that calls end_call anyway gets a tool error, not a hang-up', async () => {
  const llm = new ScriptedLlm().reply({ toolCalls: [{ id: 'c1', name: 'end_call', arguments: {} }] }).reply({ text: ['Anything else?'] });
  const ran: string[] = [];
  const brain = new LlmAgentBrain({ llm, systemPrompt: 'p', endCall: null, runTool: async (name) => {
    ran.push(name);
    throw new Error(`the agent has no tool named "${name}"`);
  } });
  const out = await run(brain);
  assert.deepEqual(llm.requests[0]?.tools, []);
  assert.deepEqual(ran, ['end_call']);
  assert.equal(out.some((o) => o.type === 'end_call'), false, 'no hang-up');
  assert.ok(out.some((o) => o.type === 'tool_call_finished' && !o.ok));
  // The default (nothing declared): the built-in is offered.
  const def = new ScriptedLlm().reply({ text: ['ok'] });
  await run(new LlmAgentBrain({ llm: def, systemPrompt: 'p' }));
  assert.deepEqual(def.requests[0]?.tools?.map((t) => t.name), ['end_call']);
});
