/**
 * Recording, metrics and post-call analysis on live calls against baresip over L16/16000:
 * - a flow agent, recorded in dual: the WAV served by the API parses, has the leg's rate, two
 *   channels and the call's length; the agent channel carries exactly what baresip heard (the greeting
 *   right after answer, nothing on the callee channel then); the callee channel carries baresip's
 *   "yes please" at its own time. The latencies are stored and returned, the extractive summary is
 *   made after the end, and the `analyzed` status callback arrives once, after `completed`.
 * - a greeting-only agent, recorded in mono: the greeting is in the recording, and in the transcript
 *   and the (extractive) summary.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { findSignal, readWav, rms } from '../fixtures/media/signals.js';
import { calleeSpeech, startCallee, type Callee } from '../fixtures/voice/callee.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const missing = ['baresip', 'espeak-ng', 'flite', 'sox', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;

const RATE = 16000;
const TO = '+14155550178';
const flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Hello {{name}}, can we book your visit for Tuesday?', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 12000, next: 'decide', on_timeout: 'bye' },
    decide: { type: 'branch', cases: [{ keywords: ['yes'], next: 'great' }], default: 'sorry' },
    great: { type: 'say', text: 'Great, see you then.', next: 'bye' },
    sorry: { type: 'say', text: 'Sorry, I did not get that.', next: 'bye' },
    bye: { type: 'end' },
  },
};

let t: TestApp;
let plane: CallPlane;
let deliverer: WebhookDeliverer;
let receiver: WebhookReceiver;
let callee: Callee | undefined;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  receiver = await new WebhookReceiver().start();
  deliverer = new WebhookDeliverer(t.ctx, { pollMs: 100 });
  await deliverer.start();
  // L16 offered to greeting-only agents too (baresip here speaks only L16/16000).
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 37000, rtpPortMax: 37398, codecs: ['L16/16000', 'PCMU', 'PCMA'] });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await deliverer.stop();
  await receiver.stop();
  await t.close();
});
afterEach(async () => {
  await callee?.stop();
  callee = undefined;
});

/** A trunk to the callee, an agent (body) and a number for it. */
async function setup(port: number, agentBody: Record<string, unknown>): Promise<string> {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `baresip-${n}`, host: '127.0.0.1', port });
  assert.equal(trunk.status, 201, trunk.raw);
  const agent = await t.org.req('POST', '/v1/agents', { name: `rec-${n}`, max_cps: 50, ...agentBody });
  assert.equal(agent.status, 201, agent.raw);
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1415${n}`, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  assert.equal(pn.status, 201, pn.raw);
  return agent.body.id as string;
}

async function ended(callId: string) {
  return waitFor(
    'the call to end',
    async () => {
      const got = await t.org.req('GET', `/v1/calls/${callId}`);
      return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got.body : undefined;
    },
    60_000,
  );
}

/** The recording through the API, parsed: format and one Int16Array per channel. */
async function fetchRecording(url: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.org.key}` } });
  assert.equal(res.statusCode, 200, res.body.slice(0, 300));
  assert.match(String(res.headers['content-type']), /^audio\/wav/);
  const p = new WavStreamParser();
  const inter = p.push(res.rawPayload);
  const f = p.format;
  assert.ok(f, 'a WAV header');
  const n = inter.length / f.channels;
  const planes = Array.from({ length: f.channels }, (_, c) => Int16Array.from({ length: n }, (_, i) => inter[i * f.channels + c] as number));
  return { format: f, planes, bytes: res.rawPayload.length };
}

const at = (pcm: Int16Array, fromS: number, toS: number) => pcm.subarray(Math.round(fromS * RATE), Math.round(toS * RATE));

describe('recording and post-call analysis on live calls (baresip, L16/16000)', { skip }, () => {
  test('a recorded flow call: dual WAV aligned with what each side heard, metrics, summary, analyzed once', async (tc) => {
    const prompt = calleeSpeech('yes please', 5, 12);
    assert.ok(prompt, 'flite + sox produced the callee speech');
    callee = await startCallee({ user: TO, prompt });
    const agentId = await setup(callee.port, { flow });
    const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, {
      to: TO,
      dynamic_variables: { name: 'Ana' },
      max_duration_s: 60,
      record: { enabled: true, channels: 'dual' },
      status_callback: { url: receiver.url('/status') },
    });
    assert.equal(r.status, 202, r.raw);
    const callId = r.body.id as string;
    const c = callee;
    const call = await ended(callId);
    tc.diagnostic(`call: ${call.status}/${call.end_reason}, ${call.duration_s} s; metrics ${JSON.stringify(call.metrics)}`);
    assert.equal(call.status, 'completed', `baresip log:\n${c.log().slice(-2000)}`);

    // The recording: on the call object, and served as a WAV of the leg's rate, 2 channels, the call's length.
    assert.equal(call.recording?.url, `/v1/calls/${callId}/recording`);
    assert.equal(call.recording.channels, 'dual');
    assert.equal(call.recording.sample_rate, RATE);
    const rec = await fetchRecording(call.recording.url);
    assert.equal(rec.format.sampleRate, RATE);
    assert.equal(rec.format.channels, 2);
    const [left, right] = rec.planes as [Int16Array, Int16Array];
    const durationMs = (left.length * 1000) / RATE;
    assert.ok(Math.abs(durationMs - call.recording.duration_ms) <= 1, `${durationMs} vs ${call.recording.duration_ms}`);
    assert.ok(Math.abs(durationMs - call.duration_s * 1000) < 500, `recording ${durationMs} ms, call ${call.duration_s * 1000} ms`);

    // Agent channel: the greeting right after answer. Callee channel: silence then (no leak between sides).
    tc.diagnostic(`rms agent 0-2 s ${rms(at(right, 0, 2)).toFixed(0)}, callee 0-4 s ${rms(at(left, 0, 4)).toFixed(0)}, callee 5-6.5 s ${rms(at(left, 5, 6.5)).toFixed(0)}`);
    assert.ok(rms(at(right, 0, 2)) > 300, 'the agent channel carries the greeting after answer');
    assert.ok(rms(at(left, 0, 4)) < 50, 'the callee said nothing during the greeting');

    // The callee channel carries baresip's prompt at its own time: "yes please" starts 5 s after answer.
    const sent = new WavStreamParser().push(prompt);
    // (searched from 4 s to 8 s only: a lag search over the whole call costs a minute of CPU)
    const win = Math.round(4 * RATE);
    const found = findSignal(sent, at(left, 4, 8), RATE, [5100, 5300, 5500]);
    const offsetMs = ((found.offset + win) * 1000) / RATE;
    tc.diagnostic(`callee speech in the recording: corr ${found.corr.toFixed(3)} at ${offsetMs.toFixed(0)} ms`);
    assert.ok(found.corr > 0.9, `the callee's words are in the callee channel (corr ${found.corr.toFixed(3)})`);
    assert.ok(Math.abs(offsetMs) < 400, `aligned to the answer (offset ${offsetMs.toFixed(0)} ms)`);

    // The agent channel is what baresip heard (L16 is lossless, so the match is near exact).
    await waitFor('baresip to close the call', () => /terminated/.test(c.log()), 5000);
    const dec = readWav(await waitFor('baresip recording', () => c.recordings().find((p) => p.endsWith('-dec.wav')), 5000));
    // Short windows from the greeting's start: when a loaded machine makes the leg run dry between
    // frames, the recorder places the next frame on its 20 ms slot, which may be one slot off.
    const g = call.metrics?.answer_to_greeting_ms ?? 0;
    const heard = findSignal(right, dec.samples.subarray(0, Math.round(((g + 3000) * RATE) / 1000)), RATE, [200, 600, 1000, 1400, 1800].map((x) => g + x), 200);
    tc.diagnostic(`agent channel vs what baresip heard: corr ${heard.corr.toFixed(3)}`);
    assert.ok(heard.corr > 0.8, `the agent channel is the audio that was played (corr ${heard.corr.toFixed(3)})`);

    // Metrics: answer -> greeting and one latency record per agent reply.
    const m = call.metrics;
    assert.ok(m, 'metrics stored');
    assert.equal(typeof m.answer_to_greeting_ms, 'number');
    assert.ok(m.answer_to_greeting_ms >= 0 && m.answer_to_greeting_ms < 5000, `${m.answer_to_greeting_ms}`);
    assert.ok(m.turns.length >= 1, 'the reply to "yes please" was measured');
    const e2e = m.turns.map((x: { end_to_end_ms: number | null }) => x.end_to_end_ms).filter((v: number | null) => v !== null);
    assert.ok(e2e.length >= 1);
    assert.equal(m.end_to_end_max_ms, Math.max(...e2e));
    assert.ok(m.end_to_end_p50_ms <= m.end_to_end_max_ms);
    // Media quality: both sides sent a packet per 20 ms for the whole call, over loopback nothing
    // was lost, and the healthy worker neither stalled nor played concealment in place of speech.
    const media = m.media;
    assert.ok(media, 'metrics.media stored');
    const expected = (call.duration_s * 1000) / 20;
    for (const k of ['packets_sent', 'packets_received'] as const) {
      assert.ok(Math.abs(media[k] - expected) < expected * 0.1, `${k} ${media[k]} for a ${call.duration_s} s call (~${expected.toFixed(0)})`);
    }
    assert.equal(media.packets_lost, 0, JSON.stringify(media));
    assert.ok(media.late_packets <= 5 && media.concealed_ms <= 400, JSON.stringify(media));
    assert.ok(media.jitter_ms >= 0 && media.jitter_ms < 20, JSON.stringify(media));
    assert.ok(media.send_lateness_p99_ms > 0 && media.send_lateness_p99_ms <= 50, JSON.stringify(media));

    // Summary after the end, and one analyzed callback that comes after completed.
    const analyzed = await waitFor('the analyzed status callback', () => receiver.received.find((x) => x.url === '/status' && JSON.parse(x.body).type === 'call.analyzed' && JSON.parse(x.body).data.call_id === callId), 20_000);
    const completed = receiver.received.find((x) => x.url === '/status' && JSON.parse(x.body).type === 'call.completed' && JSON.parse(x.body).data.call_id === callId);
    assert.ok(completed, 'completed was delivered');
    const a = JSON.parse(analyzed.body);
    assert.ok(a.created_at >= JSON.parse(completed.body).created_at, 'analyzed comes after completed');
    assert.equal(a.data.summary_source, 'extractive');
    assert.match(a.data.summary_text, /^Agent: Hello Ana, can we book your visit for Tuesday\? Callee: .*yes/i);
    const after = (await t.org.req('GET', `/v1/calls/${callId}`)).body;
    assert.equal(after.summary_text, a.data.summary_text);
    assert.ok(after.analyzed_at);
    assert.equal(await plane.postCall.sweep(), 0, 'nothing left to analyze');
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(receiver.received.filter((x) => x.url === '/status' && JSON.parse(x.body).type === 'call.analyzed' && JSON.parse(x.body).data.call_id === callId).length, 1, 'analyzed delivered once');
  });

  test('a recorded greeting-only call: mono WAV of the call with the greeting in it; the greeting is its transcript and summary', async (tc) => {
    const prompt = calleeSpeech('hello', 8, 4);
    assert.ok(prompt);
    callee = await startCallee({ user: TO, prompt });
    const agentId = await setup(callee.port, { greeting: 'Hello, this is Outcall calling about your appointment.' });
    const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: TO, max_duration_s: 60, record: { enabled: true, channels: 'mono' } });
    assert.equal(r.status, 202, r.raw);
    const call = await ended(r.body.id);
    tc.diagnostic(`call: ${call.status}/${call.end_reason}, ${call.duration_s} s; metrics ${JSON.stringify(call.metrics)}`);
    assert.equal(call.status, 'completed');
    assert.equal(call.end_reason, 'agent_hangup');
    const rec = await fetchRecording(call.recording.url);
    assert.equal(rec.format.channels, 1);
    assert.equal(rec.format.sampleRate, RATE);
    const mono = rec.planes[0] as Int16Array;
    assert.ok(Math.abs((mono.length * 1000) / RATE - call.duration_s * 1000) < 500);
    assert.ok(rms(at(mono, 0, 2)) > 300, `the greeting is in the recording (rms ${rms(at(mono, 0, 2)).toFixed(0)})`);
    assert.equal(typeof call.metrics.answer_to_greeting_ms, 'number');
    assert.deepEqual(call.metrics.turns, []);
    assert.ok(call.transcript_id, 'the greeting it played is its transcript');
    const analyzed = await waitFor('the analysis', async () => {
      const c = (await t.org.req('GET', `/v1/calls/${r.body.id}`)).body;
      return c.analyzed_at ? c : undefined;
    }, 15_000);
    assert.deepEqual([analyzed.summary_text, analyzed.summary_source], ['Agent: Hello, this is Outcall calling about your appointment.', 'extractive']);
  });
});
