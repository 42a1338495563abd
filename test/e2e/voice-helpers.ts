/**
 * What the live voice tests share: the call plane (API store -> dispatcher -> media worker thread),
 * a baresip callee per call reached through its own trunk and number, placing a call through the
 * API and waiting for its end, and reading back what baresip heard and sent.
 */
import assert from 'node:assert/strict';
import { resample } from '../../src/media/index.js';
import { verifyWebhook } from '../../src/http-client/signing.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { startBaresip } from '../fixtures/media/baresip.js';
import { readWav, wavBytes } from '../fixtures/media/signals.js';
import { CALLEE_RATE, calleeScript, startCallee, type Callee, type CalleeScript, type ScriptedLine } from '../fixtures/voice/callee.js';
import { heardOffsetMs } from '../fixtures/voice/energy.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';
import type { WebhookReceiver } from '../helpers/webhook-receiver.js';

/** The live voice tests' tools; the reason to skip when one is missing (CI fails instead). */
export function voiceSkip(): string | false {
  const missing = ['baresip', 'espeak-ng', 'flite', 'sox', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
  return missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
}

export interface VoiceRig {
  t: TestApp;
  plane: CallPlane;
  stop(): Promise<void>;
}

/**
 * The API app and a call plane with one media thread, RTP ports from its own range (one per test file).
 * The plane offers L16/16000 first, then G.711: the wideband callee (startCallee) speaks only L16, and
 * a narrowband one (placeCall's `narrowband`) only PCMU, so each test's leg is the one its callee takes.
 */
export async function startVoiceRig(rtpPortMin: number, rtpPortMax: number): Promise<VoiceRig> {
  const t = await startTestApp({ allowPrivateUrls: true });
  const plane = await startTestCallPlane(t.ctx, { rtpPortMin, rtpPortMax, codecs: ['L16/16000', 'PCMU', 'PCMA'] });
  return {
    t,
    plane,
    async stop() {
      await plane.stop();
      await t.close();
    },
  };
}

const TERMINAL = ['completed', 'failed', 'busy', 'no_answer', 'canceled'];

export interface PlacedCall {
  callId: string;
  callee: Callee;
}

/** The narrowband leg's rate: baresip on PCMU plays and records at 8 kHz. */
export const NARROWBAND_RATE = 8000;

/** A callee script (calleeScript) as baresip plays it on a narrowband leg: the WAV at 8 kHz, same spans. */
export function narrowbandScript(lines: readonly ScriptedLine[], totalS: number): CalleeScript {
  const s = calleeScript(lines, totalS);
  assert.ok(s, 'flite + sox produced the callee speech');
  const wav = s.wav.subarray(44);
  const pcm16k = new Int16Array(wav.buffer.slice(wav.byteOffset, wav.byteOffset + wav.length));
  return { ...s, wav: wavBytes(resample(pcm16k, CALLEE_RATE, NARROWBAND_RATE), NARROWBAND_RATE) };
}

/**
 * Starts a baresip callee playing `prompt`, creates a trunk to it, the agent (`agent` body) and a
 * number, and places one call through the API (`call` body merged into {to}). The caller stops
 * the callee (stopCallee) when done. `narrowband`: baresip answers PCMU/8000 only (the prompt is
 * then an 8 kHz WAV, see narrowbandScript); otherwise L16/16000.
 */
export async function placeCall(t: TestApp, o: { prompt: Buffer; agent: Record<string, unknown>; call?: Record<string, unknown>; narrowband?: boolean }): Promise<PlacedCall> {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const to = `+1415${String(Math.floor(Math.random() * 9e6) + 1e6)}`;
  const callee = o.narrowband
    ? await startBaresip({ prompt: o.prompt, codecs: 'PCMU/8000/1', srate: NARROWBAND_RATE, user: to, runSeconds: 90 })
    : await startCallee({ user: to, prompt: o.prompt });
  try {
    const trunk = await t.org.req('POST', '/v1/trunks', { name: `baresip-${n}`, host: '127.0.0.1', port: callee.port });
    assert.equal(trunk.status, 201, trunk.raw);
    const agent = await t.org.req('POST', '/v1/agents', { name: `voice-${n}`, max_cps: 50, ...o.agent });
    assert.equal(agent.status, 201, agent.raw);
    const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1628${n}`, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
    assert.equal(pn.status, 201, pn.raw);
    // A narrowband callee is offered G.711 only, so what is made before the answer (a primed greeting)
    // is made at the leg's 8 kHz, not at the plane's first codec (L16/16000) and resampled.
    const body = { to, max_duration_s: 60, ...(o.narrowband ? { codecs: ['PCMU', 'PCMA'] } : {}), ...o.call };
    const r = await t.org.req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, body);
    assert.equal(r.status, 202, r.raw);
    return { callId: r.body.id as string, callee };
  } catch (err) {
    await callee.stop();
    throw err;
  }
}

export interface TranscriptTurnOut {
  speaker: 'agent' | 'callee';
  text: string;
  interrupted: boolean;
  startMs: number;
  endMs: number;
}

export interface EndedCall {
  // The API's call object.
  call: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  turns: TranscriptTurnOut[];
  /**
   * What baresip heard (our agent) on the timeline of what it sent (the scripted callee's WAV),
   * aligned at the end: both dumps end when the call closes, and the heard one is shorter by its late
   * start (our first packet, baresip's jitter-buffer fill) and by packets baresip dropped as late, so
   * it is shifted by the whole difference (`offsetMs`). Agent audio then appears no earlier than it
   * was heard: times measured from the callee's speech to it are upper bounds.
   */
  heard: Int16Array;
  /** The heard dump as written, from its start (≈ the answer, like the sent dump): lower bounds. */
  heardFromStart: Int16Array;
  sent: Int16Array;
  offsetMs: number;
}

/**
 * Waits for the call's terminal status, then reads its transcript (API) and baresip's recordings.
 * `rate`: the leg's (baresip's) rate, NARROWBAND_RATE for a call placed with `narrowband`.
 */
export async function callEnded(t: TestApp, placed: PlacedCall, ms: number, rate = CALLEE_RATE): Promise<EndedCall> {
  const call = await waitFor(
    'the call to end',
    async () => {
      const got = await t.org.req('GET', `/v1/calls/${placed.callId}`);
      return TERMINAL.includes(got.body.status) ? (got.body as Record<string, unknown>) : undefined;
    },
    ms,
  );
  let turns: TranscriptTurnOut[] = [];
  if (call.transcript_id) {
    const tr = await t.org.req('GET', `/v1/transcripts/${String(call.transcript_id)}`);
    assert.equal(tr.status, 200, tr.raw);
    assert.equal(tr.body.call_id, placed.callId);
    turns = tr.body.turns as TranscriptTurnOut[];
  }
  const c = placed.callee;
  // baresip finalises the WAV headers when the call closes on its side.
  await waitFor('baresip to close the call', () => /terminated|closed|BYE/i.test(c.log()) || undefined, 8000).catch(() => undefined);
  const dec = await waitFor('baresip recording (heard)', () => c.recordings().find((p) => p.endsWith('-dec.wav')), 8000);
  const enc = await waitFor('baresip recording (sent)', () => c.recordings().find((p) => p.endsWith('-enc.wav')), 8000);
  const heard = readWav(dec);
  const sent = readWav(enc);
  assert.equal(heard.sampleRate, rate, rate === CALLEE_RATE ? 'wideband leg (L16/16000)' : `leg at ${rate} Hz`);
  const offsetMs = heardOffsetMs(heard.samples, sent.samples, rate);
  // A sanity bound only: under load baresip drops late packets, so the gap grows with the call's length.
  assert.ok(offsetMs >= 0 && offsetMs < 6000, `baresip's dumps end together (heard dump ${offsetMs} ms shorter)`);
  const aligned = new Int16Array(Math.round((offsetMs * rate) / 1000) + heard.samples.length);
  aligned.set(heard.samples, aligned.length - heard.samples.length);
  return { call, turns, heard: aligned, heardFromStart: heard.samples, sent: sent.samples, offsetMs };
}

/**
 * The call's result webhook (placed with callback_url = hooks.url(path)), its signature verified
 * against the org's webhook secret; returns its `data`.
 */
export async function signedResult(t: TestApp, hooks: WebhookReceiver, callId: string, path = '/result'): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const hook = await waitFor('the result webhook', () => hooks.received.find((h) => h.url === path && JSON.parse(h.body).data.call_id === callId), 20_000);
  const secrets = (await t.org.req('GET', '/v1/webhook-secrets')).body.data as Array<{ secret: string }>;
  assert.ok(secrets.length > 0, 'the org has a webhook secret');
  verifyWebhook(secrets[0]!.secret, hook.headers as Record<string, string>, hook.body);
  return JSON.parse(hook.body).data as Record<string, unknown>;
}

/** The transcript as [speaker, text, interrupted] rows, for diagnostics. */
export function showTurns(turns: readonly TranscriptTurnOut[]): string {
  return JSON.stringify(turns.map((x) => [x.speaker, x.text, ...(x.interrupted ? ['interrupted'] : [])]));
}
