/**
 * Stopping a worker with live calls (what SIGTERM does through src/worker/control/stop-plane.ts): it
 * claims nothing more at once, lets live calls go on for the drain time, and ends what is left then
 * with end reason worker_shutdown, never canceled_by_api; the stop returns once every end is recorded.
 * Live calls: the seeded demo flow agent calls the sandbox's human persona over SIP/RTP.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/wait.js';
import { sandboxSkip, startSandboxRig, type SandboxRig } from './sandbox-rig.js';

const skip = sandboxSkip;
const TERMINAL = ['completed', 'failed', 'busy', 'no_answer', 'canceled'];
const rigs: SandboxRig[] = [];

after(async () => {
  // The planes were stopped by the tests; the rest of each rig goes here.
  for (const r of rigs) {
    await r.sandbox.stop();
    await r.t.close();
  }
});

async function liveCall(rig: SandboxRig, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await rig.t.org.req('POST', `/v1/agents/${rig.seed.agentId}/outbound-calls`, { to: '+12025550100', max_duration_s: 60, ...extra });
  assert.equal(r.status, 202, r.raw);
  const id = r.body.id as string;
  await waitFor('the call in progress', async () => ((await rig.t.org.req('GET', `/v1/calls/${id}`)).body.status === 'in_progress' ? true : undefined), 30_000);
  return id;
}

describe('stopping a worker with live calls', { skip }, () => {
  test('with a drain longer than the call: it goes on to its own end (the flow hangs up); a call queued meanwhile is not claimed', async (tc) => {
    const rig = await startSandboxRig(47000);
    rigs.push(rig);
    const id = await liveCall(rig);
    const began = Date.now();
    const stopped = rig.plane.stop({ drainMs: 60_000 });
    // Queued after the stop began: no worker claims it (it waits for the next one).
    const queued = await rig.t.org.req('POST', `/v1/agents/${rig.seed.agentId}/outbound-calls`, { to: '+12025550100' });
    assert.equal(queued.status, 202, queued.raw);
    await stopped;
    const call = (await rig.t.org.req('GET', `/v1/calls/${id}`)).body;
    tc.diagnostic(`stop took ${Date.now() - began} ms; call ${call.status}/${call.end_reason}`);
    assert.deepEqual([call.status, call.end_reason], ['completed', 'agent_hangup'], 'the conversation ran to its end');
    assert.ok(Date.now() - began < 55_000, 'the stop returned when the call ended, not at the drain limit');
    const later = (await rig.t.org.req('GET', `/v1/calls/${queued.body.id}`)).body;
    assert.equal(later.status, 'queued', 'nothing was claimed during the drain');
  });

  test('with a short drain: the call still live when it runs out ends worker_shutdown (hung up with BYE: completed, disconnection error)', async (tc) => {
    const rig = await startSandboxRig(47400);
    rigs.push(rig);
    const id = await liveCall(rig);
    const began = Date.now();
    await rig.plane.stop({ drainMs: 1000 });
    const call = await waitFor('the call ended', async () => {
      const c = (await rig.t.org.req('GET', `/v1/calls/${id}`)).body;
      return TERMINAL.includes(c.status) ? c : undefined;
    }, 5000);
    tc.diagnostic(`stop took ${Date.now() - began} ms; call ${call.status}/${call.end_reason}/${call.disconnection}`);
    assert.deepEqual([call.status, call.end_reason, call.disconnection, call.sip_status_code], ['completed', 'worker_shutdown', 'error', 200]);
    assert.ok(Date.now() - began >= 1000, 'not before the drain time');
    assert.ok(call.transcript_id, 'its transcript is kept');
  });
});
