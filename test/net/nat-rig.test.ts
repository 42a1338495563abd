/**
 * Outcall behind a NAT, on a network of namespaces (test/helpers/netns.ts): the store and call plane
 * run in a child process inside the private namespace (nat-rig.inner.ts, PGlite: PostgreSQL on this
 * host's loopback is not reachable from there), the carrier's registrar, SBC, impairing media relay and
 * SIP peers beyond the NAT.
 * Skipped only where namespaces cannot be made (not root, no ip/iptables), and says so; in CI that
 * fails instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createNatRig, netnsUnavailable } from '../helpers/netns.js';
import { toolAvailable } from '../helpers/require-tool.js';

const why = netnsUnavailable();
if (why && process.env.CI === 'true') throw new Error(`the NAT rig cannot run: ${why}`);
const missing = ['kamailio', 'sipp', 'espeak-ng', 'baresip', 'flite', 'sox', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = why ?? (missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false);

test('behind a NAT (network namespaces): registration with the public address, inbound through the binding, outbound with two-way audio, calls over a lossy, jittery, reordering media path', { skip }, async (tc) => {
  const rig = createNatRig();
  try {
    const inner = fileURLToPath(new URL('./nat-rig.inner.ts', import.meta.url));
    const child = spawn('ip', ['netns', 'exec', rig.out, process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', inner], {
      // The child is a test run of its own: without the runner's context variable it is not taken for a nested one.
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')),
        OUTCALL_TEST_DRIVER: 'pglite',
        RIG_CARRIER_NS: rig.carrier,
        RIG_OUT_IP: rig.outIp,
        RIG_PUBLIC_IP: rig.natPublicIp,
        RIG_CARRIER_IP: rig.carrierIp,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    // The inner run's results and its own diagnostics (transcripts, relay counters), not its summary.
    const summary = /^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /;
    for (const line of out.split('\n').filter((l) => /^\s*([✔✖]|ℹ)/.test(l) && !summary.test(l.trim()))) tc.diagnostic(line.trim());
    assert.equal(code, 0, out.slice(-6000));
    assert.match(out, /ℹ pass 4/, out.slice(-3000));
  } finally {
    rig.teardown();
  }
});
