/**
 * The agent's tools on live calls, end to end: API -> store -> dispatcher -> media worker thread ->
 * SIP/RTP -> a real peer, with a scripted flow so every step is deterministic.
 * - baresip (L16/16000): an http tool on a local receiver, signed like the webhooks (verifyWebhook
 *   with the org's secret accepts it) and carrying the call's id, arguments and metadata; it answers
 *   slowly, so the filler is heard; send_dtmf sends keys baresip reports receiving; a second http tool
 *   answers 409 and the flow takes its failure branch; the transcript records every tool call.
 * - SIPp: transfer_call REFERs the callee to the configured target after the announcement, SIPp
 *   accepts (202 + NOTIFY 200), we hang up, and the call ends `transferred`.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { verifyWebhook } from '../../src/http-client/signing.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { calleeSpeech, startCallee, type Callee } from '../fixtures/voice/callee.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freePort, startSipp, waitExit, type SippProcess } from '../helpers/sipp.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';
import { ToolServer } from '../worker/tools-server.js';

const missing = ['baresip', 'sipp', 'espeak-ng', 'flite', 'sox', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
const SCENARIO = fileURLToPath(new URL('../fixtures/sipp/uas_answer_refer.xml', import.meta.url));
const TERMINAL = ['completed', 'failed', 'busy', 'no_answer', 'canceled'];

interface Turn {
  speaker: string;
  text: string;
  toolCalls?: Array<{ name: string; arguments: unknown; ok?: boolean; result?: unknown }>;
}

let t: TestApp;
let plane: CallPlane;
let receiver: ToolServer;
let callee: Callee | undefined;
let sipp: SippProcess | undefined;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  receiver = await new ToolServer().start();
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 36400, rtpPortMax: 36798, codecs: ['L16/16000', 'PCMU', 'PCMA'] }); // the callee speaks L16 only
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await receiver.stop();
  await t.close();
});
afterEach(async () => {
  await callee?.stop();
  await sipp?.stop();
  callee = undefined;
  sipp = undefined;
});

/** Trunk, agent and number on the peer's port; places the call and waits for its end and transcript. */
async function placeCall(port: number, agentBody: Record<string, unknown>, to: string, extra: Record<string, unknown> = {}) {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `peer-${n}`, host: '127.0.0.1', port });
  assert.equal(trunk.status, 201, trunk.raw);
  const agent = await t.org.req('POST', '/v1/agents', { name: `tools-${n}`, max_cps: 50, ...agentBody });
  assert.equal(agent.status, 201, agent.raw);
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1415${n}`, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  assert.equal(pn.status, 201, pn.raw);
  const r = await t.org.req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to, max_duration_s: 60, ...extra });
  assert.equal(r.status, 202, r.raw);
  const callId = r.body.id as string;
  const call = await waitFor(
    'the call to end',
    async () => {
      const got = await t.org.req('GET', `/v1/calls/${callId}`);
      return TERMINAL.includes(got.body.status) ? got.body : undefined;
    },
    60_000,
  );
  const tr = call.transcript_id ? await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
  return { callId, agentId: agent.body.id as string, call, turns: (tr?.body.turns ?? []) as Turn[] };
}

describe('voice agent tools on live calls', { skip }, () => {
  test('baresip: a signed http tool (slow: the filler plays), send_dtmf, a failing tool taking the failure branch; all in the transcript', async (tc) => {
    const TO = '+14155550188';
    // The greeting takes ~3 s, the lookup 5 s: the agent is silent for ~2 s with the tool out (filler at 1.5 s).
    // The callee stays silent (the flow never listens); baresip hangs up when this ends, long after the call.
    const prompt = calleeSpeech('hello', 40, 1);
    assert.ok(prompt, 'flite + sox produced the callee audio');
    callee = await startCallee({ user: TO, prompt });
    receiver.requests.length = 0;
    receiver.answer = (req) =>
      req.url.startsWith('/lookup')
        ? { status: 200, body: JSON.stringify({ slot: 'Tuesday at ten' }), contentType: 'application/json', delayMs: 5000 }
        : { status: 409, body: 'slot taken', contentType: 'text/plain' };
    const flow = {
      start: 'greet',
      nodes: {
        greet: { type: 'say', text: 'Hello {{name}}, let me look up your appointment.', next: 'lookup' },
        lookup: { type: 'tool', tool: 'lookup', arguments: { who: '{{name}}', day: 'tuesday' }, on_success: 'found', on_failure: 'down' },
        found: { type: 'say', text: 'I found your slot.', next: 'keys' },
        keys: { type: 'tool', tool: 'send_dtmf', arguments: { digits: '19#' }, on_success: 'book', on_failure: 'down' },
        book: { type: 'tool', tool: 'book', arguments: { slot: 'tue-10' }, on_success: 'booked', on_failure: 'taken' },
        booked: { type: 'end', text: 'You are booked.' },
        taken: { type: 'end', text: 'Sorry, that slot was just taken.' },
        down: { type: 'end', text: 'Sorry, our system is down.' },
      },
    };
    const tools = [
      { type: 'http', name: 'lookup', description: 'Finds the appointment', url: receiver.url('/lookup'), timeout_ms: 9000 },
      { type: 'http', name: 'book', description: 'Books it', url: receiver.url('/book'), timeout_ms: 3000 },
      { type: 'send_dtmf' },
    ];
    const metadata = { crm_id: 'c-42', tags: ['vip'] };
    const c = callee;
    // The filler is the agent's own (there is none by default).
    const conversation = { filler: { after_ms: 1500, phrases: ['One moment please.'] } };
    const { callId, agentId, call, turns } = await placeCall(c.port, { flow, tools, conversation }, TO, { dynamic_variables: { name: 'Ana' }, metadata });
    tc.diagnostic(`call: ${call.status}/${call.end_reason}; transcript: ${JSON.stringify(turns.map((x) => [x.speaker, x.text, x.toolCalls?.map((k) => [k.name, k.ok])]))}`);
    assert.equal(call.status, 'completed', `baresip log:\n${c.log().slice(-3000)}`);
    assert.equal(call.end_reason, 'agent_hangup');

    // The receiver: two signed POSTs with the call's facts; verifyWebhook accepts them with the org's secret.
    const secrets = await t.org.req('GET', '/v1/webhook-secrets');
    const secret = secrets.body.data[0].secret as string;
    assert.deepEqual(receiver.requests.map((r) => [r.method, r.url]), [['POST', '/lookup'], ['POST', '/book']]);
    for (const r of receiver.requests) verifyWebhook(secret, r.headers, r.body);
    const lookup = JSON.parse(receiver.requests[0]?.body ?? '{}');
    assert.deepEqual(lookup, { call_id: callId, agent_id: agentId, tool: 'lookup', arguments: { who: 'Ana', day: 'tuesday' }, metadata });

    // The transcript: one agent turn (the flow never listens) with the three tool calls and their results,
    // the filler heard while the slow lookup ran, and the failure branch's line after the 409.
    assert.equal(turns.length, 1);
    const turn = turns[0];
    assert.deepEqual(turn?.toolCalls?.map((k) => [k.name, k.ok]), [['lookup', true], ['send_dtmf', true], ['book', false]]);
    assert.deepEqual(turn?.toolCalls?.[0]?.result, { slot: 'Tuesday at ten' });
    assert.deepEqual(turn?.toolCalls?.[1]?.result, { sent: '19#' });
    assert.match(JSON.stringify(turn?.toolCalls?.[2]?.result), /"code":"tool_http_error".*HTTP 409: slot taken/);
    assert.match(turn?.text ?? '', /^Hello Ana, let me look up your appointment\. One moment please\. I found your slot\. Sorry, that slot was just taken\.$/);

    // baresip received the keys as RFC 4733 telephone-events.
    await waitFor('baresip to close the call', () => /terminated/.test(c.log()), 5000);
    const heard = [...c.log().matchAll(/call: received DTMF: '(.)'/g)].map((m) => m[1]);
    assert.deepEqual(heard, ['1', '9', '#'], `baresip log:\n${c.log().slice(-3000)}`);
  });

  test('SIPp: transfer_call REFERs to the configured target after the announcement; 202 + NOTIFY 200; the call ends transferred', async (tc) => {
    const port = await freePort();
    sipp = await startSipp({ scenario: SCENARIO, port });
    const flow = {
      start: 'tell',
      nodes: {
        tell: { type: 'say', text: 'I am transferring you to a colleague now.', next: 'move' },
        move: { type: 'tool', tool: 'transfer_call', on_success: 'gone', on_failure: 'sorry' },
        gone: { type: 'end' },
        sorry: { type: 'end', text: 'Sorry, nobody is free.' },
      },
    };
    const tools = [{ type: 'transfer_call', transfer_to: '+15559990000' }];
    const s = sipp;
    const { call, turns } = await placeCall(port, { flow, tools }, '+14155550199');
    tc.diagnostic(`call: ${call.status}/${call.end_reason}; transcript: ${JSON.stringify(turns)}`);
    assert.equal(await waitExit(s), 0, `SIPp saw the whole REFER/NOTIFY/BYE sequence; trace:\n${s.trace().slice(-4000)}`);
    assert.equal(call.status, 'completed');
    assert.equal(call.end_reason, 'transferred');
    const refer = s.received().find((m) => m.startsWith('REFER '));
    assert.match(refer ?? '', /^Refer-To: <sip:\+15559990000@127\.0\.0\.1:\d+>$/m);
    assert.deepEqual(turns.map((x) => x.text), ['I am transferring you to a colleague now.']);
    assert.deepEqual(turns[0]?.toolCalls?.map((k) => [k.name, k.ok, k.result]), [['transfer_call', true, { transferred: true, to: '+15559990000', sip_status: 200 }]]);
    // The REFER came after the announcement had played: SIPp's trace stamps each message.
    const stamps = receivedStamps(s.trace());
    const ack = stamps.find((x) => x.method === 'ACK')?.at ?? NaN;
    const referAt = stamps.find((x) => x.method === 'REFER')?.at ?? NaN;
    tc.diagnostic(`ACK -> REFER: ${(referAt - ack).toFixed(0)} ms`);
    assert.ok(referAt - ack >= 1500, `the announcement (about 2.5 s of speech) played before the REFER (${referAt - ack} ms after answer)`);
  });
});

/** Times (ms) at which SIPp received each request, from its -trace_msg log. */
function receivedStamps(trace: string): Array<{ method: string; at: number }> {
  const out: Array<{ method: string; at: number }> = [];
  for (const m of trace.matchAll(/-+ (\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d(?:\.\d+)?)[^\n]*\n(?:UDP|TCP) message received \[\d+\] bytes :\n\n(\S+)/g)) {
    out.push({ method: m[3] ?? '', at: Date.parse(`${m[1]}T${m[2]}Z`) });
  }
  return out;
}
