/**
 * `outcall test` end to end: the CLI, as a child process, runs the bundled scenarios (scenarios/)
 * against a listening API whose calls go over live SIP/RTP to the sandbox (human persona, busy,
 * declined, hangs up), and every one passes; a scenario whose expectation is wrong (a busy number
 * expected to complete) fails with exit 1 and the expectation, expected vs actual, in the report.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, seedSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { runCli } from '../helpers/cli.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

const missing = ['espeak-ng', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;

let t: TestApp;
let plane: CallPlane;
let sandbox: Sandbox;
let env: Record<string, string>;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = t.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('the test API is not listening on TCP');
  env = { OUTCALL_URL: `http://127.0.0.1:${addr.port}`, OUTCALL_API_KEY: t.org.key };
  sandbox = await startSandbox({ host: '127.0.0.1', port: 0, rtpPortMin: 39000, rtpPortMax: 39198 });
  // The seed is what `outcall serve` does for its default organization; here the test org holds it.
  await seedSandbox(t.ctx, t.org.id, { host: sandbox.host, port: sandbox.port });
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 39200, rtpPortMax: 39398 });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await sandbox.stop();
  await t.close();
});

describe('outcall test on the sandbox (live calls through the CLI)', { skip }, () => {
  test('the bundled scenarios all pass: exit 0, a PASS row for each', async (tc) => {
    const r = await runCli(['test', 'scenarios'], env, 180_000);
    tc.diagnostic(r.stdout);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const name of ['human: greeting, answer, goodbye', 'busy line: 486', 'declined: 603', 'callee hangs up during the greeting']) {
      assert.match(r.stdout, new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+PASS\\s`, 'm'), `${name} in the table as PASS`);
    }
    assert.match(r.stdout, /^busy line: 486\s+PASS\s+busy\/busy\s+486\s/m);
    assert.match(r.stdout, /4\/4 scenarios passed/);
  });

  test('a wrong expectation fails: exit 1, the expectation with expected vs actual; --json says the same', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outcall-scen-'));
    await writeFile(
      join(dir, 'busy-completes.json'),
      JSON.stringify({ name: 'busy expected to complete', agent_name: 'sandbox-demo', to: '+12025550101', expect: { status: 'completed', sip_status_code: 486 } }),
    );
    const r = await runCli(['test', dir], env, 90_000);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^busy expected to complete\s+FAIL\s+busy\/busy/m);
    assert.match(r.stdout, /✗ status: expected completed; got busy/);
    assert.doesNotMatch(r.stdout, /sip_status_code: expected/, 'only the unmet expectation is listed');
    assert.match(r.stdout, /0\/1 scenarios passed/);

    const j = await runCli(['test', dir, '--json'], env, 90_000);
    assert.equal(j.code, 1, j.stderr);
    const out = JSON.parse(j.stdout) as { passed: boolean; failed: number; results: Array<{ status: string; failures: unknown[] }> };
    assert.equal(out.passed, false);
    assert.equal(out.failed, 1);
    assert.equal(out.results[0]?.status, 'busy');
    assert.deepEqual(out.results[0]?.failures, [{ expectation: 'status', expected: 'completed', actual: 'busy' }]);
  });

  test('bad input exits 2 naming the file and field, before any call', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outcall-scen-'));
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ name: 'x', to: '+12025550101', expect: { sip_status_code: 'busy' } }));
    const callsBefore = (await t.org.req('GET', '/v1/calls?limit=200')).body.data.length as number;
    const r = await runCli(['test', dir], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.json: expect\.sip_status_code: must be an integer from 100 to 699, got "busy"/);
    const badFlag = await runCli(['test', 'scenarios', '--concurrency', '0'], env);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--concurrency must be an integer/);
    assert.equal((await t.org.req('GET', '/v1/calls?limit=200')).body.data.length, callsBefore, 'no call was placed');
  });
});
