/**
 * The SIP edge fields at the API (the live calls are in test/e2e/sip-edge.db.test.ts and
 * sip-tls.db.test.ts): a trunk's tls_ca_pem (checked, summarized, never returned), its default port
 * per transport and codecs; a call's trunk_id and From resolution, codecs, sips: check and its own
 * SIP credentials (both or neither, encrypted, refused without a secret key, never returned).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../../src/store/sql.js';
import { havePeer } from '../helpers/sipp.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { TestPki } from '../helpers/test-pki.js';

const haveOpenssl = havePeer('openssl');
let t: TestApp;
let pki: TestPki | undefined;
before(async () => {
  t = await startTestApp();
  if (haveOpenssl) pki = new TestPki();
});
after(async () => {
  await t.close();
  pki?.remove();
});

const uniq = () => String(Math.floor(Math.random() * 9e6) + 1e6);

async function trunk(extra: Record<string, unknown> = {}) {
  const r = await t.org.req('POST', '/v1/trunks', { name: `t-${uniq()}`, host: 'sip.example.net', ...extra });
  assert.equal(r.status, 201, r.raw);
  return r.body;
}

async function agent(): Promise<string> {
  const r = await t.org.req('POST', '/v1/agents', { name: `a-${uniq()}`, greeting: 'Hi.' });
  assert.equal(r.status, 201, r.raw);
  return r.body.id as string;
}

async function number(trunkId: string, agentId?: string): Promise<{ id: string; number: string }> {
  const n = `+1415${uniq()}`;
  const r = await t.org.req('POST', '/v1/phone-numbers', { number: n, trunk_id: trunkId, ...(agentId ? { outbound_agent_id: agentId } : {}) });
  assert.equal(r.status, 201, r.raw);
  return { id: r.body.id as string, number: n };
}

const create = (agentId: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', ...body }, headers);

describe('trunk: transport tls, tls_ca_pem, codecs', () => {
  test('the port defaults to 5061 with tls and 5060 otherwise; a PATCH of transport moves a default port along', async () => {
    const tls = await trunk({ transport: 'tls' });
    assert.equal(tls.port, 5061);
    assert.equal((await trunk()).port, 5060);
    const toUdp = await t.org.req('PATCH', `/v1/trunks/${tls.id}`, { transport: 'udp' });
    assert.equal(toUdp.body.port, 5060);
    const custom = await trunk({ transport: 'tls', port: 7443 });
    const kept = await t.org.req('PATCH', `/v1/trunks/${custom.id}`, { transport: 'tcp' });
    assert.deepEqual([kept.body.transport, kept.body.port], ['tcp', 7443], 'a port set by hand stays');
  });

  test('tls_ca_pem: stored, summarized, never returned; bad bundles are 422 invalid_tls_ca', { skip: haveOpenssl ? false : 'openssl not installed' }, async () => {
    const ca = (pki as TestPki).ca('api');
    const bundle = `# Subject: the carrier's CA\n${ca.pem}`;
    const tr = await trunk({ transport: 'tls', tls_ca_pem: bundle });
    assert.equal(tr.tls_ca_pem, undefined);
    assert.equal(tr.tls_ca_certificates.length, 1);
    assert.match(tr.tls_ca_certificates[0].subject, /CN=Outcall test CA api/);
    assert.match(tr.tls_ca_certificates[0].fingerprint_sha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(!(await t.org.req('GET', `/v1/trunks/${tr.id}`)).raw.includes('BEGIN CERTIFICATE'));
    const row = await t.db.query<{ tls_ca_pem: string }>(sql`select tls_ca_pem from trunks where id = ${tr.id}`);
    assert.equal(row.rows[0]?.tls_ca_pem, bundle);
    const cleared = await t.org.req('PATCH', `/v1/trunks/${tr.id}`, { tls_ca_pem: null });
    assert.deepEqual(cleared.body.tls_ca_certificates, []);

    const key = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
    const broken = ca.pem.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!');
    const bad: Array<[unknown, string, RegExp]> = [
      ['not a certificate', 'invalid_tls_ca', /no PEM certificate/],
      [`${ca.pem}${key}`, 'invalid_tls_ca', /only CERTIFICATE blocks.*PRIVATE KEY/],
      [broken, 'invalid_tls_ca', /does not parse/],
      [ca.pem.replace(/-----END CERTIFICATE-----\s*$/, ''), 'invalid_tls_ca', /no PEM certificate|not closed/],
      ['x'.repeat(65537), 'invalid_request', /65536/],
    ];
    for (const [pem, code, message] of bad) {
      const r = await t.org.req('POST', '/v1/trunks', { name: 'bad', host: 'a.example', transport: 'tls', tls_ca_pem: pem });
      assert.deepEqual([r.status, r.body.error.code, r.body.error.param], [code === 'invalid_tls_ca' ? 422 : 400, code, 'tls_ca_pem'], r.raw);
      assert.match(r.body.error.message, message);
      const p = await t.org.req('PATCH', `/v1/trunks/${tr.id}`, { tls_ca_pem: pem });
      assert.equal(p.body.error.code, code);
    }
  });

  test('codecs: stored in order; unknown names, duplicates and empty lists are refused', async () => {
    const tr = await trunk({ codecs: ['PCMA', 'L16/16000'] });
    assert.deepEqual(tr.codecs, ['PCMA', 'L16/16000']);
    assert.equal((await trunk()).codecs, null);
    for (const codecs of [['opus'], ['PCMU', 'PCMU'], [], ['PCMU', 'PCMA', 'G722', 'L16/16000', 'telephone-event']]) {
      const r = await t.org.req('POST', '/v1/trunks', { name: 'c', host: 'a.example', codecs });
      assert.deepEqual([r.status, r.body.error.param?.startsWith('codecs')], [400, true], `${JSON.stringify(codecs)}: ${r.raw}`);
    }
    const patched = await t.org.req('PATCH', `/v1/trunks/${tr.id}`, { codecs: null });
    assert.equal(patched.body.codecs, null);
  });
});

describe('call: trunk_id, codecs, sips:, sip_auth', () => {
  test('From resolution: from, else trunk_id (agent number on it, else default_caller_id, else 422), else the agent number', async () => {
    const a = await agent();
    const home = await trunk();
    const homeNumber = await number(home.id, a);
    const withDefault = await trunk({ default_caller_id: '+16285550100' });
    const bare = await trunk();

    let r = await create(a, {});
    assert.deepEqual([r.status, r.body.from, r.body.trunk_id], [202, homeNumber.number, home.id]);
    r = await create(a, { trunk_id: withDefault.id });
    assert.deepEqual([r.status, r.body.from, r.body.trunk_id], [202, '+16285550100', withDefault.id]);
    const row = await t.db.query<{ phone_number_id: string | null }>(sql`select phone_number_id from calls where id = ${r.body.id}`);
    assert.equal(row.rows[0]?.phone_number_id, null);
    // The agent's own number on that trunk wins over its default caller id.
    const onDefault = await number(withDefault.id, a);
    r = await create(a, { trunk_id: withDefault.id });
    assert.equal(r.body.from, onDefault.number);
    r = await create(a, { trunk_id: bare.id });
    assert.deepEqual([r.status, r.body.error.code, r.body.error.param], [422, 'no_from_number', 'trunk_id']);
    r = await create(a, { trunk_id: 'trk_missing' });
    assert.deepEqual([r.status, r.body.error.code, r.body.error.param], [404, 'trunk_not_found', 'trunk_id']);
    // from and trunk_id together must agree.
    r = await create(a, { from: homeNumber.number, trunk_id: home.id });
    assert.equal(r.status, 202);
    r = await create(a, { from: homeNumber.number, trunk_id: withDefault.id });
    assert.deepEqual([r.status, r.body.error.code, r.body.error.param], [422, 'trunk_mismatch', 'trunk_id']);
    // Another organization's trunk is not found.
    const other = await t.newOrg('other');
    const theirs = await other.req('POST', '/v1/trunks', { name: 'x', host: 'b.example', default_caller_id: '+16285550111' });
    r = await create(a, { trunk_id: theirs.body.id });
    assert.equal(r.body.error.code, 'trunk_not_found');
  });

  test('codecs on the call are echoed; a sips: destination needs a tls trunk', async () => {
    const a = await agent();
    const udp = await trunk();
    const tls = await trunk({ transport: 'tls' });
    await number(udp.id, a);
    await number(tls.id);
    let r = await create(a, { codecs: ['G722', 'PCMU'] });
    assert.deepEqual([r.status, r.body.codecs], [202, ['G722', 'PCMU']]);
    assert.equal((await create(a, {})).body.codecs, null);
    r = await create(a, { codecs: ['PCMU', 'PCMU'] });
    assert.deepEqual([r.status, r.body.error.param], [400, 'codecs']);
    r = await create(a, { to: 'sips:bob@sip.example.net' });
    assert.deepEqual([r.status, r.body.error.code, r.body.error.param], [422, 'sips_requires_tls', 'to']);
    r = await create(a, { to: 'sips:bob@sip.example.net', trunk_id: tls.id });
    assert.equal(r.status, 422, 'the agent has no number on the tls trunk and it has no default caller id');
    await number(tls.id, a);
    r = await create(a, { to: 'sips:bob@sip.example.net', trunk_id: tls.id });
    assert.equal(r.status, 202, r.raw);
  });

  test('sip_auth_username/password: both or neither, encrypted, never returned; idempotent replays tell passwords apart', async () => {
    const a = await agent();
    await number((await trunk()).id, a);
    let r = await create(a, { sip_auth_username: 'alice' });
    assert.deepEqual([r.status, r.body.error.code, r.body.error.param], [400, 'missing_field', 'sip_auth_password']);
    r = await create(a, { sip_auth_password: 'pw' });
    assert.deepEqual([r.status, r.body.error.code, r.body.error.param], [400, 'missing_field', 'sip_auth_username']);
    r = await create(a, { sip_auth_username: 'al\r\nice', sip_auth_password: 'pw' });
    assert.deepEqual([r.status, r.body.error.param], [400, 'sip_auth_username'], 'no line breaks in a header value');

    const body = { sip_auth_username: 'alice', sip_auth_password: 'Tr0ub4dor&3' };
    r = await create(a, body, { 'idempotency-key': `k-${uniq()}` });
    assert.equal(r.status, 202, r.raw);
    assert.ok(!r.raw.includes('Tr0ub4dor') && !r.raw.includes('sip_auth'), r.raw);
    const row = await t.db.query<{ sip_auth_password_enc: string }>(sql`select sip_auth_password_enc from calls where id = ${r.body.id}`);
    assert.equal(t.ctx.secrets?.decrypt(row.rows[0]?.sip_auth_password_enc as string), 'Tr0ub4dor&3');
    const key = `k-${uniq()}`;
    assert.equal((await create(a, body, { 'idempotency-key': key })).status, 202);
    assert.equal((await create(a, body, { 'idempotency-key': key })).headers['idempotent-replayed'], 'true');
    assert.equal((await create(a, { ...body, sip_auth_password: 'other' }, { 'idempotency-key': key })).status, 409);
    const hashes = await t.db.query<{ request_hash: string }>(sql`select request_hash from idempotency_keys where key = ${key}`);
    assert.match(hashes.rows[0]?.request_hash ?? '', /^[0-9a-f]{64}$/);

    const plain = await startTestApp({ withSecrets: false });
    try {
      const pa = (await plain.org.req('POST', '/v1/agents', { name: 'p', greeting: 'Hi.' })).body.id as string;
      const pt = (await plain.org.req('POST', '/v1/trunks', { name: 'T', host: 'a.example' })).body.id as string;
      await plain.org.req('POST', '/v1/phone-numbers', { number: '+14155550177', trunk_id: pt, outbound_agent_id: pa });
      const refused = await plain.org.req('POST', `/v1/agents/${pa}/outbound-calls`, { to: '+14155550123', ...body });
      assert.deepEqual([refused.status, refused.body.error.code, refused.body.error.param], [422, 'secret_key_missing', 'sip_auth_password']);
      assert.equal((await plain.org.req('GET', '/v1/calls')).body.data.length, 0, 'nothing written');
    } finally {
      await plain.close();
    }
  });
});
