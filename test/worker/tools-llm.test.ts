/**
 * The worker's wiring of tools for an LLM agent (voice-call.ts): the model is offered the agent's
 * tools (end_call once), its calls run through the real runner (a signed http tool on a local
 * server, send_dtmf on the leg), results go back to the model, and the transcript keeps them.
 * The model is a local server speaking OpenAI's documented streaming protocol.
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { generateWebhookSecret, verifyWebhook } from '../../src/http-client/signing.js';
import type { VoiceEvent } from '../../src/voice/events.js';
import { voicePreparer } from '../../src/worker/media/voice-call.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { FakeLeg } from '../voice/helpers/fake-leg.js';
import { FakeStt, FakeVad, ToneTts } from '../voice/helpers/fakes.js';
import { dialCommand } from './dial-command.js';
import { ToolServer } from './tools-server.js';
import type { AgentRow } from '../../src/store/agent-rows.js';
import { voiceSpecFor } from '../../src/agents/voice-spec.js';

class DtmfLeg extends FakeLeg {
  dtmf: string[] = [];
  sendDtmf(digits: string): void {
    this.dtmf.push(digits);
  }
}

let llm: OpenAiProtocolServer;
let tools: ToolServer;
before(async () => {
  llm = await OpenAiProtocolServer.start();
  tools = await new ToolServer().start();
});
after(async () => {
  await llm.close();
  await tools.stop();
});

test('LLM agent: offered its tools, the model calls an http tool and send_dtmf, reads the results, hangs up; all in the transcript', async () => {
  const secret = generateWebhookSecret();
  tools.answer = () => ({ status: 200, body: '{"slot":"tue 10:00"}', contentType: 'application/json' });
  llm
    .reply({ kind: 'tool_calls', textBefore: ['Let me check.'], calls: [{ id: 'c1', name: 'lookup', argumentPieces: ['{"day":', '"tue"}'] }] })
    .reply({ kind: 'tool_calls', calls: [{ id: 'c2', name: 'send_dtmf', argumentPieces: ['{"digits":"12"}'] }] })
    .reply({ kind: 'tool_calls', calls: [{ id: 'c3', name: 'end_call', argumentPieces: ['{"goodbye":"Bye now."}'] }] });
  const clock = new VirtualClock();
  const leg = new DtmfLeg();
  const events: VoiceEvent[] = [];
  const cmd = dialCommand({
    callId: 'call_9',
    voice: {
      llm: { provider: 'openai', model: 'gpt-test', base_url: llm.baseUrl, api_key: 'sk-test' },
      systemPrompt: 'Book visits.',
      dynamicVariables: {},
      tools: [
        { type: 'http', name: 'lookup', description: 'Finds a slot', url: tools.url(), parameters: { type: 'object', properties: { day: { type: 'string' } } } },
        { type: 'send_dtmf' },
        { type: 'end_call' },
      ],
      toolContext: { agentId: 'agt_9', metadata: { crm: 7 }, signingSecrets: [secret], allowPrivateUrls: true },
    },
  });
  const session = voicePreparer({ engines: { tts: new ToneTts(), vad: new FakeVad(), stt: new FakeStt() }, clock })(cmd)(leg, (e) => events.push(e));
  leg.answer(8000);
  for (let i = 0; i < 3000 && !events.some((e) => e.type === 'ended'); i++) {
    leg.play(20);
    await clock.advanceAsync(20);
    await new Promise((r) => setTimeout(r, 1)); // real I/O: the model and tool servers are real sockets
  }
  assert.ok(events.some((e) => e.type === 'ended'), 'the call ended');
  const offered = (llm.requests[0]?.body.tools as Array<{ function: { name: string } }>).map((t) => t.function.name);
  assert.deepEqual(offered, ['lookup', 'send_dtmf', 'end_call'], 'the agent\'s tools, end_call once');
  const r = tools.requests[0];
  assert.ok(r);
  verifyWebhook(secret, r.headers, r.body);
  assert.deepEqual(JSON.parse(r.body), { call_id: 'call_9', agent_id: 'agt_9', tool: 'lookup', arguments: { day: 'tue' }, metadata: { crm: 7 } });
  assert.deepEqual(leg.dtmf, ['12']);
  // The model read each result as a tool message.
  const toolMsgs = (llm.requests[2]?.body.messages as Array<{ role: string; content: string; tool_call_id?: string }>).filter((m) => m.role === 'tool');
  assert.deepEqual(toolMsgs.map((m) => [m.tool_call_id, JSON.parse(m.content)]), [
    ['c1', { ok: true, result: { slot: 'tue 10:00' } }],
    ['c2', { ok: true, result: { sent: '12' } }],
  ]);
  const turn = session.transcript.at(-1);
  assert.deepEqual(turn?.toolCalls?.map((t) => [t.name, t.ok]), [['lookup', true], ['send_dtmf', true]]);
  assert.equal(turn?.text, 'Let me check. Bye now.');
  const ended = events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'agent_hangup');
});

test('voiceSpecFor: the agent\'s tools and what they need travel to the worker; agents without tools carry none', () => {
  const base = { id: 'agt_1', system_prompt: '', greeting: '', language: 'en-US', voice: null, tts: null, stt: null, llm: null, flow: { start: 'a', nodes: { a: { type: 'end' } } }, tools: [] } as unknown as AgentRow;
  const call = { callContext: null, dynamicVariables: {} };
  const tc = { agentId: 'agt_1', metadata: { a: 1 }, signingSecrets: ['whsec_x'], allowPrivateUrls: false };
  const none = voiceSpecFor(base, call, {}, tc);
  assert.equal(none?.tools, undefined);
  assert.equal(none?.toolContext, undefined);
  const declared = [{ type: 'transfer_call' as const, transfer_to: '+15550001111' }];
  const withTools = voiceSpecFor({ ...base, tools: declared }, call, {}, tc);
  assert.deepEqual(withTools?.tools, declared);
  assert.deepEqual(withTools?.toolContext, tc);
});
