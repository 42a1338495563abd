/**
 * A speech-to-speech agent (OpenAI Realtime protocol) on live calls: API -> store -> dispatcher ->
 * media worker thread -> SIP/RTP over PCMU -> baresip as the callee, with the model served by the
 * local Realtime server (real espeak-ng speech, server VAD done on the audio baresip sends). PCMU
 * end to end: the session talks audio/pcmu to the model, so the callee's audio reaches it as the
 * leg's own G.711 and the replies go out unresampled. baresip's recordings are the ground truth.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resample } from '../../src/media/index.js';
import { verifyWebhook } from '../../src/http-client/signing.js';
import { readWav, wavBytes } from '../fixtures/media/signals.js';
import { startBaresip, type Baresip } from '../fixtures/media/baresip.js';
import { calleeScript } from '../fixtures/voice/callee.js';
import { loudSpans } from '../fixtures/voice/energy.js';
import { OpenAiRealtimeServer } from '../helpers/openai-realtime-server.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import { ToolServer } from '../worker/tools-server.js';
import { showTurns, startVoiceRig, type TranscriptTurnOut, type VoiceRig } from './voice-helpers.js';

const missing = ['baresip', 'espeak-ng', 'flite', 'sox'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
const RATE = 8000;
const KEY = 'sk-test-realtime-e2e-0123456789';
const GREETING = 'Hi, this is Outcall calling about your order.';

let rig: VoiceRig;
let model: OpenAiRealtimeServer;
let tools: ToolServer;
let hooks: WebhookReceiver;
let deliverer: WebhookDeliverer;
before(async () => {
  if (skip) return;
  rig = await startVoiceRig(38400, 38598);
  model = await OpenAiRealtimeServer.start();
  tools = await new ToolServer().start();
  hooks = await new WebhookReceiver().start();
  deliverer = new WebhookDeliverer(rig.t.ctx, { pollMs: 100 });
  await deliverer.start();
});
after(async () => {
  if (skip) return;
  await deliverer.stop();
  await rig.stop();
  await model.close();
  await tools.stop();
  await hooks.stop();
});

/** The callee's WAV at 8 kHz (baresip on PCMU plays and records at 8 kHz). */
function script8k(lines: Array<{ atS: number; text: string }>, totalS: number) {
  const s = calleeScript(lines, totalS);
  assert.ok(s, 'flite + sox produced the callee speech');
  const pcm16k = readWavBuffer(s.wav);
  return { ...s, wav: wavBytes(resample(pcm16k, 16000, RATE), RATE) };
}

function readWavBuffer(wav: Buffer): Int16Array {
  const pcm = wav.subarray(44);
  return new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.length));
}

/** The agent with speech_to_speech, through the API (its key stored encrypted like any provider key). */
async function s2sAgent(n: string, body: Record<string, unknown>): Promise<string> {
  const s2s = { provider: 'openai', model: 'gpt-realtime', base_url: model.baseUrl, options: { silence_duration_ms: 500 } };
  const r = await rig.t.org.req('POST', '/v1/agents', { name: `rt-${n}`, max_cps: 50, ...body, speech_to_speech: { ...s2s, api_key: KEY } });
  assert.equal(r.status, 201, r.raw);
  assert.deepEqual(r.body.speech_to_speech, { ...s2s, has_api_key: true });
  return r.body.id as string;
}

interface Placed {
  callId: string;
  callee: Baresip;
}

async function place(prompt: Buffer, agentBody: Record<string, unknown>): Promise<Placed> {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const to = `+1415${n}`;
  const callee = await startBaresip({ prompt, codecs: 'PCMU/8000/1', srate: RATE, user: to, runSeconds: 60 });
  const t = rig.t;
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `baresip-${n}`, host: '127.0.0.1', port: callee.port });
  assert.equal(trunk.status, 201, trunk.raw);
  const agentId = await s2sAgent(n, agentBody);
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1628${n}`, trunk_id: trunk.body.id, outbound_agent_id: agentId });
  assert.equal(pn.status, 201, pn.raw);
  const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to, max_duration_s: 60, callback_url: hooks.url('/result'), metadata: { case: 'rt' } });
  assert.equal(r.status, 202, r.raw);
  return { callId: r.body.id as string, callee };
}

async function ended(p: Placed) {
  const t = rig.t;
  const call = await waitFor('the call to end', async () => {
    const got = await t.org.req('GET', `/v1/calls/${p.callId}`);
    return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got.body : undefined;
  }, 60_000);
  const tr = call.transcript_id ? await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
  const turns = (tr?.body.turns ?? []) as Array<TranscriptTurnOut & { toolCalls?: Array<{ name: string; arguments: unknown; ok?: boolean }> }>;
  const hook = await waitFor('the result webhook', () => hooks.received.find((h) => h.url === '/result' && JSON.parse(h.body).data.call_id === p.callId), 20_000);
  const [secret] = (await t.org.req('GET', '/v1/webhook-secrets')).body.data.map((s: { secret: string }) => s.secret);
  verifyWebhook(secret, hook.headers as Record<string, string>, hook.body);
  await waitFor('baresip to close the call', () => /terminated|closed|BYE/i.test(p.callee.log()) || undefined, 8000).catch(() => undefined);
  const dec = await waitFor('baresip recording (heard)', () => p.callee.recordings().find((f) => f.endsWith('-dec.wav')), 8000);
  const heard = readWav(dec);
  return { call, turns, hook: JSON.parse(hook.body).data as Record<string, unknown>, heard };
}

describe('speech-to-speech agent on a live PCMU call (baresip, local Realtime server)', { skip }, () => {
  test('greeting after answer, the callee speaks, an http tool runs, the reply is heard; transcript and webhook', async (tc) => {
    const script = script8k([{ atS: 5, text: 'where is my order please' }], 16);
    model.hear('where is my order please');
    model.reply({ kind: 'function_call', name: 'lookup_order', arguments: '{"order":"4471"}' }, { kind: 'say', text: 'Your order ships tomorrow.' });
    tools.answer = () => ({ status: 200, body: '{"status":"ships tomorrow"}', contentType: 'application/json' });
    const toolCalls = tools.requests.length;
    const conns = model.connections.length;
    const p = await place(script.wav, {
      system_prompt: 'You confirm deliveries.',
      greeting: GREETING,
      tools: [{ type: 'http', name: 'lookup_order', description: 'Finds an order', url: tools.url('/lookup'), parameters: { type: 'object', properties: { order: { type: 'string' } } } }],
    });
    try {
      const { call, turns, hook, heard } = await ended(p);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', p.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'callee_hangup');
      assert.equal(heard.sampleRate, RATE, 'baresip heard PCMU (8 kHz)');
      const conn = model.connections[conns]!;
      assert.equal(conn.headers.authorization, `Bearer ${KEY}`);
      assert.deepEqual(conn.session.audio.input.format, { type: 'audio/pcmu' }, 'the callee audio goes to the model as G.711 mu-law');
      assert.deepEqual(conn.session.audio.output.format, { type: 'audio/pcmu' });
      assert.ok(conn.appendedMs > 10_000, `the callee's audio streamed to the model (${conn.appendedMs} ms)`);
      // The http tool ran with the model's arguments.
      const req = tools.requests.slice(toolCalls);
      assert.equal(req.length, 1);
      assert.deepEqual(JSON.parse(req[0]!.body).arguments, { order: '4471' });
      const out = conn.events.find((e) => e.event.type === 'conversation.item.create')!.event;
      assert.equal(out.item.type, 'function_call_output');
      assert.match(out.item.output, /ships tomorrow/);
      // Transcript in order.
      assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', GREETING], ['callee', 'where is my order please'], ['agent', ''], ['agent', 'Your order ships tomorrow.']], showTurns(turns));
      assert.deepEqual(turns[2]!.toolCalls?.map((c) => [c.name, c.ok]), [['lookup_order', true]]);
      assert.ok(turns.every((x) => !x.interrupted));
      const said = script.spans[0]!;
      assert.ok(Math.abs(turns[1]!.startMs - said.startMs) < 1200, `callee turn at ${turns[1]!.startMs} ms, spoken at ${said.startMs} ms`);
      // Webhook.
      assert.equal(hook.status, 'completed');
      assert.equal(hook.end_reason, 'callee_hangup');
      assert.equal(hook.transcript_id, call.transcript_id);
      // What baresip heard: the greeting right after the answer, then a reply after the callee spoke.
      const spans = loudSpans(heard.samples, RATE);
      tc.diagnostic(`heard ${JSON.stringify(spans)}; callee line ${said.startMs}-${said.endMs} ms`);
      assert.ok(spans[0] && spans[0].startMs < 2000, 'the greeting starts right after the answer');
      assert.ok(spans[0].endMs < said.startMs, 'the greeting was over before the callee spoke');
      assert.ok(spans.some((s) => s.startMs > said.endMs), 'a reply was heard after the callee spoke');
    } finally {
      await p.callee.stop();
    }
  });

  test('barge-in over a long greeting: truncate carries the ms played; then end_call says goodbye and hangs up', async (tc) => {
    const LONG = 'Hello, this is Outcall. I am calling about the blue bicycle you ordered last week, the delivery can be tomorrow morning or on Friday afternoon, whichever you prefer.';
    const script = script8k([{ atS: 3, text: 'stop stop I am busy right now' }], 25);
    model.hear('stop stop I am busy right now');
    model.reply({ kind: 'function_call', name: 'end_call', arguments: '{"goodbye":"Sorry to bother you, goodbye."}' });
    const conns = model.connections.length;
    const p = await place(script.wav, { system_prompt: 'You confirm deliveries.', greeting: LONG });
    try {
      const { call, turns, hook, heard } = await ended(p);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', p.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'agent_hangup');
      assert.equal(hook.end_reason, 'agent_hangup');
      const conn = model.connections[conns]!;
      const trunc = conn.events.find((e) => e.event.type === 'conversation.item.truncate');
      assert.ok(trunc, 'the greeting was truncated');
      const said = script.spans[0]!;
      const playedMs = trunc.event.audio_end_ms as number;
      // What baresip heard of the greeting before the cut, against what we told the model.
      // The greeting's spans (espeak pauses between clauses) are those that start before the callee spoke.
      const greeting = loudSpans(heard.samples, RATE).filter((s) => s.startMs < said.startMs);
      const heardMs = (greeting.at(-1)?.endMs ?? 0) - (greeting[0]?.startMs ?? 0);
      tc.diagnostic(`truncate audio_end_ms ${playedMs}; greeting heard ${JSON.stringify(greeting)}; callee spoke at ${said.startMs} ms`);
      assert.ok(playedMs > 1000 && playedMs < said.startMs + 1000, `audio_end_ms ${playedMs} is about when the callee cut in (${said.startMs} ms)`);
      assert.ok(Math.abs(heardMs - playedMs) < 600, `baresip heard ${heardMs} ms of the greeting, we reported ${playedMs} ms`);
      assert.equal(turns[0]!.speaker, 'agent');
      assert.equal(turns[0]!.interrupted, true);
      assert.ok(LONG.startsWith(turns[0]!.text) && turns[0]!.text.length < LONG.length && turns[0]!.text.length > 0, `heard part only: "${turns[0]!.text}"`);
      assert.deepEqual(turns.slice(1).map((x) => [x.speaker, x.text]), [['callee', 'stop stop I am busy right now'], ['agent', 'Sorry to bother you, goodbye.']], showTurns(turns));
      assert.equal(turns.at(-1)!.interrupted, false);
    } finally {
      await p.callee.stop();
    }
  });
});
