/**
 * Digest auth against real peers: SIPp uas_auth.xml verifies an MD5 qop=auth digest (alice / s3cret);
 * kamailio (reference kamailio.cfg) challenges with SHA-256 and record-routes, in front of a SIPp UAS.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { UserAgent } from '../../src/telephony/sip/user-agent.js';
import { UdpTransport } from '../../src/telephony/sip/udp-transport.js';
import { freePort, havePeer, startSipp, waitExit, type SippProcess } from '../helpers/sipp.js';
import { startKamailio, type KamailioProcess } from '../helpers/kamailio.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));
const KAMAILIO_CFG = fixture('kamailio-auth-proxy.cfg');
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const skipSipp = havePeer('sipp') ? false : 'sipp (sip-tester) not installed';
const skipKamailio = skipSipp || (havePeer('kamailio') ? false : 'kamailio not installed');

let sipp: SippProcess | undefined;
let kamailio: KamailioProcess | undefined;
let ua: UserAgent | undefined;

afterEach(async () => {
  await sipp?.stop();
  await kamailio?.stop();
  await ua?.close();
  sipp = undefined;
  kamailio = undefined;
  ua = undefined;
});

describe('digest auth: SIPp MD5 qop=auth', { skip: skipSipp }, () => {
  async function dialAuth(password: string) {
    const port = await freePort();
    sipp = await startSipp({ scenario: fixture('uas_auth.xml'), port });
    ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
    return { sipp, call: ua.dial({ to: 'bob', from: 'alice', trunk: { host: '127.0.0.1', port }, sdpOffer: SDP, ringTimeoutMs: 10_000, credentials: { username: 'alice', password } }) };
  }

  test('right password: 401, INVITE with Authorization verified by SIPp, answered', async () => {
    const { sipp: peer, call } = await dialAuth('s3cret');
    await call.waitFor('answered');
    const ended = await call.hangup();
    assert.equal(ended.outcome, 'completed');
    assert.equal(await waitExit(peer), 0);
    const invites = peer.received().filter((m) => m.startsWith('INVITE'));
    assert.equal(invites.length, 2);
    assert.match(invites[1] ?? '', /^Authorization: Digest username="alice", realm="sipp\.test".*qop=auth, nc=00000001/m);
    assert.match(invites[1] ?? '', /^CSeq: 2 INVITE$/m);
  });

  test('wrong password: SIPp answers 403 -> failed 403', async () => {
    const { sipp: peer, call } = await dialAuth('wrong');
    const ended = await call.ended;
    assert.deepEqual({ code: ended.sipStatusCode, outcome: ended.outcome }, { code: 403, outcome: 'failed' });
    assert.equal(await waitExit(peer), 0);
  });
});

describe('digest auth: kamailio SHA-256 proxy, Record-Route honored', { skip: skipKamailio }, () => {
  test('SHA-256 challenge answered; ACK and BYE go through kamailio', async () => {
    const uasPort = await freePort();
    const proxyPort = await freePort();
    sipp = await startSipp({ scenario: fixture('uas_answer.xml'), port: uasPort });
    kamailio = await startKamailio({ referenceCfg: KAMAILIO_CFG, port: proxyPort, uasPort });
    // Record what our UA puts on the wire, and where it sends it.
    const transport = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
    const wire: { text: string; port: number }[] = [];
    const send = transport.send.bind(transport);
    transport.send = (data, dest) => {
      wire.push({ text: data.toString('utf8'), port: dest.port });
      return send(data, dest);
    };
    ua = new UserAgent({ transports: [transport] });
    const call = ua.dial({
      to: 'sip:bob@127.0.0.1',
      from: 'sip:alice@127.0.0.1',
      trunk: { host: '127.0.0.1', port: proxyPort },
      sdpOffer: SDP,
      ringTimeoutMs: 10_000,
      credentials: { username: 'alice', password: 's3cret' },
    });
    await call.waitFor('answered');
    const ended = await call.hangup();
    assert.deepEqual({ outcome: ended.outcome, code: ended.sipStatusCode }, { outcome: 'completed', code: 200 });
    assert.equal(await waitExit(sipp), 0, 'SIPp saw INVITE, ACK and BYE');
    assert.match(kamailio.log(), /auth OK for alice/);
    const invites = wire.filter((w) => w.text.startsWith('INVITE'));
    assert.equal(invites.length, 2);
    assert.match(invites[1]?.text ?? '', /^Authorization: Digest username="alice".*algorithm=SHA-256, qop=auth/m);
    assert.equal(wire.find((w) => w.text.startsWith('BYE'))?.port, proxyPort, 'BYE sent to kamailio (route set), not to SIPp');
    const got = sipp.received();
    const invite = got.find((m) => m.startsWith('INVITE')) ?? '';
    assert.match(invite, /^Record-Route: <sip:127\.0\.0\.1:\d+;lr[;>]/m);
    for (const method of ['ACK', 'BYE']) {
      const m = got.find((x) => x.startsWith(method)) ?? '';
      // The top Via of what SIPp received is kamailio's: the request was routed through the proxy.
      const vias = m.split(/\r?\n/).filter((l) => /^Via:/i.test(l));
      assert.equal(vias.length, 2, `${method} crossed one proxy`);
      assert.match(vias[0] ?? '', new RegExp(`127\\.0\\.0\\.1:${proxyPort}`), `${method} top Via is kamailio`);
    }
  });
});
