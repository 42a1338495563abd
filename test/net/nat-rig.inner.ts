/**
 * Run by nat-rig.test.ts inside the rig's "out" namespace (a private LAN behind a NAT router): this
 * process is Outcall (store on PGlite, one call plane bound to 10.77.1.2); kamailio (the carrier's
 * registrar) and SIPp (the carrier's callers and callees) run in the carrier namespace beyond the NAT,
 * which cannot reach 10.77.1.2 except through bindings the NAT keeps for what we sent out. A bad media
 * path is a carrier SBC (kamailio) anchoring media at a relay that loses, delays and reorders packets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';
import { sql } from '../../src/store/sql.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { rms } from '../fixtures/media/signals.js';
import { startBaresip } from '../fixtures/media/baresip.js';
import { CALLEE_RATE, calleeSpeech } from '../fixtures/voice/callee.js';
import { bookingFlow } from '../fixtures/voice/flows.js';
import { readWav } from '../fixtures/media/signals.js';
import { spawnImpairingRelay } from '../helpers/impairing-relay.js';
import { mediaGatewayConfig } from '../helpers/kamailio-media-gateway.js';
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

  test('a bad media path (3 % loss, 40-100 ms delay, reordering, each way, through the NAT and a carrier relay): plain and SRTP calls complete, the agent hears the callee and the callee the agent', async (tc) => {
    const flow = bookingFlow();
    const prompt = calleeSpeech('yes please', 5, 9);
    assert.ok(prompt, 'flite + sox made the callee speech');
    // baresip (best-effort SRTP: it takes keys when offered) answers behind the carrier's SBC.
    const callee = await startBaresip({ prompt, codecs: 'L16/16000/1', srate: CALLEE_RATE, modules: ['l16.so'], user: '+14155550190', mediaenc: 'srtp', netns: CARRIER_NS, host: CARRIER_IP, sipPort: 5092, runSeconds: 120 });
    const relay = await spawnImpairingRelay(CARRIER_NS, { host: CARRIER_IP, callerPort: 6200, calleePort: 6202, loss: 0.03, delayMs: 40, jitterMs: 60, seed: 7 });
    const sbc = await startKamailioConfig(
      mediaGatewayConfig({ host: CARRIER_IP, port: 5080, callee: { host: CARRIER_IP, port: 5092 }, relay: { host: CARRIER_IP, callerPort: 6200, calleePort: 6202 } }),
      5080,
      CARRIER_NS,
    );
    let stats;
    try {
      for (const media_encryption of ['disabled', 'optional'] as const) {
        const trunk = await t.org.req('POST', '/v1/trunks', { name: `bad-path-${media_encryption}`, host: CARRIER_IP, port: 5080, media_encryption, codecs: ['L16/16000', 'PCMU'] });
        assert.equal(trunk.status, 201, trunk.raw);
        const agent = await t.org.req('POST', '/v1/agents', { name: `bad path ${media_encryption}`, flow });
        const from = media_encryption === 'disabled' ? '+16285550191' : '+16285550192';
        await t.org.req('POST', '/v1/phone-numbers', { number: from, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
        const heardFiles = () => callee.recordings().filter((f) => f.endsWith('-dec.wav'));
        const before = new Set(heardFiles());
        const r = await t.org.req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: '+14155550190', max_duration_s: 40 });
        assert.equal(r.status, 202, r.raw);
        const call = await callEnded(r.body.id as string);
        const turns = ((await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`)).body.turns ?? []) as Array<{ speaker: string; text: string }>;
        const said = JSON.stringify(turns.map((x) => [x.speaker, x.text]));
        tc.diagnostic(`${media_encryption}: ${call.status}/${call.end_reason}: ${said}`);
        assert.deepEqual([call.status, call.end_reason], ['completed', 'agent_hangup'], `${media_encryption}: ${JSON.stringify(call.error)}\n${callee.log().slice(-2000)}\n${sbc.log().slice(-1500)}`);
        assert.ok(turns.some((x) => x.speaker === 'callee' && /yes/.test(x.text)), `${media_encryption}: the agent heard the callee: ${said}`);
        assert.equal(turns.at(-1)?.text, 'Great, see you then.', `${media_encryption}: ${said}`);
        const dec = await waitFor('baresip to write what it heard', () => heardFiles().find((f) => !before.has(f)), 10_000);
        await waitFor('baresip to close the call', () => ((callee.log().match(/terminated/g) ?? []).length >= (media_encryption === 'disabled' ? 1 : 2) ? true : undefined), 10_000);
        assert.ok(rms(readWav(dec).samples) > 300, `${media_encryption}: the callee heard the agent through the bad path`);
      }
      assert.equal((callee.log().match(/SRTP is Enabled/g) ?? []).length > 0, true, `the second call ran SRTP:\n${callee.log().slice(-2000)}`);
    } finally {
      stats = await relay.stop();
      await sbc.stop();
      await callee.stop();
    }
    tc.diagnostic(`relay: ${JSON.stringify(stats)}`);
    // The impairment really happened, both ways: about 3 % lost, and packets overtaken.
    for (const dir of ['toCallee', 'toCaller'] as const) {
      const d = stats[dir];
      assert.ok(d.received > 500, `${dir}: ${d.received} packets crossed the relay`);
      assert.ok(d.lost / d.received > 0.015 && d.lost / d.received < 0.05, `${dir}: lost ${d.lost} of ${d.received}`);
      assert.ok(d.reordered > 20, `${dir}: ${d.reordered} packets were overtaken`);
    }
  });
});
