/**
 * Trunks with transport tls, through the API on live calls: kamailio (TLS module) is the trunk's TLS
 * server, presenting a certificate for "localhost" signed by a CA the test makes; SIPp answers behind
 * it and echoes our RTP. Proves: the call completes over TLS with audio both ways, the server name
 * sent (SNI) is the trunk's host, the callee's BYE comes back on the connection we opened, a sips:
 * destination keeps TLS and a sips: Contact, and a certificate the trunk does not trust (other CA, no
 * CA, or a name that is not the trunk host) fails the call dial_error with a reason naming the certificate.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { bestCorrelation, rms } from '../fixtures/media/signals.js';
import type { KamailioProcess } from '../helpers/kamailio.js';
import { kamailioTlsModules, startKamailioTls } from '../helpers/kamailio-tls.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freePort, freeUdpPort, startSipp, waitExit, type SippProcess } from '../helpers/sipp.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { TestPki, type TestCa, type TestServerCert } from '../helpers/test-pki.js';
import { waitFor } from '../helpers/wait.js';

const fixture = (dir: string, name: string) => fileURLToPath(new URL(`../fixtures/${dir}/${name}`, import.meta.url));
const missing = ['sipp', 'espeak-ng', 'openssl'].filter((b) => !toolAvailable(b));
const modules = kamailioTlsModules();
const skip = missing.length > 0 ? `${missing.join(', ')} not installed` : modules === undefined ? 'kamailio or its TLS module (kamailio-tls-modules) not installed' : false;

const RATE = 8000;
const LONG_GREETING = 'This is Outcall calling over an encrypted trunk, and this sentence keeps going for a while. '.repeat(6);

let t: TestApp;
let plane: CallPlane;
let pki: TestPki;
let trunkCa: TestCa;
let otherCa: TestCa;
let serverCert: TestServerCert;
let sipp: SippProcess | undefined;
let kamailio: KamailioProcess | undefined;

before(async () => {
  if (skip) return;
  pki = new TestPki();
  trunkCa = pki.ca('trunk');
  otherCa = pki.ca('other');
  serverCert = pki.server(trunkCa, 'localhost');
  t = await startTestApp({ allowPrivateUrls: true });
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 42000, rtpPortMax: 42398 });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await t.close();
  pki.remove();
});
afterEach(async () => {
  await sipp?.stop();
  await kamailio?.stop();
  sipp = undefined;
  kamailio = undefined;
});

/** SIPp (UDP, echoing RTP) behind kamailio's TLS port; returns the TLS port. */
async function startPeers(scenario: string): Promise<number> {
  const uasPort = await freePort();
  const mediaPort = await freeUdpPort();
  sipp = await startSipp({ scenario, port: uasPort, extraArgs: ['-mp', String(mediaPort), '-rtp_echo'] });
  const tlsPort = await freePort();
  kamailio = await startKamailioTls(
    { modules: modules as string, tlsPort, udpPort: await freePort(), uasPort, certPath: serverCert.certPath, keyPath: serverCert.keyPath },
    fixture('tls', 'kamailio-tls-front.cfg'),
  );
  return tlsPort;
}

/** A tls trunk (trunkExtra overrides), a greeting-only agent and its number on that trunk. */
async function setup(trunk: Record<string, unknown>): Promise<string> {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const tr = await t.org.req('POST', '/v1/trunks', { name: `tls-${n}`, transport: 'tls', ...trunk });
  assert.equal(tr.status, 201, tr.raw);
  const agent = await t.org.req('POST', '/v1/agents', { name: `tls-agent-${n}`, greeting: LONG_GREETING, max_cps: 50 });
  assert.equal(agent.status, 201, agent.raw);
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1415${n}`, trunk_id: tr.body.id, outbound_agent_id: agent.body.id });
  assert.equal(pn.status, 201, pn.raw);
  return agent.body.id as string;
}

async function place(agentId: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550142', ...body });
  assert.equal(r.status, 202, r.raw);
  return r.body.id as string;
}

async function ended(callId: string) {
  return waitFor(
    `call ${callId} to end`,
    async () => {
      const got = await t.org.req('GET', `/v1/calls/${callId}`);
      return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got.body : undefined;
    },
    45_000,
  );
}

async function events(callId: string): Promise<Array<{ to_status: string; data: Record<string, unknown> }>> {
  return (await t.org.req('GET', `/v1/calls/${callId}/events`)).body.data;
}

async function recording(url: string): Promise<{ callee: Int16Array; agent: Int16Array }> {
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.org.key}` } });
  assert.equal(res.statusCode, 200);
  const p = new WavStreamParser();
  const inter = p.push(res.rawPayload);
  assert.equal(p.format?.channels, 2);
  assert.equal(p.format?.sampleRate, RATE);
  const n = inter.length / 2;
  return { callee: Int16Array.from({ length: n }, (_, i) => inter[2 * i] as number), agent: Int16Array.from({ length: n }, (_, i) => inter[2 * i + 1] as number) };
}

const headerOf = (msg: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(msg)?.[1]?.trim();

describe('TLS trunks on live calls (kamailio TLS front, SIPp callee)', { skip }, () => {
  test('a call over TLS completes with audio both ways; SNI is the trunk host; the callee BYE returns on our connection', async (tc) => {
    const tlsPort = await startPeers(fixture('tls', 'uas_echo_then_bye.xml'));
    const agentId = await setup({ host: 'localhost', port: tlsPort, tls_ca_pem: trunkCa.pem });
    const callId = await place(agentId, { record: { enabled: true, channels: 'dual' } });
    const call = await ended(callId);
    assert.equal(call.status, 'completed', `kamailio:\n${kamailio?.log().slice(-1500)}`);
    // SIPp hangs up 3 s after its 200; its BYE crosses kamailio and reaches us over our TLS connection.
    assert.equal(call.end_reason, 'callee_hangup');
    assert.equal(await waitExit(sipp as SippProcess), 0, 'SIPp saw the whole dialog');

    const invite = (sipp as SippProcess).received().find((m) => m.startsWith('INVITE ')) ?? '';
    assert.equal(headerOf(invite, 'X-Tls-Sni'), 'localhost', 'kamailio saw SNI = the trunk host');
    const vias = invite.split('\n').filter((l) => /^Via:/i.test(l));
    assert.equal(vias.length, 2, 'kamailio relayed it');
    assert.match(vias[1] ?? '', /SIP\/2\.0\/TLS .*;alias/i, 'our Via says TLS and asks for connection reuse (RFC 5923)');
    assert.match(headerOf(invite, 'Contact') ?? '', /^<sip:[^>]*;transport=tls>/);
    const answered = (await events(callId)).find((e) => e.to_status === 'in_progress');
    assert.equal(answered?.data.codec, 'PCMU');

    // Two-way RTP: the agent channel is what we sent; the callee channel is SIPp echoing it back.
    const rec = await recording(call.recording.url);
    const probe = rec.agent.subarray(RATE / 2, RATE + RATE / 2);
    assert.ok(rms(probe) > 300, `the greeting went out (rms ${rms(probe).toFixed(0)})`);
    const echo = bestCorrelation(probe, rec.callee.subarray(0, RATE * 2 + RATE / 2), 4);
    tc.diagnostic(`echo: corr ${echo.corr.toFixed(3)} at lag ${echo.lag - RATE / 2} samples; callee rms ${rms(rec.callee).toFixed(0)}`);
    assert.ok(echo.corr > 0.8, `the callee channel carries our greeting echoed back (corr ${echo.corr.toFixed(2)})`);
  });

  test('a sips: destination goes over TLS with a sips: Request-URI and Contact (RFC 3261 §26.2.2, §8.1.1.8)', async () => {
    const tlsPort = await startPeers(fixture('tls', 'uas_echo_then_bye.xml'));
    const agentId = await setup({ host: 'localhost', port: tlsPort, tls_ca_pem: trunkCa.pem });
    const call = await ended(await place(agentId, { to: 'sips:bob@localhost' }));
    assert.equal(call.status, 'completed', `kamailio:\n${kamailio?.log().slice(-1500)}`);
    const invite = (sipp as SippProcess).received().find((m) => m.startsWith('INVITE ')) ?? '';
    assert.match(invite, /^INVITE sips:bob@localhost SIP\/2\.0/);
    assert.match(headerOf(invite, 'Contact') ?? '', /^<sips:/);
    assert.equal(headerOf(invite, 'X-Tls-Sni'), 'localhost');

    // The same sips: destination over a udp trunk is refused before anything is dialed.
    const udpAgent = await setup({ host: 'localhost', port: tlsPort, transport: 'udp' });
    const r = await t.org.req('POST', `/v1/agents/${udpAgent}/outbound-calls`, { to: 'sips:bob@localhost' });
    assert.equal(r.status, 422, r.raw);
    assert.deepEqual([r.body.error.code, r.body.error.param], ['sips_requires_tls', 'to']);
  });

  test('a certificate the trunk does not trust fails the call dial_error, and the reason says it was the certificate', async () => {
    const tlsPort = await startPeers(fixture('tls', 'uas_echo_then_bye.xml'));
    const cases: Array<{ trunk: Record<string, unknown>; reason: RegExp }> = [
      // Signed by the test CA, but the trunk trusts another CA (and no system CA signed it).
      { trunk: { host: 'localhost', port: tlsPort, tls_ca_pem: otherCa.pem }, reason: /TLS certificate verification failed for localhost:\d+: .*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/ },
      // No CA of its own: the system CAs alone do not know the test CA.
      { trunk: { host: 'localhost', port: tlsPort }, reason: /TLS certificate verification failed for localhost:\d+/ },
      // The right CA, but the certificate names "localhost", not the address the trunk dials.
      { trunk: { host: '127.0.0.1', port: tlsPort, tls_ca_pem: trunkCa.pem }, reason: /TLS certificate verification failed for 127\.0\.0\.1:\d+: .*ERR_TLS_CERT_ALTNAME_INVALID/ },
    ];
    for (const c of cases) {
      const call = await ended(await place(await setup(c.trunk)));
      assert.deepEqual([call.status, call.end_reason], ['failed', 'dial_error'], JSON.stringify(c.trunk));
      const last = (await events(call.id)).at(-1);
      assert.match(String(last?.data.reason), c.reason);
    }
    assert.equal((sipp as SippProcess).received().filter((m) => m.startsWith('INVITE ')).length, 0, 'no INVITE got past the handshake');
  });
});
