import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../../src/store/sql.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

test('a new key works at once, is shown once, stored hashed, and revoking it works at once', async () => {
  const created = await t.org.req('POST', '/v1/api-keys', { name: 'ci' });
  assert.equal(created.status, 201, created.raw);
  const key = created.body.key as string;
  assert.match(key, /^oc_/);
  assert.equal(created.body.prefix, key.slice(0, 9));
  const list = await t.org.req('GET', '/v1/api-keys');
  assert.equal(list.body.data.length, 2);
  assert.ok(!list.raw.includes(key), 'the list never shows a key');
  const stored = JSON.stringify((await t.db.query(sql`select * from api_keys`)).rows);
  assert.ok(!stored.includes(key), 'only the hash is stored');
  const withNew = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${key}` } });
  assert.equal(withNew.statusCode, 200);
  assert.equal((await t.org.req('DELETE', `/v1/api-keys/${created.body.id}`)).status, 204);
  const revoked = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${key}` } });
  assert.equal(revoked.statusCode, 401);
  assert.ok((await t.org.req('GET', '/v1/api-keys')).body.data.find((k: { id: string }) => k.id === created.body.id).revoked_at);
});

test('the last active key cannot be revoked; unknown ids are 404; other organizations cannot touch them', async () => {
  const o = await t.newOrg();
  const only = (await o.req('GET', '/v1/api-keys')).body.data[0];
  const r = await o.req('DELETE', `/v1/api-keys/${only.id}`);
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'last_api_key');
  assert.equal((await o.req('GET', '/v1/agents')).status, 200, 'still usable');
  assert.equal((await o.req('DELETE', '/v1/api-keys/key_nope')).body.error.code, 'api_key_not_found');
  assert.equal((await t.org.req('DELETE', `/v1/api-keys/${only.id}`)).status, 404);
  assert.equal((await o.req('POST', '/v1/api-keys', { name: '' })).status, 400);
  assert.equal((await o.req('POST', '/v1/api-keys', { name: 'x', scope: 'all' })).body.error.code, 'unknown_field');
});
