import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startServe, waitExit } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'outcall-serve-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function stop(child: ChildProcess) {
  child.kill('SIGTERM');
  assert.equal(await waitExit(child), 0, 'a clean shutdown on SIGTERM');
}

test('first start creates and prints an API key once; it works; later starts do not print one', async () => {
  const first = await startServe({ OUTCALL_DATA_DIR: dir });
  const key = /\n {2}(oc_[A-Za-z0-9_-]{43})\n/.exec(first.output())?.[1];
  assert.ok(key, first.output());
  const ok = await fetch(`${first.url}/v1/agents`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(ok.status, 200);
  const health = await fetch(`${first.url}/healthz`);
  assert.deepEqual(await health.json(), { status: 'ok', store: 'pglite' });
  await stop(first.child);
  assert.equal(statSync(join(dir, 'secret.key')).mode & 0o777, 0o600, 'the generated secret key is private');

  const second = await startServe({ OUTCALL_DATA_DIR: dir, OUTCALL_API_KEY: 'preseeded-key-0123456789' });
  assert.doesNotMatch(second.output(), /oc_[A-Za-z0-9_-]{43}/);
  for (const k of [key, 'preseeded-key-0123456789']) {
    const r = await fetch(`${second.url}/v1/trunks`, { headers: { 'x-api-key': k } });
    assert.equal(r.status, 200, k);
  }
  await stop(second.child);
});

test('bad configuration stops start-up with a clear message', async () => {
  const r = await runCli(['serve'], { OUTCALL_DATA_DIR: dir, OUTCALL_PORT: 'abc' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /OUTCALL_PORT=abc must be an integer/);
  const short = await runCli(['serve'], { OUTCALL_DATA_DIR: dir, OUTCALL_PORT: '0', OUTCALL_API_KEY: 'short' });
  assert.equal(short.code, 1);
  assert.match(short.stderr, /OUTCALL_API_KEY must be at least 16 characters/);
  const unknown = await runCli(['frobnicate'], {});
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});
