/**
 * A CallLeg through a real proxy: kamailio challenges with SHA-256 digest (RFC 7616/8760) and
 * record-routes, SIPp behind it answers and echoes RTP. Proves the leg's credentials reach the SIP layer,
 * the authenticated re-INVITE carries the same SDP offer (same port, so the answer still matches our
 * MediaSession), media flows end to end straight to SIPp (kamailio only sees signalling), and the BYE
 * follows the route set through kamailio.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { CallLeg, PortPool, UserAgent } from '../../src/telephony/index.js';
import { startKamailio, type KamailioProcess } from '../helpers/kamailio.js';
import { freePort, freeUdpPort, havePeer, startSipp, waitExit, type SippProcess } from '../helpers/sipp.js';
import { chirp, concat, findSignal, frames } from '../fixtures/media/signals.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));
const missing = ['sipp', 'kamailio'].filter((b) => !havePeer(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed: skipping CallLeg through kamailio` : false;

let sipp: SippProcess | undefined;
let kamailio: KamailioProcess | undefined;
let ua: UserAgent | undefined;
after(async () => {
  await ua?.close();
  await kamailio?.stop();
  await sipp?.stop();
});

test('CallLeg with SHA-256 credentials through kamailio: authenticated INVITE keeps our offer, echo flows, BYE via the route set', { skip }, async () => {
  const uasPort = await freePort();
  const proxyPort = await freePort();
  const mediaPort = await freeUdpPort();
  sipp = await startSipp({ scenario: fixture('uas_media_echo.xml'), port: uasPort, keys: { pt: '0', codec: 'PCMU' }, extraArgs: ['-mp', String(mediaPort), '-rtp_echo'] });
  kamailio = await startKamailio({ referenceCfg: fixture('kamailio-auth-proxy.cfg'), port: proxyPort, uasPort });
  ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  const min = 43000 + ((process.pid * 13) % 200) * 20;
  const portPool = new PortPool({ min, max: min + 10 });
  const leg = await CallLeg.dial({
    ua,
    portPool,
    localAddress: '127.0.0.1',
    dial: { to: 'sip:bob@127.0.0.1', from: 'sip:alice@127.0.0.1', trunk: { host: '127.0.0.1', port: proxyPort }, ringTimeoutMs: 10_000, credentials: { username: 'alice', password: 's3cret' } },
  });
  const heard: Int16Array[] = [];
  leg.onAudio((f) => heard.push(f));
  await new Promise<void>((resolve, reject) => leg.on((e) => (e.type === 'answered' ? resolve() : e.type === 'ended' ? reject(new Error(`${e.sipStatusCode} ${e.reason}\n${kamailio?.log().slice(-1500) ?? ''}`)) : undefined)));
  const sent = chirp(8000, 1500);
  for (const f of frames(sent, 8000)) leg.write(f);
  await new Promise<void>((resolve) => leg.on((e) => e.type === 'drained' && resolve()));
  await new Promise((r) => setTimeout(r, 400));
  const ended = await leg.hangup();
  assert.deepEqual({ outcome: ended.outcome, by: ended.by, code: ended.sipStatusCode }, { outcome: 'completed', by: 'local', code: 200 });
  assert.equal(await waitExit(sipp), 0, 'SIPp saw INVITE, ACK and BYE (through kamailio)');
  // kamailio consumes the credentials before relaying; its log is the proof it verified them.
  assert.match(kamailio.log(), /auth OK for alice/);
  const got = sipp.received();
  const invite = got.find((m) => m.startsWith('INVITE')) ?? '';
  assert.match(invite, new RegExp(`^m=audio ${leg.localPort} RTP/AVP 0 8 101$`, 'm'), 'the authenticated INVITE carries our offer');
  const bye = got.find((m) => m.startsWith('BYE')) ?? '';
  assert.equal(bye.split('\n').filter((l) => /^Via:/i.test(l)).length, 2, 'the BYE crossed kamailio (route set)');
  const { corr } = findSignal(sent, concat(heard), 8000, [300, 700, 1100]);
  assert.ok(corr > 0.99, `SIPp echoed our audio (corr ${corr.toFixed(4)})`);
  assert.equal(portPool.used, 0);
});
