/**
 * The embedded sandbox on its own thread (src/sandbox/sandbox-thread.ts): it answers the platform's
 * calls as the in-process one does, its finished calls show on the handle, a persona file that does
 * not load fails the start with the sandbox's own error code.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandboxThread } from '../../src/sandbox/sandbox-thread.js';
import { CallLeg } from '../../src/telephony/call-leg.js';
import type { LegEnded } from '../../src/telephony/leg-events.js';
import { PortPool } from '../../src/telephony/rtp/index.js';
import { UserAgent } from '../../src/telephony/sip/index.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'outcall-sandbox-thread-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('answers by number from its thread: busy is 486, and the call is on the handle', async () => {
  const sandbox = await startSandboxThread({ host: '127.0.0.1', port: 0 });
  const ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  try {
    assert.ok(sandbox.port > 0);
    const busy = sandbox.numbers.find((n) => n.name === 'busy');
    assert.ok(busy, `numbers: ${sandbox.numbers.map((n) => n.name).join(', ')}`);
    const min = 49600 + ((process.pid * 2) % 48) * 2; // (49600-49698: this test's range)
    const leg = await CallLeg.dial({
      ua,
      portPool: new PortPool({ min, max: min + 1 }),
      localAddress: '127.0.0.1',
      dial: { to: `sip:${busy.number}@127.0.0.1:${sandbox.port}`, from: 'sip:outcall@127.0.0.1', trunk: { host: '127.0.0.1', port: sandbox.port }, ringTimeoutMs: 5000 },
    });
    const ended: LegEnded = await leg.ended;
    assert.equal(ended.sipStatusCode, 486);
    const rec = await waitFor('the call on the handle', () => sandbox.calls.find((c) => c.dialed === busy.number), 5000);
    assert.equal(rec.sipStatusCode, 486);
  } finally {
    await ua.close();
    await sandbox.stop();
  }
});

test('a persona file that does not load fails the start with its code', async () => {
  writeFileSync(join(dir, 'broken.json'), '{ "name": ');
  await assert.rejects(startSandboxThread({ host: '127.0.0.1', port: 0, personaDirs: [dir] }), (e: unknown) => (e as { code?: string }).code === 'sandbox_persona_invalid');
});
