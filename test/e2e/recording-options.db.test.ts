/**
 * The record options on live calls against baresip over L16/16000 (its dumps of what it heard and
 * what it sent are the ground truth), recordings fetched through the API:
 * - track inbound: the callee's words, where it said them, and none of the agent's greeting or
 *   reply (which baresip did hear); track outbound: the other way round;
 * - trim_silence: the WAV starts at the callee's first word, shorter than the call by the silent lead;
 * - record.status_callback: recording.in-progress then recording.completed (the stored recording's
 *   duration and URL), signed like every webhook; recording.absent for a call never answered (SIPp
 *   486) and for one where nothing was recorded (a silent callee, inbound only, trimmed); each once.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { verifyWebhook } from '../../src/http-client/signing.js';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { findSignal, readWav, rms, wavBytes } from '../fixtures/media/signals.js';
import { calleeSpeech, startCallee as startBaresipCallee, type Callee } from '../fixtures/voice/callee.js';
import { loudSpan } from '../fixtures/voice/energy.js';
import { freePort, startSipp, type SippProcess } from '../helpers/sipp.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const missing = ['baresip', 'sipp', 'espeak-ng', 'flite', 'sox', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
const RATE = 16000;
const BUSY = fileURLToPath(new URL('../fixtures/sipp/uas_busy.xml', import.meta.url));

/** The agent greets (0-~3 s), listens, and answers the callee's "yes" (~6.5 s on). */
const flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Hello, can we book your visit for Tuesday?', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 12000, next: 'decide', on_timeout: 'bye' },
    decide: { type: 'branch', cases: [{ keywords: ['yes'], next: 'great' }], default: 'sorry' },
    great: { type: 'say', text: 'Great, see you then, have a lovely day.', next: 'bye' },
    sorry: { type: 'say', text: 'Sorry, I did not get that, goodbye now.', next: 'bye' },
    bye: { type: 'end' },
  },
};

let t: TestApp;
let plane: CallPlane;
let deliverer: WebhookDeliverer;
let hooks: WebhookReceiver;
let secret: string;
let callee: Callee | undefined;
let sipp: SippProcess | undefined;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  hooks = await new WebhookReceiver().start();
  deliverer = new WebhookDeliverer(t.ctx, { pollMs: 100 });
  await deliverer.start();
  // L16 offered to greeting-only agents too (baresip here speaks only L16/16000).
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 44200, rtpPortMax: 44398, codecs: ['L16/16000', 'PCMU', 'PCMA'] });
  secret = (await t.org.req('GET', '/v1/webhook-secrets')).body.data[0].secret as string;
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await deliverer.stop();
  await hooks.stop();
  await t.close();
});
afterEach(async () => {
  await callee?.stop();
  await sipp?.stop();
  callee = undefined;
  sipp = undefined;
});

/** A trunk to port, an agent (body), a number; places the call with `record` and waits for its end. */
async function call(port: number, agentBody: Record<string, unknown>, record: Record<string, unknown>, to = '+14155550166') {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `rec-${n}`, host: '127.0.0.1', port });
  const agent = await t.org.req('POST', '/v1/agents', { name: `rec-${n}`, max_cps: 50, ...agentBody });
  assert.equal(agent.status, 201, agent.raw);
  await t.org.req('POST', '/v1/phone-numbers', { number: `+1415${n}`, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  const r = await t.org.req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to, max_duration_s: 60, record });
  assert.equal(r.status, 202, r.raw);
  const callId = r.body.id as string;
  return waitFor('the call to end', async () => {
    const got = await t.org.req('GET', `/v1/calls/${callId}`);
    return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got.body : undefined;
  }, 60_000);
}

/** The recording through the API as one plane (mono). */
async function mono(url: string): Promise<Int16Array> {
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.org.key}` } });
  assert.equal(res.statusCode, 200, res.body.slice(0, 300));
  const p = new WavStreamParser();
  const pcm = p.push(res.rawPayload);
  assert.deepEqual([p.format?.channels, p.format?.sampleRate], [1, RATE]);
  return pcm;
}

/** What baresip heard (the agent), once it has closed the call. */
async function heardBy(c: Callee): Promise<Int16Array> {
  await waitFor('baresip to close the call', () => /terminated/.test(c.log()), 8000);
  return readWav(await waitFor('baresip recording (heard)', () => c.recordings().find((p) => p.endsWith('-dec.wav')), 8000)).samples;
}

/** The recording callbacks of a call, signatures verified, in arrival order. */
function recordingHooks(callId: string) {
  return hooks.received
    .filter((h) => h.url === '/rec' && JSON.parse(h.body).data.call_id === callId)
    .map((h) => {
      verifyWebhook(secret, h.headers as Record<string, string>, h.body);
      return JSON.parse(h.body) as { type: string; data: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    });
}

/**
 * startCallee, again on another port when baresip could not bind its SIP port (it takes the next
 * one for TLS too, and other processes on this machine come and go).
 */
async function startCallee(o: { user: string; prompt: Buffer }): Promise<Callee> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBaresipCallee(o);
    } catch (err) {
      if (attempt === 3 || !/Address already in use/.test(String(err))) throw err;
    }
  }
}

const at = (pcm: Int16Array, fromS: number, toS: number) => pcm.subarray(Math.round(fromS * RATE), Math.round(toS * RATE));
const recCallback = () => ({ url: hooks.url('/rec') });

describe('record options on live calls (baresip, L16/16000)', { skip }, () => {
  test('track inbound: only the callee, its words where it said them; recording.in-progress then completed, signed, once', async (tc) => {
    const prompt = calleeSpeech('yes please', 5, 12);
    assert.ok(prompt, 'flite + sox produced the callee speech');
    callee = await startCallee({ user: '+14155550166', prompt });
    const c = await call(callee.port, { flow }, { enabled: true, channels: 'mono', track: 'inbound', status_callback: recCallback() });
    assert.equal(c.status, 'completed', callee.log().slice(-2000));
    const rec = await mono(c.recording.url);
    const heard = await heardBy(callee);
    tc.diagnostic(`agent heard by baresip: rms 0-2 s ${rms(at(heard, 0, 2)).toFixed(0)}; recording: rms 0-2 s ${rms(at(rec, 0, 2)).toFixed(0)}, 4-8 s ${rms(at(rec, 4, 8)).toFixed(0)}`);
    assert.ok(Math.abs((rec.length * 1000) / RATE - c.duration_s * 1000) < 500, 'the whole call');
    // The agent spoke (baresip heard it) during the greeting and after the callee's words: not in the recording.
    assert.ok(rms(at(heard, 0, 2)) > 300, 'baresip heard the greeting');
    assert.ok(rms(at(rec, 0, 2)) < 50, 'the greeting is not in an inbound recording');
    const sent = new WavStreamParser().push(prompt);
    const said = loudSpan(sent, RATE);
    assert.ok(said);
    const reply = loudSpan(at(heard, said.endMs / 1000 + 0.3, heard.length / RATE), RATE);
    assert.ok(reply, 'baresip heard the reply');
    const replyFrom = said.endMs / 1000 + 0.3 + reply.startMs / 1000;
    assert.ok(rms(at(rec, replyFrom + 0.3, replyFrom + 1.3)) < 50, `the reply (heard at ${replyFrom.toFixed(1)} s) is not in it either`);
    // The callee's words are, at their time.
    const found = findSignal(sent, at(rec, 4, 8), RATE, [5100, 5300, 5500]);
    const offsetMs = ((found.offset + 4 * RATE) * 1000) / RATE;
    tc.diagnostic(`callee speech in the recording: corr ${found.corr.toFixed(3)} at ${offsetMs.toFixed(0)} ms`);
    assert.ok(found.corr > 0.9, `the callee's words are in it (corr ${found.corr.toFixed(3)})`);
    assert.ok(Math.abs(offsetMs) < 400, `aligned to the answer (offset ${offsetMs.toFixed(0)} ms)`);

    await waitFor('recording.completed', () => recordingHooks(c.id).find((h) => h.type === 'recording.completed'), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const got = recordingHooks(c.id);
    assert.deepEqual(got.map((h) => h.type), ['recording.in-progress', 'recording.completed']);
    assert.equal(got[0]!.data.track, 'inbound');
    assert.deepEqual(got[1]!.data.recording, { url: c.recording.url, duration_ms: c.recording.duration_ms, channels: 'mono', sample_rate: RATE });
  });

  test('track outbound: only the agent, as baresip heard it; silent while the callee speaks', async (tc) => {
    const prompt = calleeSpeech('yes please', 5, 12);
    assert.ok(prompt);
    callee = await startCallee({ user: '+14155550167', prompt });
    const c = await call(callee.port, { flow }, { enabled: true, channels: 'mono', track: 'outbound' }, '+14155550167');
    assert.equal(c.status, 'completed', callee.log().slice(-2000));
    const rec = await mono(c.recording.url);
    const heard = await heardBy(callee);
    const sent = new WavStreamParser().push(prompt);
    const said = loudSpan(sent, RATE);
    assert.ok(said);
    tc.diagnostic(`recording rms 0-2 s ${rms(at(rec, 0, 2)).toFixed(0)}, while the callee spoke ${rms(at(rec, said.startMs / 1000, said.endMs / 1000)).toFixed(0)}`);
    assert.ok(rms(at(rec, 0, 2)) > 300, 'the greeting is in it');
    assert.ok(rms(at(rec, said.startMs / 1000, said.endMs / 1000)) < 50, "the callee's words are not");
    const g = c.metrics?.answer_to_greeting_ms ?? 0;
    const match = findSignal(rec, heard.subarray(0, Math.round(((g + 3000) * RATE) / 1000)), RATE, [200, 600, 1000, 1400, 1800].map((x) => g + x), 200);
    tc.diagnostic(`recording vs what baresip heard: corr ${match.corr.toFixed(3)}`);
    assert.ok(match.corr > 0.8, `it is the audio that was played (corr ${match.corr.toFixed(3)})`);
  });

  test('trim_silence: the WAV starts at the callee\'s first word, shorter than the call by the silent lead', async (tc) => {
    // The agent only listens (no greeting) and hangs up once it heard the callee, 4 s after the answer.
    const listenOnly = { start: 'ask', nodes: { ask: { type: 'listen', timeout_ms: 15000, next: 'bye', on_timeout: 'bye' }, bye: { type: 'end' } } };
    const prompt = calleeSpeech('yes please', 4, 8);
    assert.ok(prompt);
    callee = await startCallee({ user: '+14155550168', prompt });
    const c = await call(callee.port, { flow: listenOnly }, { enabled: true, trim_silence: true, status_callback: recCallback() }, '+14155550168');
    assert.equal(c.status, 'completed', callee.log().slice(-2000));
    const rec = await mono(c.recording.url);
    const sent = new WavStreamParser().push(prompt);
    const said = loudSpan(sent, RATE);
    assert.ok(said);
    const found = findSignal(sent, rec, RATE, [said.startMs + 100, said.startMs + 300, said.startMs + 500]);
    const startsAtMs = -(found.offset * 1000) / RATE; // where in the callee's audio the WAV starts
    const cutMs = c.duration_s * 1000 - c.recording.duration_ms;
    tc.diagnostic(`call ${(c.duration_s * 1000).toFixed(0)} ms, recording ${c.recording.duration_ms} ms (cut ${cutMs.toFixed(0)} ms); it starts ${startsAtMs.toFixed(0)} ms into the callee's audio, the words at ${said.startMs}-${said.endMs} ms (corr ${found.corr.toFixed(3)})`);
    assert.ok(found.corr > 0.9, `the callee's words are in it (corr ${found.corr.toFixed(3)})`);
    assert.ok(Math.abs(startsAtMs - said.startMs) < 150, `it starts at the first word: ${startsAtMs.toFixed(0)} vs ${said.startMs} ms`);
    assert.ok(cutMs >= 3800, `shorter than the call by at least the 4 s silent lead (${cutMs.toFixed(0)} ms)`);
    assert.ok(Math.abs(c.recording.duration_ms - (said.endMs - said.startMs)) < 300, `no silence kept after the last word either (${c.recording.duration_ms} ms vs ${said.endMs - said.startMs} ms spoken)`);
    assert.equal((rec.length * 1000) / RATE, c.recording.duration_ms);
    const done = await waitFor('recording.completed', () => recordingHooks(c.id).find((h) => h.type === 'recording.completed'), 10_000);
    assert.equal(done.data.recording.duration_ms, c.recording.duration_ms, 'the callback tells the trimmed length');
  });

  test('recording.absent: a call never answered, and one where nothing was recorded (silent callee, inbound, trimmed); each once', async () => {
    const port = await freePort();
    sipp = await startSipp({ scenario: BUSY, port });
    const busy = await call(port, { greeting: 'Hello.' }, { enabled: true, status_callback: recCallback() }, '+14155550169');
    assert.equal(busy.status, 'busy');
    await waitFor('recording.absent (busy)', () => recordingHooks(busy.id).find((h) => h.type === 'recording.absent'), 10_000);

    // 8 s of digital silence: the callee never says a thing.
    callee = await startCallee({ user: '+14155550170', prompt: wavBytes(new Int16Array(8 * RATE), RATE) });
    const quiet = await call(callee.port, { greeting: 'Hello, this is Outcall calling about your appointment.' }, { enabled: true, track: 'inbound', trim_silence: true, status_callback: recCallback() }, '+14155550170');
    assert.deepEqual([quiet.status, quiet.end_reason], ['completed', 'agent_hangup']);
    assert.equal(quiet.recording, null, 'nothing recorded');
    const get = await t.org.req('GET', `/v1/calls/${quiet.id}/recording`);
    assert.equal(get.status, 404);
    await waitFor('recording.absent (silent)', () => recordingHooks(quiet.id).find((h) => h.type === 'recording.absent'), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(recordingHooks(busy.id).map((h) => [h.type, h.data.reason]), [['recording.absent', 'not_answered']]);
    assert.deepEqual(recordingHooks(quiet.id).map((h) => [h.type, h.data.reason]), [['recording.in-progress', undefined], ['recording.absent', 'nothing_recorded']]);
  });
});
