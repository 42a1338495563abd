/**
 * The result webhook carries the result, on live calls (API -> dispatcher -> media thread -> baresip
 * over L16/16000, webhooks delivered to a local receiver and their signatures checked):
 * - an LLM agent whose summary model answers in 1 s: `completed` goes at once, `call.result` about a
 *   second later with the model's summary (summary_source llm) and the transcript id, `analyzed`
 *   with it; each once.
 * - an LLM agent whose summary model answers only after the bound (here 4 s): `call.result` goes at
 *   the bound with the extractive summary of the stored transcript; `analyzed` follows later with
 *   the model's summary, which the call then shows.
 * - greeting-only agents: the transcript is the greeting as far as it was played (whole, or cut
 *   where the callee hung up), with an extractive summary, `analyzed`, and a result carrying both.
 * - an unanswered call: its result goes at the terminal transition, without summary or transcript.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { extractiveSummary } from '../../src/analysis/extractive-summary.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import type { TranscriptTurn } from '../../src/voice/events.js';
import { calleeScript, type Callee } from '../fixtures/voice/callee.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { freePort, startSipp, type SippProcess } from '../helpers/sipp.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { placeCall, signedResult, voiceSkip, type PlacedCall } from './voice-helpers.js';

const skip = voiceSkip() || (toolAvailable('sipp') ? false : 'sipp is not installed');
const BOUND_MS = 4000;
const GREETING = 'Hi, this is Outcall calling about your order.';
const LLM_SUMMARY = 'Ana confirmed the delivery for tomorrow.';
const BUSY = fileURLToPath(new URL('../fixtures/sipp/uas_busy.xml', import.meta.url));

let t: TestApp;
let plane: CallPlane;
let deliverer: WebhookDeliverer;
let hooks: WebhookReceiver;
let llm: OpenAiProtocolServer;
let callee: Callee | undefined;
let sipp: SippProcess | undefined;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  hooks = await new WebhookReceiver().start();
  deliverer = new WebhookDeliverer(t.ctx, { pollMs: 100 });
  await deliverer.start();
  llm = await OpenAiProtocolServer.start({ answerSummaries: true });
  // The result waits BOUND_MS for the model's summary (OUTCALL_RESULT_SUMMARY_WAIT_S in production).
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 44000, rtpPortMax: 44198, codecs: ['L16/16000', 'PCMU', 'PCMA'], postCall: { resultWaitMs: BOUND_MS } });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await deliverer.stop();
  await hooks.stop();
  await llm.close();
  await t.close();
});
afterEach(async () => {
  await callee?.stop();
  await sipp?.stop();
  callee = undefined;
  sipp = undefined;
});

interface Hook {
  type: string;
  created_at: string;
  data: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Webhooks received for the call (status callbacks on /status, the result on /result), in arrival order. */
function received(callId: string, path?: string): Hook[] {
  return hooks.received
    .filter((h) => path === undefined || h.url === path)
    .map((h) => JSON.parse(h.body) as Hook)
    .filter((b) => b.data.call_id === callId);
}

const ms = (h: Hook) => Date.parse(h.created_at);

function llmAgent(): Record<string, unknown> {
  return { system_prompt: 'You confirm deliveries.', greeting: GREETING, llm: { provider: 'openai', base_url: llm.baseUrl, model: 'gpt-4o-mini', api_key: 'sk-test-result-0123456789' } };
}

const callBody = () => ({ callback_url: hooks.url('/result'), status_callback: { url: hooks.url('/status'), events: ['completed', 'analyzed'] } });

async function transcriptOf(callId: string): Promise<TranscriptTurn[]> {
  const call = (await t.org.req('GET', `/v1/calls/${callId}`)).body;
  assert.ok(call.transcript_id, 'the call has a transcript');
  return (await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`)).body.turns as TranscriptTurn[];
}

/** Places the call with baresip playing `lines` in `totalS` seconds (then it hangs up) and waits for the call's end. */
async function liveCall(agent: Record<string, unknown>, lines: Array<{ atS: number; text: string }>, totalS: number): Promise<{ placed: PlacedCall; call: Record<string, any> }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const script = calleeScript(lines, totalS);
  assert.ok(script, 'flite + sox produced the callee audio');
  const placed = await placeCall(t, { prompt: script.wav, agent, call: callBody() });
  callee = placed.callee;
  const call = await waitFor('the call to end', async () => {
    const got = (await t.org.req('GET', `/v1/calls/${placed.callId}`)).body;
    return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.status) ? got : undefined;
  }, 45_000);
  return { placed, call };
}

/** Once only: nothing more comes for the call, and no process has anything left to send. */
async function assertOnce(callId: string): Promise<void> {
  assert.equal(await plane.postCall.sweep(), 0, 'nothing left to analyze or send');
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(received(callId, '/result').length, 1, 'one result webhook');
  assert.equal(received(callId, '/status').filter((h) => h.type === 'call.analyzed').length, 1, 'one analyzed callback');
  assert.equal(received(callId, '/status').filter((h) => h.type === 'call.completed').length, 1, 'one completed callback');
}

describe('call.result carries the summary and the transcript id (live calls)', { skip }, () => {
  test('LLM agent, summary ready in 1 s: completed at once, the result 1 s later with the LLM summary, analyzed with it', async (tc) => {
    llm.replySummary({ kind: 'text', pieces: [LLM_SUMMARY] }, { firstByteDelayMs: 1000 });
    const asked = llm.summaryRequests.length;
    const { placed, call } = await liveCall(llmAgent(), [], 7);
    assert.equal(call.status, 'completed', placed.callee.log().slice(-2000));
    const result = await signedResult(t, hooks, placed.callId);
    const [res] = received(placed.callId, '/result');
    const completed = await waitFor('completed', () => received(placed.callId, '/status').find((h) => h.type === 'call.completed'), 10_000);
    const analyzed = await waitFor('analyzed', () => received(placed.callId, '/status').find((h) => h.type === 'call.analyzed'), 10_000);
    assert.ok(res);
    const waited = ms(res) - ms(completed);
    tc.diagnostic(`completed at ${completed.created_at}, result ${waited} ms later: ${JSON.stringify(result.summary_text)} (${result.summary_source})`);

    assert.equal(llm.summaryRequests.length, asked + 1, 'the model was asked for the summary once');
    assert.ok(waited >= 900 && waited < BOUND_MS, `the result waited for the summary (1 s), not for the bound: ${waited} ms`);
    assert.equal(result.status, 'completed');
    assert.equal(result.summary_source, 'llm');
    assert.equal(result.summary_text, LLM_SUMMARY);
    assert.equal(result.transcript_id, call.transcript_id);
    assert.ok(result.transcript_id, 'the transcript id is in the result');
    // The transcript the result points at is this call's (the greeting the agent said).
    assert.equal((await transcriptOf(placed.callId))[0]?.text, GREETING);
    assert.equal(analyzed.data.summary_source, 'llm');
    assert.equal(analyzed.data.summary_text, LLM_SUMMARY);
    await assertOnce(placed.callId);
  });

  test('LLM agent, summary model slower than the bound: the result at the bound with the extractive summary; analyzed later with the LLM one', async (tc) => {
    // "Hangs" past the bound: its answer comes 9 s after the request, the bound is 4 s.
    llm.replySummary({ kind: 'text', pieces: [LLM_SUMMARY] }, { firstByteDelayMs: 9000 });
    const { placed, call } = await liveCall(llmAgent(), [], 7);
    assert.equal(call.status, 'completed', placed.callee.log().slice(-2000));
    const result = await signedResult(t, hooks, placed.callId);
    const [res] = received(placed.callId, '/result');
    const completed = received(placed.callId, '/status').find((h) => h.type === 'call.completed');
    assert.ok(res && completed);
    const waited = ms(res) - ms(completed);
    tc.diagnostic(`result ${waited} ms after completed: ${JSON.stringify(result.summary_text)} (${result.summary_source})`);
    assert.ok(waited >= BOUND_MS - 200 && waited < BOUND_MS + 2500, `the result went at the bound (${BOUND_MS} ms): ${waited} ms`);
    assert.equal(received(placed.callId, '/status').some((h) => h.type === 'call.analyzed'), false, 'the model had not answered yet');
    const turns = await transcriptOf(placed.callId);
    assert.equal(result.summary_source, 'extractive');
    assert.equal(result.summary_text, extractiveSummary(turns));
    assert.match(result.summary_text, /^Agent: Hi, this is Outcall calling about your order\./);
    assert.equal(result.transcript_id, call.transcript_id);

    const analyzed = await waitFor('analyzed with the late LLM summary', () => received(placed.callId, '/status').find((h) => h.type === 'call.analyzed'), 20_000);
    tc.diagnostic(`analyzed ${ms(analyzed) - ms(completed)} ms after completed`);
    assert.ok(ms(analyzed) - ms(completed) >= 8000, 'analyzed came when the model answered');
    assert.equal(analyzed.data.summary_source, 'llm');
    assert.equal(analyzed.data.summary_text, LLM_SUMMARY);
    const after = (await t.org.req('GET', `/v1/calls/${placed.callId}`)).body;
    assert.deepEqual([after.summary_text, after.summary_source], [LLM_SUMMARY, 'llm'], 'the call shows the better summary once it came');
    await assertOnce(placed.callId);
  });

  test('greeting-only agent: the greeting played is the transcript, summarized, analyzed, in the result', async () => {
    const LINE = 'Hello, this is Outcall calling about your appointment on Tuesday.';
    const { placed, call } = await liveCall({ greeting: LINE }, [], 12);
    assert.deepEqual([call.status, call.end_reason], ['completed', 'agent_hangup'], placed.callee.log().slice(-2000));
    const turns = await transcriptOf(placed.callId);
    assert.deepEqual(turns.map((x) => [x.speaker, x.text, x.interrupted]), [['agent', LINE, false]]);
    assert.ok(turns[0]!.endMs - turns[0]!.startMs > 2000, `the turn spans the played audio (${turns[0]!.startMs}-${turns[0]!.endMs} ms)`);
    const analyzed = await waitFor('analyzed', () => received(placed.callId, '/status').find((h) => h.type === 'call.analyzed'), 15_000);
    assert.equal(analyzed.data.summary_source, 'extractive');
    assert.equal(analyzed.data.summary_text, `Agent: ${LINE}`);
    assert.equal(analyzed.data.transcript_id, call.transcript_id);
    const result = await signedResult(t, hooks, placed.callId);
    assert.deepEqual([result.summary_text, result.summary_source, result.transcript_id], [`Agent: ${LINE}`, 'extractive', call.transcript_id]);
    await assertOnce(placed.callId);
  });

  test('greeting-only agent, the callee hangs up mid-greeting: only what was played is the transcript', async (tc) => {
    const LONG =
      'Hello, this is Outcall calling about the blue bicycle you ordered last week. The delivery can be tomorrow morning, ' +
      'or on Friday afternoon, whichever you prefer, and the driver will call you half an hour before arriving.';
    // baresip hangs up 3 s after the answer, long before the ~14 s greeting has played.
    const { placed, call } = await liveCall({ greeting: LONG }, [], 3);
    assert.deepEqual([call.status, call.end_reason], ['completed', 'callee_hangup'], placed.callee.log().slice(-2000));
    const turns = await transcriptOf(placed.callId);
    tc.diagnostic(`transcript: ${JSON.stringify(turns)}`);
    assert.equal(turns.length, 1);
    const turn = turns[0]!;
    assert.equal(turn.interrupted, true);
    const words = turn.text.split(' ');
    const all = LONG.split(' ');
    assert.ok(LONG.startsWith(turn.text), 'a prefix of the greeting');
    assert.ok(words.length >= 3 && words.length <= all.length / 3, `about 3 s of a 14 s line: ${words.length} of ${all.length} words`);
    const result = await signedResult(t, hooks, placed.callId);
    assert.deepEqual([result.summary_text, result.summary_source, result.transcript_id], [`Agent: ${turn.text}`, 'extractive', call.transcript_id]);
    await assertOnce(placed.callId);
  });

  test('an unanswered call: the result at the terminal transition, no summary, no transcript', async () => {
    const port = await freePort();
    sipp = await startSipp({ scenario: BUSY, port });
    const n = String(Math.floor(Math.random() * 9e6) + 1e6);
    const trunk = await t.org.req('POST', '/v1/trunks', { name: `busy-${n}`, host: '127.0.0.1', port });
    const agent = await t.org.req('POST', '/v1/agents', { name: `busy-${n}`, ...llmAgent() });
    await t.org.req('POST', '/v1/phone-numbers', { number: `+1628${n}`, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
    const r = await t.org.req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: '+14155550142', ...callBody(), status_callback: { url: hooks.url('/status'), events: ['busy', 'analyzed'] } });
    assert.equal(r.status, 202, r.raw);
    const result = await signedResult(t, hooks, r.body.id);
    const busy = await waitFor('busy', () => received(r.body.id, '/status').find((h) => h.type === 'call.busy'), 10_000);
    const [res] = received(r.body.id, '/result');
    assert.equal(res?.created_at, busy.created_at, 'the result went with the terminal transition');
    assert.deepEqual([result.status, result.summary_text, result.summary_source, result.transcript_id], ['busy', null, null, null]);
    await new Promise((res2) => setTimeout(res2, 1000));
    assert.equal(received(r.body.id, '/status').some((h) => h.type === 'call.analyzed'), false, 'nothing to analyze');
    assert.equal(received(r.body.id, '/result').length, 1);
  });
});
