/**
 * The voicemail number on a live call: the sandbox answers, plays its greeting and a beep, then records
 * what the demo agent says until the agent hangs up. The recording is real audio from the agent's RTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, seedSandbox, type Sandbox, type SandboxRecording, type SandboxSeed } from '../../src/sandbox/index.js';
import { startCallPlane, type CallPlane } from '../../src/worker/call-plane.js';
import { rms } from '../fixtures/media/signals.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

const missing = ['espeak-ng', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
const TERMINAL = ['completed', 'failed', 'busy', 'no_answer', 'canceled'];

let t: TestApp;
let plane: CallPlane;
let sandbox: Sandbox;
let seed: SandboxSeed;
const recordings: SandboxRecording[] = [];

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  sandbox = await startSandbox({ host: '127.0.0.1', port: 0, rtpPortMin: 39600, rtpPortMax: 39798, onRecording: (r) => recordings.push(r) });
  seed = await seedSandbox(t.ctx, t.org.id, { host: sandbox.host, port: sandbox.port });
  plane = await startCallPlane(
    t.ctx,
    { sipHost: '127.0.0.1', sipPort: 0, advertiseHost: undefined, rtpHost: '127.0.0.1', rtpPortMin: 39800, rtpPortMax: 39998, ttsVoice: 'en-us', leaseMs: 30_000, dispatchPollMs: 250, threads: 1 },
    { pollIntervalMs: 250 },
  );
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await sandbox.stop();
  await t.close();
});

describe('sandbox voicemail (live)', { skip }, () => {
  test('greeting, beep, and the agent\'s words recorded until the agent hangs up', async (tc) => {
    const r = await t.org.req('POST', `/v1/agents/${seed.agentId}/outbound-calls`, { to: '+12025550105', max_duration_s: 60 });
    assert.equal(r.status, 202, r.raw);
    const id = r.body.id as string;
    const call = await waitFor('the call to end', async () => {
      const got = await t.org.req('GET', `/v1/calls/${id}`);
      return TERMINAL.includes(got.body.status) ? got.body : undefined;
    }, 60_000);
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
