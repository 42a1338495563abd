import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingDemoEngines, runDemoCall } from '../../src/cli/demo-call.js';
import type { AppContext } from '../../src/app-context.js';

test('without the speech engines on PATH the demo says what to install and places no call', async () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    assert.deepEqual(missingDemoEngines(), ['espeak-ng', 'pocketsphinx pocketsphinx-en-us']);
    const lines: string[] = [];
    // A context whose store throws: reaching it would mean a call was placed.
    const ctx = { db: new Proxy({}, { get: () => { throw new Error('no call may be placed'); } }) } as unknown as AppContext;
    const r = await runDemoCall(ctx, { orgId: 'org', agentId: 'agt', to: '+12025550100', address: 'http://x', out: (l) => lines.push(l) });
    assert.equal(r, undefined);
    assert.match(lines.join('\n'), /sudo apt-get install espeak-ng pocketsphinx pocketsphinx-en-us/);
  } finally {
    process.env.PATH = path;
  }
});
