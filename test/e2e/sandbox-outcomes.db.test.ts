/**
 * The sandbox's non-conversational numbers on live calls: API -> dispatcher -> media worker -> SIP
 * -> the sandbox UAS (seeded trunk `sandbox`, demo agent, caller id), and the stored result of each:
 * busy 486, declined 603, no answer (rings until our ring timeout CANCELs it), failure 503, a callee
 * who hangs up during the greeting, and a number outside the sandbox table (404).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seedSandbox } from '../../src/sandbox/index.js';
import { sandboxSkip, startSandboxRig, type SandboxRig } from './sandbox-rig.js';
import { waitFor } from '../helpers/wait.js';

const skip = sandboxSkip;

let rig: SandboxRig;
let t: SandboxRig['t'];
let sandbox: SandboxRig['sandbox'];
let seed: SandboxRig['seed'];

before(async () => {
  if (skip) return;
  rig = await startSandboxRig(38200);
  ({ t, sandbox, seed } = rig);
});
after(async () => {
  if (!skip) await rig.stop();
});

const call = (to: string, extra: Record<string, unknown> = {}) => rig.call(to, extra, 40_000);

describe('sandbox numbers: call outcomes (live SIP)', { skip }, () => {
  test('the seed is idempotent: same trunk/agent/number, trunk follows the sandbox port', async () => {
    assert.deepEqual([...seed.created].sort(), ['agent', 'phone_number', 'trunk']);
    const again = await seedSandbox(t.ctx, t.org.id, { host: sandbox.host, port: sandbox.port });
    assert.deepEqual([again.trunkId, again.agentId, again.phoneNumberId, again.created.length], [seed.trunkId, seed.agentId, seed.phoneNumberId, 0]);
    const trunk = await t.org.req('GET', `/v1/trunks/${seed.trunkId}`);
    assert.deepEqual([trunk.body.name, trunk.body.host, trunk.body.port], ['sandbox', '127.0.0.1', sandbox.port]);
    const moved = await seedSandbox(t.ctx, t.org.id, { host: '127.0.0.1', port: sandbox.port + 1 });
    assert.equal(moved.trunkId, seed.trunkId);
    assert.equal((await t.org.req('GET', `/v1/trunks/${seed.trunkId}`)).body.port, sandbox.port + 1);
    await seedSandbox(t.ctx, t.org.id, { host: sandbox.host, port: sandbox.port });
    const agent = await t.org.req('GET', `/v1/agents/${seed.agentId}`);
    assert.equal(agent.body.flow.start, 'greet');
  });

  test('busy: 486 -> status busy, end_reason busy', async () => {
    const c = await call('+12025550101');
    assert.deepEqual([c.status, c.end_reason, c.sip_status_code, c.answered_at], ['busy', 'busy', 486, null]);
  });

  test('declined: rings, then 603 -> end_reason declined', async () => {
    const c = await call('+12025550103');
    assert.deepEqual([c.end_reason, c.sip_status_code, c.answered_at], ['declined', 603, null]);
  });

  test('failure: 503 -> status failed, end_reason sip_error', async () => {
    const c = await call('+12025550104');
    assert.deepEqual([c.status, c.end_reason, c.sip_status_code], ['failed', 'sip_error', 503]);
  });

  test('no answer: rings until our ring timeout cancels -> no_answer / ring_timeout; the sandbox saw the CANCEL (487)', async () => {
    const c = await call('+12025550102', { ring_timeout_s: 5 });
    assert.deepEqual([c.status, c.end_reason, c.answered_at], ['no_answer', 'ring_timeout', null]);
    const rec = await waitFor('the sandbox to record the call', () => sandbox.calls.find((x) => x.dialed === '+12025550102'), 5000);
    assert.equal(rec.sipStatusCode, 487);
  });

  test('hangs up during the greeting: answered, then the callee hangs up -> completed / callee_hangup', async () => {
    const c = await call('+12025550106');
    assert.deepEqual([c.status, c.end_reason, c.sip_status_code], ['completed', 'callee_hangup', 200]);
    assert.ok(c.answered_at);
    const rec = await waitFor('the sandbox to record the call', () => sandbox.calls.find((x) => x.dialed === '+12025550106'), 5000);
    assert.equal(rec.persona?.hangupReason, 'hangup_after_ms');
    assert.equal(rec.persona?.codec, 'PCMU', 'the demo agent offers the leg default (G.711): its recognizer hears 8 kHz');
  });

  test('a number outside the sandbox table: 404 -> failed', async () => {
    const c = await call('+12025550150');
    assert.deepEqual([c.status, c.sip_status_code], ['failed', 404]);
  });
});
