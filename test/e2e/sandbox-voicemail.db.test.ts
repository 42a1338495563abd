/**
 * The voicemail number on a live call: the sandbox answers, plays its greeting and a beep, then records
 * the message an agent leaves until it hangs up. The recording is real audio from the agent's RTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxRecording } from '../../src/sandbox/index.js';
import { rms } from '../fixtures/media/signals.js';
import { LEAVE_MESSAGE_FLOW, sandboxSkip, startSandboxRig, type SandboxRig } from './sandbox-rig.js';
import { waitFor } from '../helpers/wait.js';

const skip = sandboxSkip;
const recordings: SandboxRecording[] = [];

let rig: SandboxRig;

before(async () => {
  if (skip) return;
  rig = await startSandboxRig(39600, { onRecording: (r) => recordings.push(r) });
  const r = await rig.t.org.req('PATCH', `/v1/agents/${rig.seed.agentId}`, { flow: LEAVE_MESSAGE_FLOW });
  assert.equal(r.status, 200, r.raw);
});
after(async () => {
  if (!skip) await rig.stop();
});

describe('sandbox voicemail (live)', { skip }, () => {
  test('greeting, beep, and the agent\'s words recorded until the agent hangs up', async (tc) => {
    const call = await rig.call('+12025550105');
    const tr = await rig.t.org.req('GET', `/v1/transcripts/${String(call.transcript_id)}`);
    tc.diagnostic(`transcript ${JSON.stringify((tr.body.turns ?? []).map((x: { speaker: string; text: string; start_ms?: number }) => [x.speaker, x.start_ms, x.text]))}`);
    const rec = await waitFor('the recording', () => recordings.find((x) => x.dialed === '+12025550105'), 10_000);
    const seconds = rec.samples.length / rec.sampleRate;
    tc.diagnostic(`call ${call.status}/${call.end_reason}; recording ${seconds.toFixed(1)} s at ${rec.sampleRate} Hz, rms ${rms(rec.samples).toFixed(0)}`);
    assert.equal(call.status, 'completed');
    assert.equal(call.end_reason, 'agent_hangup', 'voicemail waits for the caller to hang up');
    assert.equal(rec.sampleRate, 8000, 'the sandbox call is a narrowband PCMU leg');
    assert.ok(seconds > 1, `recorded ${seconds} s`);
    assert.ok(rms(rec.samples) > 300, 'the recording holds the agent\'s voice, not silence');
  });
});
