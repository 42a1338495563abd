/**
 * Trunk registration on live SIP: kamailio is the carrier's registrar (digest SHA-256, usrloc in
 * memory) and routes every call for our numbers to whatever Contact the trunk's user registered.
 * A trunk with `register` is registered by the worker (state on the trunk through the API), a SIPp
 * caller reaches our number through the registrar alone (nothing dials the worker's port directly),
 * the number's agent answers; wrong credentials show as failed with the registrar's reason; turning
 * register off removes the binding, and the registrar then has nowhere to send the call (480).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startKamailioConfig, type KamailioProcess } from '../helpers/kamailio.js';
import { registrarConfig } from '../helpers/kamailio-registrar.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freeUdpPort, startSipp } from '../helpers/sipp.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';
import { sql } from '../../src/store/sql.js';

const missing = ['kamailio', 'sipp'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));

const USER = 'acme-trunk';
const PASSWORD = 'reg-s3cret';

let t: TestApp;
let plane: CallPlane;
let registrar: KamailioProcess;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  const port = await freeUdpPort();
  registrar = await startKamailioConfig(registrarConfig({ port, password: PASSWORD, callsTo: USER }), port);
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 47900, rtpPortMax: 47998, registrationIntervalMs: 300 });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await registrar.stop();
  await t.close();
});

/** A caller on the "PSTN" dials `number` at the carrier; the statuses it got, in order. */
async function callThroughCarrier(number: string, scenario: string): Promise<{ code: number; statuses: number[]; trace: string }> {
  const p = await startSipp({ scenario: fixture(scenario), port: await freeUdpPort(), keys: { from_user: '+14155550123' }, extraArgs: ['-s', number, `127.0.0.1:${registrar.port}`] });
  try {
    const code = (await p.exited) ?? -1;
    const statuses = p.received().map((m) => Number(/^SIP\/2\.0 (\d{3})/.exec(m)?.[1] ?? 0)).filter((s) => s > 0);
    return { code, statuses, trace: p.trace().slice(-3000) };
  } finally {
    await p.stop();
  }
}

/** The one inbound call to `number`, once completed, as the API shows it. */
async function theInboundCallCompleted(number: string) {
  const rows = await t.db.query<{ id: string }>(sql`select id from calls where to_address = ${number} and direction = 'inbound'`);
  assert.equal(rows.rows.length, 1);
  return waitFor('the inbound call to end', async () => {
    const c = await t.org.req('GET', `/v1/calls/${rows.rows[0]!.id}`);
    return c.body.status === 'completed' ? c.body : undefined;
  }, 20_000);
}

async function registration(trunkId: string) {
  const r = await t.org.req('GET', `/v1/trunks/${trunkId}`);
  assert.equal(r.status, 200, r.raw);
  return r.body.registration as { state: string; expires_at: string | null; last_error: string | null; last_success_at: string | null } | null;
}

describe('trunk registration on live SIP (kamailio as the carrier registrar)', { skip }, () => {
  test('register: the worker registers the trunk, a call to our number reaches the agent through the registrar; a wrong password fails with the reason; register off removes the binding', async (tc) => {
    const trunk = await t.org.req('POST', '/v1/trunks', {
      name: 'registered carrier', host: '127.0.0.1', port: registrar.port, username: USER, password: PASSWORD, register: true, registration_expires_s: 120,
    });
    assert.equal(trunk.status, 201, trunk.raw);
    assert.equal(trunk.body.register, true);
    assert.equal(trunk.body.registration_expires_s, 120);
    assert.ok(trunk.body.registration, 'a registering trunk shows its registration');
    const trunkId = trunk.body.id as string;
    const agent = await t.org.req('POST', '/v1/agents', { name: 'registered desk', greeting: 'You reached the registered desk. Goodbye.' });
    assert.equal(agent.status, 201, agent.raw);
    const number = '+16285550177';
    const pn = await t.org.req('POST', '/v1/phone-numbers', { number, trunk_id: trunkId, inbound_agent_id: agent.body.id });
    assert.equal(pn.status, 201, pn.raw);

    const reg = await waitFor('the trunk to be registered', async () => {
      const r = await registration(trunkId);
      return r?.state === 'registered' ? r : undefined;
    }, 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\nkamailio:\n${registrar.log().slice(-2000)}`);
    });
    const left = Date.parse(reg.expires_at ?? '') - Date.now();
    assert.ok(left > 60_000 && left <= 121_000, `expires_at ${reg.expires_at} is the granted 120 s from now`);
    assert.ok(reg.last_success_at, 'last_success_at set');
    assert.equal(reg.last_error, null);
    assert.match(registrar.log(), new RegExp(`REGISTER saved ${USER} contact <sip:${USER}@127\\.0\\.0\\.1:${plane.sipPort}>`), 'our SIP port is the Contact the registrar keeps');
    const held = await t.db.query<{ worker_id: string }>(sql`select worker_id from trunk_registrations where trunk_id = ${trunkId}`);
    assert.equal(held.rows[0]?.worker_id, plane.workerId, 'the lease is this worker\'s');

    // The caller knows only the carrier; the registrar finds us by the binding.
    const call = await callThroughCarrier(number, 'uac_call_via_proxy.xml');
    tc.diagnostic(`SIPp statuses through the registrar: ${call.statuses.join(' ')}`);
    assert.equal(call.code, 0, `${call.trace}\nkamailio:\n${registrar.log().slice(-2000)}`);
    const ended = await theInboundCallCompleted(number);
    assert.deepEqual([ended.direction, ended.end_reason, ended.to], ['inbound', 'agent_hangup', number]);

    // A wrong password (changed through the API): registered again at once, refused, and why is shown.
    const bad = await t.org.req('PATCH', `/v1/trunks/${trunkId}`, { password: 'not-the-password' });
    assert.equal(bad.status, 200, bad.raw);
    const failed = await waitFor('the registration to fail', async () => {
      const r = await registration(trunkId);
      return r?.state === 'failed' ? r : undefined;
    }, 15_000);
    assert.match(failed.last_error ?? '', /401.*credentials/);
    assert.equal(failed.expires_at, null);
    assert.ok(failed.last_success_at, 'the last success is still known');

    // Back to the right password, then register off: the binding is removed (Expires: 0), so the
    // registrar has nowhere to send the number's calls.
    assert.equal((await t.org.req('PATCH', `/v1/trunks/${trunkId}`, { password: PASSWORD })).status, 200);
    await waitFor('registered again', async () => ((await registration(trunkId))?.state === 'registered' ? true : undefined), 90_000);
    const off = await t.org.req('PATCH', `/v1/trunks/${trunkId}`, { register: false });
    assert.equal(off.status, 200, off.raw);
    assert.equal(off.body.registration, null);
    await waitFor('the lease to be let go', async () => {
      const r = await t.db.query<{ worker_id: string | null; state: string }>(sql`select worker_id, state from trunk_registrations where trunk_id = ${trunkId}`);
      return r.rows[0]?.worker_id === null && r.rows[0]?.state === 'unregistered' ? true : undefined;
    }, 10_000);
    const refused = await waitFor('the registrar to have no binding', async () => {
      const r = await callThroughCarrier(number, 'uac_call_refused.xml');
      return r.statuses.includes(480) ? r : undefined;
    }, 10_000).catch((err: Error) => {
      throw new Error(`${err.message}\nkamailio:\n${registrar.log().slice(-3000)}`);
    });
    assert.equal(refused.code, 0, refused.trace);
  });

  test('over tcp: the binding names our TCP listener (transport=tcp), and the registrar delivers a call to it over TCP', async () => {
    const port = await freeUdpPort();
    const USER2 = 'acme-tcp';
    const tcpRegistrar = await startKamailioConfig(registrarConfig({ port, password: PASSWORD, callsTo: USER2, tcp: true }), port);
    try {
      const trunk = await t.org.req('POST', '/v1/trunks', { name: 'tcp carrier', host: '127.0.0.1', port, transport: 'tcp', username: USER2, password: PASSWORD, register: true });
      assert.equal(trunk.status, 201, trunk.raw);
      const agent = await t.org.req('POST', '/v1/agents', { name: 'tcp desk', greeting: 'You reached us over TCP. Goodbye.' });
      const number = '+16285550179';
      assert.equal((await t.org.req('POST', '/v1/phone-numbers', { number, trunk_id: trunk.body.id, inbound_agent_id: agent.body.id })).status, 201);
      await waitFor('registered over tcp', async () => ((await registration(trunk.body.id as string))?.state === 'registered' ? true : undefined), 15_000).catch((err: Error) => {
        throw new Error(`${err.message}\nkamailio:\n${tcpRegistrar.log().slice(-2000)}`);
      });
      assert.match(tcpRegistrar.log(), new RegExp(`REGISTER saved ${USER2} contact <sip:${USER2}@127\\.0\\.0\\.1:${plane.sipPort};transport=tcp>`));
      // The caller reaches the carrier over UDP; the carrier reaches us over TCP.
      const p = await startSipp({ scenario: fixture('uac_call_via_proxy.xml'), port: await freeUdpPort(), extraArgs: ['-s', number, `127.0.0.1:${port}`] });
      try {
        assert.equal(await p.exited, 0, `${p.trace().slice(-3000)}\nkamailio:\n${tcpRegistrar.log().slice(-1500)}`);
      } finally {
        await p.stop();
      }
      const ended = await theInboundCallCompleted(number);
      assert.equal(ended.end_reason, 'agent_hangup');
      assert.equal((await t.org.req('PATCH', `/v1/trunks/${trunk.body.id}`, { register: false })).status, 200);
    } finally {
      await tcpRegistrar.stop();
    }
  });

  test('the API refuses a registration that cannot work: no username, or tls', async () => {
    const noUser = await t.org.req('POST', '/v1/trunks', { name: 'x', host: '127.0.0.1', register: true });
    assert.equal(noUser.status, 422, noUser.raw);
    assert.deepEqual([noUser.body.error.code, noUser.body.error.param], ['registration_not_possible', 'username']);
    const tls = await t.org.req('POST', '/v1/trunks', { name: 'x', host: 'carrier.example', transport: 'tls', username: 'u', register: true });
    assert.equal(tls.status, 422, tls.raw);
    assert.deepEqual([tls.body.error.code, tls.body.error.param], ['registration_not_possible', 'transport']);
    // Turned on later without a username: refused, and nothing changed.
    const plain = await t.org.req('POST', '/v1/trunks', { name: 'y', host: '127.0.0.1' });
    const on = await t.org.req('PATCH', `/v1/trunks/${plain.body.id}`, { register: true });
    assert.equal(on.status, 422, on.raw);
    assert.equal((await t.org.req('GET', `/v1/trunks/${plain.body.id}`)).body.register, false);
    const range = await t.org.req('POST', '/v1/trunks', { name: 'z', host: '127.0.0.1', username: 'u', register: true, registration_expires_s: 30 });
    assert.equal(range.status, 400, range.raw);
  });
});
