import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingDemoEngines, runDemoCall } from '../../src/cli/demo-call.js';
import type { AppContext } from '../../src/app-context.js';
import { DEFAULT_PROVIDERS } from '../../src/providers/registry.js';

test('hearing never needs a Debian package (soundswallower from npm); a voice from npm needs none either', () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    assert.deepEqual(missingDemoEngines('flite-wasm'), []);
    assert.deepEqual(missingDemoEngines('espeak-ng'), ['espeak-ng']);
  } finally {
    process.env.PATH = path;
  }
});

test('the default demo voice comes from npm', () => {
  assert.equal(DEFAULT_PROVIDERS.tts, 'flite-wasm');
});

test('when the demo voice needs a program this machine lacks, the demo says what to install and places no call', async () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    assert.deepEqual(missingDemoEngines('espeak-ng'), ['espeak-ng']);
    const lines: string[] = [];
    // A context whose store throws: reaching it would mean a call was placed.
    const ctx = { db: new Proxy({}, { get: () => { throw new Error('no call may be placed'); } }) } as unknown as AppContext;
    const r = await runDemoCall(ctx, { orgId: 'org', agentId: 'agt', to: '+12025550100', address: 'http://x', tts: 'espeak-ng', out: (l) => lines.push(l) });
    assert.equal(r, undefined);
    assert.match(lines.join('\n'), /sudo apt-get install espeak-ng {3}then/);
  } finally {
    process.env.PATH = path;
  }
});
