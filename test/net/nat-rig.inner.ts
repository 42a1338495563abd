/**
 * Run by nat-rig.test.ts inside the rig's "out" namespace (a private LAN behind a NAT router): this
 * process is Outcall (store on PGlite, one call plane bound to 10.77.1.2); kamailio (the carrier's
 * registrar) and SIPp (the carrier's callers and callees) run in the carrier namespace beyond the NAT,
 * which cannot reach 10.77.1.2 except through bindings the NAT keeps for what we sent out.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';
import { sql } from '../../src/store/sql.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { rms } from '../fixtures/media/signals.js';
import { startKamailioConfig, type KamailioProcess } from '../helpers/kamailio.js';
import { registrarConfig } from '../helpers/kamailio-registrar.js';
import { startSipp } from '../helpers/sipp.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { waitFor } from '../helpers/wait.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run test/net/nat-rig.test.ts, which sets up the rig`);
  return v;
};
const CARRIER_NS = env('RIG_CARRIER_NS');
const OUT_IP = env('RIG_OUT_IP');
const PUBLIC_IP = env('RIG_PUBLIC_IP');
const CARRIER_IP = env('RIG_CARRIER_IP');
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));
const USER = 'nat-acct';
const PASSWORD = 'nat-secret';
const ENDED = ['completed', 'failed', 'busy', 'no_answer', 'canceled'];

let t: TestApp;
let plane: CallPlane;
let registrar: KamailioProcess;

before(async () => {
  t = await startTestApp({ allowPrivateUrls: true });
  registrar = await startKamailioConfig(registrarConfig({ host: CARRIER_IP, port: 5060, password: PASSWORD, callsTo: USER }), 5060, CARRIER_NS);
  plane = await startTestCallPlane(t.ctx, { host: OUT_IP, rtpPortMin: 49100, rtpPortMax: 49198, registrationIntervalMs: 300 });
});
after(async () => {
  await plane?.stop();
  await registrar?.stop();
  await t?.close();
});

async function callEnded(id: string) {
  return waitFor(`call ${id} to end`, async () => {
    const c = await t.org.req('GET', `/v1/calls/${id}`);
    return ENDED.includes(c.body.status) ? c.body : undefined;
  }, 30_000);
}

/** The callee channel (left) of a dual recording. */
async function calleeChannel(url: string): Promise<Int16Array> {
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.org.key}` } });
  assert.equal(res.statusCode, 200);
  const p = new WavStreamParser();
  const inter = p.push(res.rawPayload);
  assert.equal(p.format?.channels, 2);
  return Int16Array.from({ length: inter.length / 2 }, (_, i) => inter[2 * i] as number);
}

describe('behind a NAT: registration, inbound and outbound calls with a carrier beyond it', () => {
  let trunkId = '';
  const number = '+16285550188';

  test('registration: the registrar keeps the NAT\'s public address and port (the Via\'s received/rport), not our private one', async () => {
    const trunk = await t.org.req('POST', '/v1/trunks', { name: 'carrier', host: CARRIER_IP, port: 5060, username: USER, password: PASSWORD, register: true, registration_expires_s: 60 });
    assert.equal(trunk.status, 201, trunk.raw);
    trunkId = trunk.body.id as string;
    const agent = await t.org.req('POST', '/v1/agents', { name: 'nat desk', greeting: 'Hello from behind the NAT. Goodbye.' });
    assert.equal((await t.org.req('POST', '/v1/phone-numbers', { number, trunk_id: trunkId, inbound_agent_id: agent.body.id, outbound_agent_id: agent.body.id })).status, 201);
    await waitFor('registered', async () => ((await t.org.req('GET', `/v1/trunks/${trunkId}`)).body.registration?.state === 'registered' ? true : undefined), 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\nkamailio:\n${registrar.log().slice(-2000)}`);
    });
    // kamailio's log line may trail its 200 on the pipe.
    const saved = await waitFor('the registrar to log the binding', () => {
      const s = [...registrar.log().matchAll(/REGISTER saved \S+ contact <sip:[^@]+@([\d.]+):(\d+)>/g)].map((m) => `${m[1]}:${m[2]}`);
      return s.length > 0 ? s : undefined;
    }, 5000);
    assert.match(saved.at(-1) ?? '', new RegExp(`^${PUBLIC_IP.replace(/\./g, '\\.')}:\\d+$`), `the binding is the NAT's address: ${saved.join(', ')}`);
    assert.ok(!saved.at(-1)?.startsWith(OUT_IP), 'not the private address');
  });

  test('inbound: a carrier caller reaches our number through the registrar and the NAT binding; answered, completed', async () => {
    assert.ok(trunkId, 'the registration test ran first');
    const p = await startSipp({ scenario: fixture('uac_call_via_proxy.xml'), port: 5090, netns: CARRIER_NS, localIp: CARRIER_IP, extraArgs: ['-s', number, `${CARRIER_IP}:5060`] });
    const t0 = Date.now();
    try {
      assert.equal(await p.exited, 0, `${p.trace().slice(-3000)}\nkamailio:\n${registrar.log().slice(-1500)}`);
    } finally {
      await p.stop();
    }
    const r = await t.db.query<{ id: string }>(sql`select id from calls where to_address = ${number} and direction = 'inbound'`);
    assert.equal(r.rows.length, 1);
    const call = await callEnded(r.rows[0]!.id);
    assert.deepEqual([call.status, call.end_reason], ['completed', 'agent_hangup']);
    // Our 200's Contact is the NAT's address: the caller's ACK reached us (no 32 s wait for it,
    // RFC 3261 §13.3.1.4), and the agent's BYE went out after the greeting.
    assert.ok(Date.now() - t0 < 15_000, `the call took ${Date.now() - t0} ms: was the ACK lost behind the NAT?`);
  });

  test('outbound through the NAT: two-way audio with a callee that sends back what it receives (symmetric RTP), call completed', async () => {
    // SIPp on the carrier side answers and echoes every RTP packet to where it came from (the NAT's
    // address and port, not the private one in our SDP), as carriers' media servers do.
    const callee = await startSipp({ scenario: fixture('uas_media_echo.xml'), port: 5070, netns: CARRIER_NS, localIp: CARRIER_IP, keys: { pt: '0', codec: 'PCMU' }, extraArgs: ['-mp', '6100', '-rtp_echo'] });
    try {
      const trunk = await t.org.req('POST', '/v1/trunks', { name: 'carrier-out', host: CARRIER_IP, port: 5070 });
      const agent = await t.org.req('POST', '/v1/agents', { name: 'nat caller', greeting: 'This is a long enough greeting to be heard coming back through the network address translator. Goodbye.' });
      await t.org.req('POST', '/v1/phone-numbers', { number: '+16285550189', trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
      const r = await t.org.req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: '+14155550177', record: { enabled: true, channels: 'dual' } });
      assert.equal(r.status, 202, r.raw);
      const call = await callEnded(r.body.id as string);
      assert.deepEqual([call.status, call.end_reason], ['completed', 'agent_hangup'], `${JSON.stringify(call)}\n${callee.trace().slice(-2000)}`);
      const heard = await calleeChannel(call.recording.url as string);
      assert.ok(rms(heard) > 300, `the callee's side carries the echo of our greeting through the NAT (rms ${rms(heard).toFixed(0)})`);
    } finally {
      await callee.stop();
    }
  });
});
