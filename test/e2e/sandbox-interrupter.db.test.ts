/**
 * The interrupter number on a live call: the persona starts talking 0.8 s into the agent's greeting.
 * The agent's barge-in stops the greeting, and the stored transcript keeps only the part that was
 * played, followed by what the agent heard from the persona.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_FLOW, startSandbox, seedSandbox, type Sandbox, type SandboxSeed } from '../../src/sandbox/index.js';
import { startCallPlane, type CallPlane } from '../../src/worker/call-plane.js';
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

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  sandbox = await startSandbox({ host: '127.0.0.1', port: 0, rtpPortMin: 37000, rtpPortMax: 37198 });
  seed = await seedSandbox(t.ctx, t.org.id, { host: sandbox.host, port: sandbox.port });
  plane = await startCallPlane(
    t.ctx,
    { sipHost: '127.0.0.1', sipPort: 0, advertiseHost: undefined, rtpHost: '127.0.0.1', rtpPortMin: 37200, rtpPortMax: 37398, ttsVoice: 'en-us', leaseMs: 30_000, dispatchPollMs: 250, threads: 1 },
    { pollIntervalMs: 250 },
  );
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await sandbox.stop();
  await t.close();
});

describe('sandbox interrupter (live barge-in)', { skip }, () => {
  test('the persona talks over the greeting; the transcript keeps the greeting as far as it was played', async (tc) => {
    const r = await t.org.req('POST', `/v1/agents/${seed.agentId}/outbound-calls`, { to: '+12025550108', max_duration_s: 60 });
    assert.equal(r.status, 202, r.raw);
    const id = r.body.id as string;
    const call = await waitFor('the call to end', async () => {
      const got = await t.org.req('GET', `/v1/calls/${id}`);
      return TERMINAL.includes(got.body.status) ? got.body : undefined;
    }, 60_000);
    const rec = await waitFor('the sandbox record', () => sandbox.calls.find((x) => x.dialed === '+12025550108'), 10_000);
    const tr = call.transcript_id ? await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
    const turns = (tr?.body.turns ?? []) as Array<{ speaker: string; text: string }>;
    tc.diagnostic(`call ${call.status}/${call.end_reason}; persona said ${JSON.stringify(rec.persona?.said)}; transcript ${JSON.stringify(turns.map((x) => [x.speaker, x.text]))}`);
    assert.equal(call.status, 'completed');
    assert.equal(rec.persona?.said[0], 'Hello? Who is this?');
    const greeting = (DEMO_FLOW.nodes.greet as { text: string }).text;
    assert.equal(turns[0]?.speaker, 'agent');
    const first = turns[0]?.text ?? '';
    assert.ok(first.length > 0 && first.length < greeting.length && greeting.startsWith(first), `the greeting was cut by the barge-in: "${first}"`);
    assert.ok(turns.some((x) => x.speaker === 'callee'), 'the agent heard the persona');
  });
});
