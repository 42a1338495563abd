/**
 * CallLeg edge cases: a real UserAgent on an in-memory SIP transport (virtual SIP time, the test plays the
 * callee's SIP side) and a real MediaSession on loopback whose far end is a plain UDP socket of the test.
 * The peer tests (test/peers/media-*.test.ts) prove interop; these pin down the paths peers rarely take.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { CallLeg, PortPool, UserAgent, type LegEvent } from '../../src/telephony/index.js';
import { buildRtp, parseRtp, encodeTelephoneEvent, digitToEvent } from '../../src/telephony/rtp/index.js';
import { encodeMuLaw } from '../../src/media/index.js';
import { VirtualClock, flush } from '../helpers/virtual-clock.js';
import { FakeTransport, respondTo } from './sip/fake-transport.js';
import type { SipRequest } from '../../src/telephony/sip/index.js';

/** Counts releases so "the port is returned exactly once" can be asserted, not assumed. */
class CountingPool extends PortPool {
  releases = 0;
  override release(port: number): void {
    if (this.isInUse(port)) this.releases++;
    super.release(port);
  }
}

interface Remote {
  readonly port: number;
  readonly packets: Array<{ pt: number; seq: number }>;
  send(pkt: Uint8Array): void;
  /** To a port of ours on 127.0.0.1 before we sent anything (early media). */
  sendTo(pkt: Uint8Array, port: number): void;
  close(): Promise<void>;
}

async function remoteRtp(): Promise<Remote> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const packets: Array<{ pt: number; seq: number }> = [];
  let peer: { port: number; address: string } | undefined;
  s.on('message', (m, rinfo) => {
    peer = { port: rinfo.port, address: rinfo.address };
    const p = parseRtp(m);
    if (p.ok) packets.push({ pt: p.packet.payloadType, seq: p.packet.sequenceNumber });
  });
  return {
    port: s.address().port,
    packets,
    send: (pkt) => {
      if (peer) s.send(pkt, peer.port, peer.address);
    },
    sendTo: (pkt, port) => s.send(pkt, port, '127.0.0.1'),
    close: () => new Promise((r) => s.close(() => r())),
  };
}

const answerSdp = (port: number, o: { codecs?: string; dir?: string; version?: number } = {}): string =>
  [
    'v=0',
    `o=callee 7 ${o.version ?? 1} IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP ${o.codecs ?? '0 101'}`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    `a=${o.dir ?? 'sendrecv'}`,
    '',
  ].join('\r\n');

const CONTACT = 'Contact: <sip:callee@127.0.0.1:5070>';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(o: { rtpTimeoutMs?: number; codecs?: string[] } = {}) {
  const clock = new VirtualClock();
  const transport = new FakeTransport('UDP', { host: '127.0.0.1', port: 5060 });
  const ua = new UserAgent({ transports: [transport], clock });
  const pool = new CountingPool({ min: 46000 + ((process.pid * 5) % 200) * 20, max: 46000 + ((process.pid * 5) % 200) * 20 + 10 });
  const remote = await remoteRtp();
  cleanups.push(() => remote.close(), () => ua.close());
  const events: LegEvent[] = [];
  const leg = await CallLeg.dial({
    ua,
    portPool: pool,
    localAddress: '127.0.0.1',
    rtpTimeoutMs: o.rtpTimeoutMs ?? 0,
    ...(o.codecs ? { codecs: o.codecs } : {}),
    dial: { to: '+15551234567', from: '+15550000000', trunk: { host: '127.0.0.1', port: 5070 }, ringTimeoutMs: 30_000 },
  });
  cleanups.push(async () => {
    // Make sure no leg outlives its test: answer the BYE if one is pending.
    if (!leg.answered) return;
    const done = leg.hangup();
    const bye = transport.requests('BYE').at(-1);
    if (bye) transport.deliver(respondTo(bye, 200));
    await done;
  });
  leg.on((e) => events.push(e));
  const last = (method: string): SipRequest => {
    const r = transport.requests(method).at(-1);
    assert.ok(r, `no ${method} sent`);
    return r;
  };
  const invite = last('INVITE');
  const answer = (sdp = answerSdp(remote.port)) => transport.deliver(respondTo(invite, 200, { toTag: 'cal1', headers: [CONTACT, 'Content-Type: application/sdp'], body: sdp }));
  const from = invite.headers.get('From') ?? '';
  const inDialog = (method: string, seq: number, body = '', extra: string[] = []) =>
    [`${method} sip:+15550000000@127.0.0.1:5060 SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${method}${seq}${body.length}`, `From: <sip:+15551234567@127.0.0.1>;tag=cal1`, `To: ${from}`, `Call-ID: ${leg.callId}`, `CSeq: ${seq} ${method}`, CONTACT, ...extra, ...(body ? ['Content-Type: application/sdp'] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
  const byeAnswered = async (): Promise<void> => {
    await flush();
    transport.deliver(respondTo(last('BYE'), 200));
  };
  return { clock, transport, ua, pool, remote, leg, events, invite, answer, inDialog, last, byeAnswered };
}

describe('CallLeg', () => {
  test('dial: the INVITE carries our offer (port from the pool, telephone-event); bad options return the port', async () => {
    const s = await setup({ codecs: ['L16/16000', 'PCMU'] });
    assert.equal(s.pool.used, 1);
    assert.match(s.invite.body, new RegExp(`^m=audio ${s.leg.localPort} RTP/AVP 96 0 102 101\\r$`, 'm'));
    assert.match(s.invite.body, /^a=rtpmap:102 telephone-event\/16000\r$/m);
    const pool = new CountingPool({ min: 47900, max: 47910 });
    await assert.rejects(
      CallLeg.dial({ ua: s.ua, portPool: pool, localAddress: '127.0.0.1', dial: { to: '+1555', from: '+1', trunk: { host: '127.0.0.1' }, ringTimeoutMs: 1000, customHeaders: [{ name: 'X-Bad', value: 'a\r\nVia: x' }] } }),
      TypeError,
    );
    assert.deepEqual({ used: pool.used, releases: pool.releases }, { used: 0, releases: 1 });
    await assert.rejects(CallLeg.dial({ ua: s.ua, portPool: pool, localAddress: '127.0.0.1', codecs: ['G729'], dial: { to: '1', from: '1', trunk: { host: 'h' }, ringTimeoutMs: 1 } }), /unsupported codec G729/);
    assert.equal(pool.used, 0, 'a refused codec list never took a port');
  });

  test('early media: ringing(earlyMedia) but write()/sendDtmf() refused and no RTP goes out before answer', async () => {
    const s = await setup();
    s.transport.deliver(respondTo(s.invite, 183, { toTag: 'cal1', headers: [CONTACT, 'Content-Type: application/sdp'], body: answerSdp(s.remote.port) }));
    assert.deepEqual(s.events, [{ type: 'ringing', earlyMedia: true, earlySampleRate: 8000 }]);
    assert.throws(() => s.leg.write(new Int16Array(160)), /before answer/);
    assert.throws(() => s.leg.sendDtmf('1'), /answered/);
    assert.equal(s.leg.sampleRate, undefined);
    // The network's announcement: heard by early-media watchers only, never as the callee's audio.
    const early: Int16Array[] = [];
    const heard: Int16Array[] = [];
    s.leg.onEarlyAudio((f) => early.push(f));
    s.leg.onAudio((f) => heard.push(f));
    const loud = encodeMuLaw(new Int16Array(160).fill(8000));
    for (let i = 0; i < 10; i++) s.remote.sendTo(buildRtp(0, i === 0, 100 + i, 1000 + i * 160, 0x4321, loud), s.leg.localPort);
    await sleep(250);
    assert.ok(early.some((f) => f.every((v) => Math.abs(v - 8000) < 300)), `early media heard (${early.length} frames)`);
    assert.equal(heard.length, 0, 'not as the callee');
    assert.equal(s.remote.packets.length, 0, 'nothing sent on early media');
    s.answer();
    assert.deepEqual(s.events.at(-1), { type: 'answered', codec: 'PCMU', sampleRate: 8000 });
    await sleep(100);
    assert.ok(s.remote.packets.length >= 3, 'media starts on the 2xx');
  });

  test('media both ways: callee audio -> onAudio, callee DTMF -> dtmf event, our frames -> drained', async () => {
    const s = await setup();
    let wrote = false;
    s.leg.on((e) => {
      // Media is running when 'answered' fires: writing from the listener works.
      if (e.type === 'answered') {
        s.leg.write(new Int16Array(320).fill(1000));
        wrote = true;
      }
    });
    const heard: Int16Array[] = [];
    s.leg.onAudio((f) => heard.push(f));
    s.answer();
    assert.ok(wrote);
    assert.equal(s.leg.queuedMs, 40);
    await sleep(150); // our first packet lets the remote socket learn where to send
    const loud = encodeMuLaw(new Int16Array(160).fill(8000));
    for (let i = 0; i < 10; i++) s.remote.send(buildRtp(0, i === 0, 100 + i, 1000 + i * 160, 0x1234, loud));
    const ev = digitToEvent('7');
    assert.ok(ev !== undefined);
    for (let i = 0; i < 3; i++) s.remote.send(buildRtp(101, i === 0, 110 + i, 3000, 0x1234, encodeTelephoneEvent({ event: ev, end: i === 2, volume: 10, duration: 800 })));
    await sleep(250);
    assert.ok(heard.some((f) => f.every((v) => Math.abs(v - 8000) < 300)), 'heard the callee audio');
    assert.deepEqual(s.events.filter((e) => e.type === 'dtmf'), [{ type: 'dtmf', digit: '7', durationMs: 100 }]);
    assert.equal(s.events.filter((e) => e.type === 'drained').length, 1);
    assert.equal(s.leg.playedMs, 40);
    assert.equal(s.leg.clear(), 0);
  });

  test('hangup: BYE, one ended event, media closed and the port released exactly once', async () => {
    const s = await setup();
    s.answer();
    const p1 = s.leg.hangup();
    const p2 = s.leg.hangup();
    await s.byeAnswered();
    const [e1, e2] = await Promise.all([p1, p2]);
    assert.equal(e1, e2);
    assert.deepEqual(e1, { type: 'ended', sipStatusCode: 200, reason: 'BYE (BYE answered 200)', by: 'local', outcome: 'completed' });
    assert.equal(s.transport.requests('BYE').length, 1);
    assert.equal(s.events.filter((e) => e.type === 'ended').length, 1);
    assert.deepEqual({ used: s.pool.used, releases: s.pool.releases }, { used: 0, releases: 1 });
    assert.equal(await s.leg.cancel(), e1, 'cancel after the end is the same result');
  });

  test('far-end BYE then a late hangup(): ended by remote, released once', async () => {
    const s = await setup();
    s.answer();
    s.transport.deliver(s.inDialog('BYE', 1));
    const ended = await s.leg.ended;
    assert.deepEqual({ by: ended.by, outcome: ended.outcome }, { by: 'remote', outcome: 'completed' });
    assert.equal((await s.leg.hangup()).by, 'remote');
    assert.deepEqual({ used: s.pool.used, releases: s.pool.releases }, { used: 0, releases: 1 });
  });

  test('cancel before answer and ring timeout map to canceled / no_answer', async () => {
    const s = await setup();
    s.transport.deliver(respondTo(s.invite, 180, { toTag: 'cal1' }));
    const p = s.leg.cancel();
    await flush();
    s.transport.deliver(respondTo(s.last('CANCEL'), 200));
    s.transport.deliver(respondTo(s.invite, 487, { toTag: 'cal1' }));
    const e = await p;
    assert.deepEqual({ outcome: e.outcome, by: e.by, code: e.sipStatusCode }, { outcome: 'canceled', by: 'local', code: 487 });
    assert.equal(s.pool.used, 0);

    const t = await setup();
    t.transport.deliver(respondTo(t.invite, 180, { toTag: 'cal2' }));
    t.clock.advance(30_000);
    t.transport.deliver(respondTo(t.invite, 487, { toTag: 'cal2' }));
    const e2 = await t.leg.ended;
    assert.deepEqual({ outcome: e2.outcome, by: e2.by }, { outcome: 'no_answer', by: 'timeout' });
    assert.equal(t.pool.used, 0);
  });

  test('answer without SDP (RFC 3264 needs it in the 2xx): BYE and ended failed', async () => {
    const s = await setup();
    s.transport.deliver(respondTo(s.invite, 200, { toTag: 'cal1', headers: [CONTACT] }));
    await s.byeAnswered();
    const e = await s.leg.ended;
    assert.equal(e.outcome, 'failed');
    assert.match(e.reason, /^sdp_negotiation_failed: MALFORMED: empty SDP; hung up: BYE \(BYE answered 200\)$/);
    assert.equal(s.pool.used, 0);
  });

  test('re-INVITE hold -> recvonly answer and no RTP out; unhold resumes; bad re-offer -> 488 and media kept', async () => {
    const s = await setup();
    s.answer();
    await sleep(100);
    s.transport.deliver(s.inDialog('INVITE', 2, answerSdp(s.remote.port, { dir: 'sendonly', version: 2 })));
    await flush();
    const ok = s.transport.responses(200).at(-1);
    assert.equal(ok?.core.cseq.method, 'INVITE');
    assert.match(ok?.body ?? '', /^a=recvonly\r$/m);
    assert.match(ok?.body ?? '', new RegExp(`^m=audio ${s.leg.localPort} `, 'm'));
    s.transport.deliver(s.inDialog('ACK', 2));
    await sleep(60);
    const held = s.remote.packets.length;
    await sleep(200);
    assert.equal(s.remote.packets.length, held, 'nothing sent while held');
    s.transport.deliver(s.inDialog('INVITE', 3, answerSdp(s.remote.port, { version: 3 })));
    await flush();
    assert.match(s.transport.responses(200).at(-1)?.body ?? '', /^a=sendrecv\r$/m);
    s.transport.deliver(s.inDialog('ACK', 3));
    await sleep(150);
    assert.ok(s.remote.packets.length > held + 3, 'sending again after unhold');
    s.transport.deliver(s.inDialog('INVITE', 4, answerSdp(s.remote.port, { codecs: '18', version: 4 })));
    await flush();
    await flush();
    assert.equal(s.transport.responses(488).length, 1, 'G.729-only re-offer refused');
    assert.equal(s.leg.codec, 'PCMU');
    assert.equal(s.ua.stats().activeCalls, 1, 'the call survives a refused re-offer');
  });

  test('offerless re-INVITE: our 200 is a fresh offer (same o= session), the ACK answer switches codec', async () => {
    const s = await setup();
    s.answer();
    s.transport.deliver(s.inDialog('INVITE', 2));
    await flush();
    const offer = s.transport.responses(200).at(-1)?.body ?? '';
    const o1 = /^o=\S+ (\S+) (\d+)/m.exec(s.invite.body);
    const o2 = /^o=\S+ (\S+) (\d+)/m.exec(offer);
    assert.equal(o2?.[1], o1?.[1], 'same session id (RFC 4566 §5.2)');
    assert.equal(o2?.[2], o1?.[2], 'unchanged description keeps its version (RFC 3264 §8)');
    assert.match(offer, /^m=audio \d+ RTP\/AVP 0 8 101\r$/m);
    s.transport.deliver(s.inDialog('ACK', 2, answerSdp(s.remote.port, { codecs: '8 101' })));
    await flush();
    assert.equal(s.leg.codec, 'PCMA');
    await sleep(100);
    assert.ok(s.remote.packets.some((p) => p.pt === 8), 'PCMA on the wire');
  });

  test('re-INVITE switching codec at the same rate (PCMU -> PCMA) keeps the queued prompt playing', async () => {
    const s = await setup();
    s.answer();
    s.leg.write(new Int16Array(8000).fill(3000)); // 1 s queued
    await sleep(100);
    const queued = s.leg.queuedMs;
    assert.ok(queued > 500);
    s.transport.deliver(s.inDialog('INVITE', 2, answerSdp(s.remote.port, { codecs: '8 101', version: 2 })));
    await flush();
    assert.match(s.transport.responses(200).at(-1)?.body ?? '', /^m=audio \d+ RTP\/AVP 8 101\r$/m);
    assert.equal(s.leg.codec, 'PCMA');
    assert.ok(s.leg.queuedMs >= queued - 60, `the prompt was not dropped (${s.leg.queuedMs} ms left of ${queued})`);
    assert.equal(s.events.filter((e) => e.type === 'drained').length, 0);
  });

  test('re-INVITE changing the rate (L16/16000 -> PCMU): the leg keeps its 16 kHz contract by resampling', async () => {
    const s = await setup({ codecs: ['L16/16000', 'PCMU'] });
    const l16 = answerSdp(s.remote.port, { codecs: '96 102' }).replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:96 L16/16000').replace('a=rtpmap:101 telephone-event/8000', 'a=rtpmap:102 telephone-event/16000');
    s.answer(l16);
    assert.deepEqual(s.events.at(-1), { type: 'answered', codec: 'L16', sampleRate: 16000 });
    s.leg.write(new Int16Array(16000).fill(3000)); // 1 s at 16 kHz
    await sleep(100);
    s.transport.deliver(s.inDialog('INVITE', 2, answerSdp(s.remote.port, { codecs: '0 101', version: 2 })));
    await flush();
    assert.equal(s.leg.codec, 'PCMU');
    assert.equal(s.leg.sampleRate, 16000, 'the PCM contract made at answer holds');
    // Queued 16 kHz frames cannot be sent as PCMU: they are dropped, and the consumer is told.
    assert.equal(s.events.filter((e) => e.type === 'drained').length, 1);
    const heard: Int16Array[] = [];
    s.leg.onAudio((f) => heard.push(f));
    s.leg.write(new Int16Array(3200).fill(4000)); // 200 ms at 16 kHz -> 10 PCMU packets
    await sleep(100);
    const loud = encodeMuLaw(new Int16Array(160).fill(8000));
    for (let i = 0; i < 10; i++) s.remote.send(buildRtp(0, i === 0, 500 + i, 9000 + i * 160, 0x777, loud));
    await sleep(300);
    assert.ok(heard.length > 0 && heard.every((f) => f.length === 320), 'callee audio arrives as 320-sample (16 kHz) frames');
    assert.ok(heard.some((f) => Math.abs((f[160] ?? 0) - 8000) < 400), 'and carries the callee audio');
    assert.ok(s.leg.playedMs >= 180, `our 16 kHz audio went out as PCMU (played ${s.leg.playedMs} ms)`);
  });

  test('DTMF by SIP INFO: received dtmf-relay/dtmf bodies become dtmf events; without telephone-event we send INFO', async () => {
    const s = await setup();
    s.answer(answerSdp(s.remote.port, { codecs: '0' })); // no telephone-event in the answer
    const info = (seq: number, type: string, body: string): string =>
      s.inDialog('INFO', seq, '', [`Content-Type: ${type}`]).replace('Content-Length: 0\r\n\r\n', `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    s.transport.deliver(info(2, 'application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n'));
    s.transport.deliver(info(3, 'application/dtmf', '#'));
    s.transport.deliver(info(4, 'application/dtmf-relay', 'Signal=x'));
    s.transport.deliver(info(5, 'text/plain', 'Signal=7'));
    assert.equal(s.transport.responses(200).filter((r) => r.core.cseq.method === 'INFO').length, 4, 'every INFO answered 200');
    assert.deepEqual(s.events.filter((e) => e.type === 'dtmf'), [
      { type: 'dtmf', digit: '5', durationMs: 160 },
      { type: 'dtmf', digit: '#', durationMs: 100 },
    ]);
    assert.throws(() => s.leg.sendDtmf('1x'), RangeError);
    s.leg.sendDtmf('19', 120);
    await flush();
    const infos = (): SipRequest[] => s.transport.requests('INFO');
    assert.equal(infos().length, 1, 'one digit at a time');
    assert.equal(infos()[0]?.headers.get('Content-Type'), 'application/dtmf-relay');
    assert.equal(infos()[0]?.body, 'Signal=1\r\nDuration=120\r\n');
    s.transport.deliver(respondTo(infos()[0] as SipRequest, 200));
    await flush();
    await flush();
    assert.equal(infos().length, 2);
    assert.equal(infos()[1]?.body, 'Signal=9\r\nDuration=120\r\n');
    s.transport.deliver(respondTo(infos()[1] as SipRequest, 200));
  });

  test('no RTP after answer: rtp timeout hangs up, reason rtp_timeout', async () => {
    const s = await setup({ rtpTimeoutMs: 200 });
    s.answer();
    await sleep(300);
    await s.byeAnswered();
    const e = await s.leg.ended;
    assert.deepEqual({ reason: e.reason, by: e.by, outcome: e.outcome }, { reason: 'rtp_timeout', by: 'timeout', outcome: 'completed' });
    assert.equal(s.pool.used, 0);
  });

  test('user agent shutdown ends the leg (error) and returns the port; a throwing listener harms nothing', async () => {
    const s = await setup();
    s.leg.on(() => {
      throw new Error('listener bug');
    });
    const warnings: string[] = [];
    const onWarn = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarn);
    s.answer();
    await s.ua.close();
    const e = await s.leg.ended;
    await flush();
    process.off('warning', onWarn);
    assert.deepEqual({ by: e.by, code: e.sipStatusCode }, { by: 'error', code: 503 });
    assert.equal(s.pool.used, 0);
    assert.ok(warnings.some((w) => /listener threw/.test(w)), 'the bug was reported, not swallowed');
  });
});
