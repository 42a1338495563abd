/**
 * The voicemail number on a live call: the sandbox answers, plays its greeting and a beep, then records
 * what the demo agent says until the agent hangs up. The recording is real audio from the agent's RTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxRecording } from '../../src/sandbox/index.js';
import { rms } from '../fixtures/media/signals.js';
import { sandboxSkip, startSandboxRig, type SandboxRig } from './sandbox-rig.js';
import { waitFor } from '../helpers/wait.js';

const skip = sandboxSkip;
const recordings: SandboxRecording[] = [];

let rig: SandboxRig;

before(async () => {
  if (skip) return;
  rig = await startSandboxRig(39600, { onRecording: (r) => recordings.push(r) });
});
after(async () => {
  if (!skip) await rig.stop();
});

describe('sandbox voicemail (live)', { skip }, () => {
  test('greeting, beep, and the agent\'s words recorded until the agent hangs up', async (tc) => {
    const call = await rig.call('+12025550105');
    const rec = await waitFor('the recording', () => recordings.find((x) => x.dialed === '+12025550105'), 10_000);
    const seconds = rec.samples.length / rec.sampleRate;
    tc.diagnostic(`call ${call.status}/${call.end_reason}; recording ${seconds.toFixed(1)} s at ${rec.sampleRate} Hz, rms ${rms(rec.samples).toFixed(0)}`);
    assert.equal(call.status, 'completed');
    assert.equal(call.end_reason, 'agent_hangup', 'voicemail waits for the caller to hang up');
    assert.equal(rec.sampleRate, 16000);
    assert.ok(seconds > 1, `recorded ${seconds} s`);
    assert.ok(rms(rec.samples) > 300, 'the recording holds the agent\'s voice, not silence');
  });
});
