/**
 * The default voice from npm (flite-wasm, voice rms) on live calls: API -> store -> dispatcher ->
 * media worker thread -> SIP/RTP.
 * - A greeting-only agent that names no TTS speaks flite-wasm's rms: what baresip heard (PCMU and
 *   L16) is that voice's own rendering, not another flite voice's.
 * - A sandbox call's two sides speak different voices: the voicemail persona is given its own voice
 *   (slt) and records what the demo agent says, which is the agents' rms.
 * RTP ports 34000-34198 (this file's range).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FliteWasmTts } from '../../src/providers/tts/flite-wasm.js';
import type { TtsProvider } from '../../src/providers/tts/types.js';
import { seedSandbox, startSandbox, type Sandbox, type SandboxRecording, type SandboxSeed } from '../../src/sandbox/index.js';
import { concat, findSignal } from '../fixtures/media/signals.js';
import { CALLEE_RATE, calleeScript } from '../fixtures/voice/callee.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { waitFor } from '../helpers/wait.js';
import { LEAVE_MESSAGE_FLOW } from './sandbox-rig.js';
import { callEnded, narrowbandScript, NARROWBAND_RATE, placeCall, startVoiceRig, type VoiceRig } from './voice-helpers.js';

// No espeak-ng and no Debian flite on the agent's side: baresip is the callee, sox (with Debian flite) makes its silent script.
const missing = ['baresip', 'sox', 'flite'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;

const npm = new FliteWasmTts();
async function render(text: string, voice: string, rate: number): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  for await (const c of npm.synthesize({ text, sampleRate: rate, voice })) chunks.push(c);
  return concat(chunks);
}

/** The sandbox's TTS, noting each voice it was asked for. */
function voiceProbe(inner: TtsProvider, voices: string[]): TtsProvider {
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    synthesize: (req) => {
      voices.push(req.voice ?? '(none)');
      return inner.synthesize(req);
    },
  };
}

let rig: VoiceRig;
let sandbox: Sandbox;
let seed: SandboxSeed;
const personaVoices: string[] = [];
const recordings: SandboxRecording[] = [];

before(async () => {
  if (skip) return;
  rig = await startVoiceRig(34000, 34098);
  const sandboxTts = new FliteWasmTts();
  sandboxTts.prepare();
  sandbox = await startSandbox({
    host: '127.0.0.1',
    port: 0,
    rtpPortMin: 34100,
    rtpPortMax: 34198,
    tts: voiceProbe(sandboxTts, personaVoices),
    onRecording: (r) => recordings.push(r),
  });
  seed = await seedSandbox(rig.t.ctx, rig.t.org.id, { host: sandbox.host, port: sandbox.port });
  const r = await rig.t.org.req('PATCH', `/v1/agents/${seed.agentId}`, { flow: LEAVE_MESSAGE_FLOW });
  assert.equal(r.status, 200, r.raw);
});
after(async () => {
  if (skip) return;
  await rig.stop();
  await sandbox.stop();
});

describe('the npm voice on live calls', { skip }, () => {
  const GREETING = 'Hello, this is a reminder of your appointment on Tuesday morning.';
  for (const narrowband of [true, false]) {
    const rate = narrowband ? NARROWBAND_RATE : CALLEE_RATE;
    test(`a greeting-only agent with no tts settings speaks flite-wasm rms (${narrowband ? 'PCMU' : 'L16/16000'}): baresip heard that rendering`, async (tc) => {
      const script = narrowband ? narrowbandScript([], 25) : calleeScript([], 25);
      assert.ok(script, 'sox made the silent callee');
      // A greeting-only agent offers the worker's codecs; the wideband case asks for L16 (baresip's only codec there).
      const placed = await placeCall(rig.t, { prompt: script.wav, narrowband, agent: { greeting: GREETING }, ...(narrowband ? {} : { call: { codecs: ['L16/16000'] } }) });
      try {
        const { call, heardFromStart } = await callEnded(rig.t, placed, 40_000, rate);
        tc.diagnostic(`call ${call.status}/${call.end_reason}, ${call.duration_s} s`);
        assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
        assert.equal(call.end_reason, 'agent_hangup', 'the greeting played, then the agent hung up');
        const heard = heardFromStart.subarray(0, rate * 8);
        const [asRms, asSlt] = await Promise.all(['rms', 'slt'].map(async (v) => findSignal(await render(GREETING, v, rate), heard, rate, [300, 900, 1500, 2100])));
        tc.diagnostic(`greeting vs flite-wasm rms: corr ${asRms?.corr.toFixed(3)}; vs slt: ${asSlt?.corr.toFixed(3)}`);
        assert.ok((asRms?.corr ?? 0) > 0.9, `the greeting is flite-wasm's rms (corr ${asRms?.corr.toFixed(3)})`);
        assert.ok((asSlt?.corr ?? 1) < (asRms?.corr ?? 0) - 0.3, `not slt (corr ${asSlt?.corr.toFixed(3)})`);
      } finally {
        await placed.callee.stop();
      }
    });
  }

  test("a sandbox call's two sides speak different voices: the voicemail persona slt, the demo agent rms", async (tc) => {
    const r = await rig.t.org.req('POST', `/v1/agents/${seed.agentId}/outbound-calls`, { to: '+12025550105', max_duration_s: 60 });
    assert.equal(r.status, 202, r.raw);
    const id = r.body.id as string;
    const call = await waitFor(
      'the voicemail call to end',
      async () => {
        const got = await rig.t.org.req('GET', `/v1/calls/${id}`);
        return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got.body : undefined;
      },
      90_000,
    );
    const rec = await waitFor('the voicemail recording', () => recordings.find((x) => x.dialed === '+12025550105'), 10_000);
    tc.diagnostic(`call ${call.status}/${call.end_reason}; persona voices ${JSON.stringify(personaVoices)}; recording ${(rec.samples.length / rec.sampleRate).toFixed(1)} s at ${rec.sampleRate} Hz`);
    assert.equal(call.status, 'completed');
    // The persona's side: it was given its own voice, never the agents'.
    assert.ok(personaVoices.length > 0, 'the persona spoke (its greeting)');
    assert.deepEqual([...new Set(personaVoices)], ['slt']);
    // The agent's side, as the persona recorded it after its beep until the agent hung up: the
    // agent's last line (from the transcript) ends the recording, in rms and not in slt.
    const tr = await rig.t.org.req('GET', `/v1/transcripts/${String(call.transcript_id)}`);
    const agentLines = (tr.body.turns as Array<{ speaker: string; text: string }>).filter((x) => x.speaker === 'agent').map((x) => x.text);
    const line = agentLines.at(-1) ?? '';
    tc.diagnostic(`agent lines: ${JSON.stringify(agentLines)}`);
    const tail = rec.samples.subarray(Math.max(0, rec.samples.length - rec.sampleRate * 8));
    const [asRms, asSlt] = await Promise.all(
      ['rms', 'slt'].map(async (v) => {
        const pcm = await render(line, v, rec.sampleRate);
        const ms = (pcm.length / rec.sampleRate) * 1000;
        // Windows near the line's end: its start may have been said before the beep.
        return findSignal(pcm, tail, rec.sampleRate, [ms - 1600, ms - 1200, ms - 800].filter((x) => x >= 0));
      }),
    );
    const best = { line, rms: asRms?.corr ?? 0, slt: asSlt?.corr ?? 0 };
    tc.diagnostic(`the agent's last line in the recording: "${best.line}" rms corr ${best.rms.toFixed(3)}, slt corr ${best.slt.toFixed(3)}`);
    assert.ok(best.rms > 0.8, `the agent's line was recorded in rms (corr ${best.rms.toFixed(3)})`);
    assert.ok(best.slt < best.rms - 0.3, `and not in the persona's slt (corr ${best.slt.toFixed(3)})`);
  });
});
