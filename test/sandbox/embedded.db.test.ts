/** `outcall serve`'s embedded sandbox: on by default with the embedded store, off with OUTCALL_SANDBOX=0 or PostgreSQL. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmbeddedSandbox } from '../../src/sandbox/embedded.js';
import { DEFAULT_ORG_ID, ensureOrganization } from '../../src/store/orgs.js';
import { sql } from '../../src/store/sql.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
before(async () => {
  t = await startTestApp({ allowPrivateUrls: true });
  await ensureOrganization(t.db, DEFAULT_ORG_ID, 'Default organization');
});
after(async () => {
  await t.close();
});

describe('embedded sandbox start', () => {
  test('off with a PostgreSQL store or OUTCALL_SANDBOX=0; a bad port is a config error', async () => {
    assert.equal(await startEmbeddedSandbox(t.ctx, { embeddedStore: false, env: {} }), undefined);
    assert.equal(await startEmbeddedSandbox(t.ctx, { embeddedStore: true, env: { OUTCALL_SANDBOX: '0' } }), undefined);
    await assert.rejects(startEmbeddedSandbox(t.ctx, { embeddedStore: true, env: { OUTCALL_SANDBOX_PORT: 'x' } }), { code: 'config_invalid' });
  });

  test('on by default: seeds the default organization and prints how to call the human persona', async () => {
    const e = await startEmbeddedSandbox(t.ctx, { embeddedStore: true, env: {} });
    assert.ok(e);
    try {
      assert.ok(e.sandbox.port > 0);
      assert.match(e.banner, new RegExp(`127\\.0\\.0\\.1:${e.sandbox.port}`));
      assert.match(e.banner, new RegExp(`"to":"\\+12025550100".*/v1/agents/${e.seed.agentId}/outbound-calls`, 's'));
      const trunk = await t.db.query<{ name: string; port: number }>(sql`select name, port from trunks where id = ${e.seed.trunkId}`);
      assert.deepEqual(trunk.rows[0], { name: 'sandbox', port: e.sandbox.port });
    } finally {
      await e.stop();
    }
  });
});
