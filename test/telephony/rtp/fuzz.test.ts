// Fuzz: tens of thousands of random and mutated RTP/RTCP packets at the parsers and at a live
// MediaSession's sockets. Nothing may throw, no unhandled rejection, drops are counted, and the
// session still carries audio afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { buildRtp, parseRtp } from '../../../src/telephony/rtp/packet.js';
import { buildRtcpCompound, parseRtcp } from '../../../src/telephony/rtp/rtcp.js';
import { decodeTelephoneEvent, encodeTelephoneEvent } from '../../../src/telephony/rtp/dtmf.js';
import { MediaSession, PacingClock } from '../../../src/telephony/rtp/index.js';
import type { NegotiatedMedia } from '../../../src/telephony/sdp/index.js';
import { freshPool, sleep, waitFor } from './helpers.js';

/** Deterministic PRNG (xorshift32) so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function mutate(base: Uint8Array, r: () => number): Uint8Array {
  const kind = Math.floor(r() * 5);
  const b = Uint8Array.from(base);
  if (kind === 0) return b.subarray(0, Math.floor(r() * b.length)); // truncate
  if (kind === 1) {
    for (let i = 0; i < 1 + r() * 4; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256); // flip bytes
    return b;
  }
  if (kind === 2) {
    b[0] = Math.floor(r() * 256); // header byte: version/padding/extension/CC
    return b;
  }
  if (kind === 3) return Uint8Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256)); // garbage
  b[1] = Math.floor(r() * 256); // payload type / marker
  return b;
}

const VALID_AUDIO = buildRtp(0, false, 100, 16000, 0x1234, new Uint8Array(160).fill(0xff));
const VALID_DTMF = buildRtp(101, true, 101, 16160, 0x1234, encodeTelephoneEvent({ event: 5, end: false, volume: 10, duration: 160 }));
const VALID_RTCP = buildRtcpCompound({ ssrc: 0x1234, cname: 'fuzz', sender: { ntpSec: 1, ntpFrac: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 }, reports: [{ ssrc: 9, fractionLost: 1, cumulativeLost: 2, extendedHighestSeq: 3, jitter: 4, lastSr: 5, delaySinceLastSr: 6 }], bye: { reason: 'x' } });

test('parsers: 60,000 mutated/random packets never throw', () => {
  const r = rng(0xc0ffee);
  let rtpOk = 0;
  let rtcpOk = 0;
  for (let i = 0; i < 20000; i++) {
    const base = i % 3 === 0 ? VALID_AUDIO : i % 3 === 1 ? VALID_DTMF : VALID_RTCP;
    const p = mutate(base, r);
    const a = parseRtp(p);
    if (a.ok) {
      rtpOk++;
      assert.ok(a.packet.payload.length <= p.length);
      decodeTelephoneEvent(a.packet.payload);
    }
    if (parseRtcp(p).ok) rtcpOk++;
    parseRtcp(mutate(VALID_RTCP, r));
    parseRtp(mutate(VALID_AUDIO, r));
  }
  assert.ok(rtpOk > 1000 && rtcpOk > 100, `some mutations stay valid (rtp ${rtpOk}, rtcp ${rtcpOk}) so the deep paths run too`);
});

test('live MediaSession: 30,000 hostile datagrams on RTP and RTCP ports, no crash, counted, still works', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => {
    unhandled.push(e);
  };
  process.on('unhandledRejection', onUnhandled);
  const clock = new PacingClock();
  const session = await MediaSession.open({ localAddress: '127.0.0.1', portPool: freshPool(), clock, rtpTimeoutMs: 0 });
  const attacker: Socket = createSocket('udp4');
  await new Promise<void>((res) => attacker.bind(0, '127.0.0.1', () => res()));
  const attackerPort = attacker.address().port;
  attacker.on('message', () => undefined); // the session sends silence back to us: ignore it
  try {
    const n: NegotiatedMedia = {
      remoteAddress: '127.0.0.1', remotePort: attackerPort, rtcpPort: attackerPort, rtcpMux: false, codec: 'PCMU', clockRate: 8000,
      sampleRate: 8000, payloadType: 0, recvPayloadTypes: [0], dtmfPayloadType: 101, dtmfRecvPayloadTypes: [101], direction: 'sendrecv',
      ptime: 20, remoteHold: false, srtp: null,
    };
    let frames = 0;
    let dtmf = 0;
    session.on('frame', () => frames++);
    session.on('dtmf', () => dtmf++);
    session.start(n);
    const r = rng(42);
    const total = 30000;
    for (let i = 0; i < total; i++) {
      const base = i % 4 === 0 ? VALID_DTMF : i % 4 === 3 ? VALID_RTCP : VALID_AUDIO;
      const pkt = mutate(base, r);
      attacker.send(pkt, i % 5 === 0 ? session.localPort + 1 : session.localPort, '127.0.0.1');
      if (i % 100 === 99) await sleep(1); // let the receiver drain so most datagrams are processed
    }
    await sleep(200);
    const s = session.stats();
    // UDP on loopback may drop under this burst, so reason about what reached the socket: every
    // datagram is accounted for exactly once, and a large share of them is counted as dropped.
    const dropped = s.malformed + s.unexpectedPayloadType + s.outOfSequence + s.comfortNoise + s.foreignSource + s.droppedNotStarted;
    assert.ok(s.rtpDatagrams > total * 0.3, `datagrams seen ${s.rtpDatagrams}`);
    assert.equal(dropped + s.packetsReceived, s.rtpDatagrams, 'every RTP datagram accounted for once');
    assert.ok(s.malformed > s.rtpDatagrams * 0.1, `malformed counted: ${s.malformed}/${s.rtpDatagrams}`);
    assert.ok(s.unexpectedPayloadType > s.rtpDatagrams * 0.02, `wrong PT counted: ${s.unexpectedPayloadType}`);
    assert.ok(s.rtcpDatagrams > 0 && s.rtcpMalformed > s.rtcpDatagrams * 0.3, `malformed RTCP counted: ${s.rtcpMalformed}/${s.rtcpDatagrams}`);
    assert.ok(s.late + s.duplicates >= 0 && s.packetsReceived < s.rtpDatagrams / 2, 'most hostile packets never reach the jitter buffer');
    assert.equal(s.listenerErrors, 0);
    assert.equal(unhandled.length, 0);

    // After the storm, a clean stream from a new SSRC still becomes audio frames.
    const before = frames;
    const tone = new Uint8Array(160).map((_, i) => (i % 2 ? 0x10 : 0x90));
    for (let k = 0; k < 25; k++) {
      attacker.send(buildRtp(0, k === 0, (5000 + k) & 0xffff, 900000 + k * 160, 0xabcdef, tone), session.localPort, '127.0.0.1');
      await sleep(20);
    }
    assert.ok(await waitFor(() => frames - before >= 15, 2000), `frames after storm: ${frames - before}`);
    assert.equal(session.stats().remoteSsrc, 0xabcdef);
    void dtmf;
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await session.close();
    await new Promise<void>((res) => attacker.close(() => res()));
  }
});
