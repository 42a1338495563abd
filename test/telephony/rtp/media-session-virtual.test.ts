// MediaSession driven by a virtual clock (real sockets, virtual time): exact packet counts per
// 20 ms, marker/timestamp/sequence rules, RTCP cadence, rtp-timeout, comfort silence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { VirtualClock } from '../../helpers/virtual-clock.js';
import { MediaSession, mediaQualityOf, PacingClock, parseRtp, parseRtcp, buildRtp, type RtpPacket } from '../../../src/telephony/rtp/index.js';
import type { NegotiatedMedia } from '../../../src/telephony/sdp/index.js';
import { freshPool, sleep, waitFor } from './helpers.js';

async function peer(): Promise<{ sock: Socket; rtcp: Socket; rtp: RtpPacket[]; rtcpTypes: string[][]; close: () => Promise<void> }> {
  const sock = createSocket('udp4');
  const rtcp = createSocket('udp4');
  const rtp: RtpPacket[] = [];
  const rtcpTypes: string[][] = [];
  sock.on('message', (m) => {
    const r = parseRtp(m);
    if (r.ok) rtp.push(r.packet);
  });
  rtcp.on('message', (m) => {
    const r = parseRtcp(m);
    if (r.ok) rtcpTypes.push(r.packets.map((p) => p.type));
  });
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  await new Promise<void>((res) => rtcp.bind(sock.address().port + 1, '127.0.0.1', () => res()));
  return {
    sock, rtcp, rtp, rtcpTypes,
    close: async () => {
      await new Promise<void>((res) => sock.close(() => res()));
      await new Promise<void>((res) => rtcp.close(() => res()));
    },
  };
}

function negotiated(port: number, extra: Partial<NegotiatedMedia> = {}): NegotiatedMedia {
  return {
    remoteAddress: '127.0.0.1', remotePort: port, rtcpPort: port + 1, rtcpMux: false, codec: 'PCMU', clockRate: 8000, sampleRate: 8000,
    payloadType: 0, recvPayloadTypes: [0], dtmfPayloadType: 101, dtmfRecvPayloadTypes: [101], direction: 'sendrecv', ptime: 20, remoteHold: false, srtp: null, ...extra,
  };
}

/** Advances virtual time in 20 ms steps, yielding to the event loop so datagrams move. */
async function run(vt: VirtualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 20) {
    vt.advance(20);
    await sleep(1);
  }
}

test('exactly one packet per 20 ms of virtual time; seq +1, timestamp +160, marker only on the first', async () => {
  const vt = new VirtualClock({ start: 1000, nodeRounding: true });
  const clock = new PacingClock({ time: vt });
  const p = await peer();
  const s = await MediaSession.open({ localAddress: '127.0.0.1', portPool: freshPool(), clock, rtcpIntervalMs: 1e9 });
  try {
    s.start(negotiated(p.sock.address().port));
    s.write(new Int16Array(160 * 10).fill(3000)); // 10 frames of audio, then silence
    await run(vt, 1000);
    await waitFor(() => p.rtp.length >= 50, 1000);
    assert.ok(p.rtp.length >= 49 && p.rtp.length <= 50, `packets ${p.rtp.length}`);
    for (let i = 1; i < p.rtp.length; i++) {
      const a = p.rtp[i - 1] as RtpPacket;
      const b = p.rtp[i] as RtpPacket;
      assert.equal(b.sequenceNumber, (a.sequenceNumber + 1) & 0xffff);
      assert.equal(b.timestamp, (a.timestamp + 160) >>> 0);
      assert.equal(b.ssrc, a.ssrc);
      assert.equal(b.marker, false);
    }
    assert.equal(p.rtp[0]?.marker, true, 'RFC 3551 §4.1: marker on the first packet of the stream');
    const loud = p.rtp.filter((k) => k.payload[0] !== 0xff).length;
    assert.equal(loud, 10, 'the 10 written frames, then encoded silence (0xff) keeps the stream alive');
    assert.equal(s.playedMs, 200);
  } finally {
    await s.close();
    await p.close();
  }
});

test('hold stops packets but timestamps keep following time; resume sets the marker', async () => {
  const vt = new VirtualClock({ start: 1000, nodeRounding: true });
  const clock = new PacingClock({ time: vt });
  const p = await peer();
  const s = await MediaSession.open({ localAddress: '127.0.0.1', portPool: freshPool(), clock, rtcpIntervalMs: 1e9 });
  try {
    const n = negotiated(p.sock.address().port);
    s.start(n);
    await run(vt, 200);
    await waitFor(() => p.rtp.length >= 9);
    const before = p.rtp.length;
    const last = p.rtp[before - 1] as RtpPacket;
    s.write(new Int16Array(1600)); // queued audio is frozen on hold, not lost
    s.update({ ...n, direction: 'inactive' });
    await run(vt, 400);
    assert.equal(p.rtp.length, before, 'nothing sent while inactive');
    assert.equal(s.queuedMs, 200);
    s.update({ ...n, direction: 'sendrecv' });
    await run(vt, 100);
    await waitFor(() => p.rtp.length > before);
    const resumed = p.rtp[before] as RtpPacket;
    assert.equal(resumed.marker, true);
    assert.equal(resumed.sequenceNumber, (last.sequenceNumber + 1) & 0xffff, 'no sequence gap (no fake loss)');
    const gapTs = (resumed.timestamp - last.timestamp) >>> 0;
    assert.ok(gapTs >= 160 * 20 && gapTs <= 160 * 22, `timestamp advanced with the ${gapTs / 8} ms of hold`);
  } finally {
    await s.close();
    await p.close();
  }
});

test('RTCP: an SR with SDES roughly every interval (randomised 0.5-1.5×), RR-only before sending', async () => {
  const vt = new VirtualClock({ start: 1000, nodeRounding: true });
  const clock = new PacingClock({ time: vt });
  const p = await peer();
  const s = await MediaSession.open({ localAddress: '127.0.0.1', portPool: freshPool(), clock, rtcpIntervalMs: 500 });
  try {
    s.start(negotiated(p.sock.address().port));
    await run(vt, 5000);
    await sleep(20);
    assert.ok(p.rtcpTypes.length >= 5 && p.rtcpTypes.length <= 15, `reports ${p.rtcpTypes.length}`);
    assert.ok(p.rtcpTypes.every((t) => t[0] === 'sr' && t[1] === 'sdes'));
    await s.close();
    assert.ok(await waitFor(() => p.rtcpTypes.at(-1)?.length === 3, 1000));
    assert.deepEqual(p.rtcpTypes.at(-1), ['sr', 'sdes', 'bye'], 'BYE on close');
  } finally {
    await s.close();
    await p.close();
  }
});

test('rtp-timeout fires at the configured virtual time and re-arms when media resumes', async () => {
  const vt = new VirtualClock({ start: 1000, nodeRounding: true });
  const clock = new PacingClock({ time: vt });
  const p = await peer();
  const s = await MediaSession.open({ localAddress: '127.0.0.1', portPool: freshPool(), clock, rtpTimeoutMs: 1000, rtcpIntervalMs: 1e9 });
  const timeouts: number[] = [];
  s.on('rtp-timeout', (e) => timeouts.push(e.silentMs));
  try {
    s.start(negotiated(p.sock.address().port));
    await run(vt, 960);
    assert.equal(timeouts.length, 0);
    await run(vt, 100);
    assert.equal(timeouts.length, 1);
    assert.ok((timeouts[0] ?? 0) >= 1000 && (timeouts[0] ?? 0) <= 1040);
    await run(vt, 2000);
    assert.equal(timeouts.length, 1, 'once per silence');
    // the peer starts sending → timer re-arms; then it stops again → second timeout
    for (let k = 0; k < 5; k++) p.sock.send(buildRtp(0, k === 0, k, k * 160, 77, new Uint8Array(160).fill(0xff)), s.localPort, '127.0.0.1');
    await waitFor(() => s.stats().packetsReceived === 5);
    await run(vt, 1100);
    assert.equal(timeouts.length, 2);
  } finally {
    await s.close();
    await p.close();
  }
});

test('received frames come out one per tick after the 60 ms prefetch; gaps are concealed', async () => {
  const vt = new VirtualClock({ start: 1000, nodeRounding: true });
  const clock = new PacingClock({ time: vt });
  const p = await peer();
  const s = await MediaSession.open({ localAddress: '127.0.0.1', portPool: freshPool(), clock, jitterTargetMs: 60, rtcpIntervalMs: 1e9 });
  const frames: boolean[] = [];
  s.on('frame', (e) => frames.push(e.concealed));
  try {
    s.start(negotiated(p.sock.address().port));
    // 10 packets with #4 missing, delivered at once (a burst after network jitter)
    for (let k = 0; k < 10; k++) if (k !== 4) p.sock.send(buildRtp(0, k === 0, 500 + k, k * 160, 99, new Uint8Array(160).fill(0x80 + k)), s.localPort, '127.0.0.1');
    await waitFor(() => s.stats().packetsReceived === 9);
    await run(vt, 20);
    assert.equal(frames.length, 1, 'one frame per tick, not a burst');
    await run(vt, 180);
    assert.equal(frames.length, 10, 'nine received + one concealed, one per tick');
    assert.deepEqual(frames.map((c, i) => (c ? i : -1)).filter((i) => i >= 0), [4]);
    assert.equal(s.stats().concealedPackets, 1);
    assert.equal(s.stats().concealedMs, 20, 'one 20 ms packet concealed');
    const q = mediaQualityOf(s.stats());
    assert.deepEqual(
      { received: q.packetsReceived, lost: q.packetsLost, late: q.latePackets, concealed: q.concealedMs, stalled: q.sendStalledMs },
      { received: 9, lost: 1, late: 0, concealed: 20, stalled: 0 },
      'the call metrics figures: one lost on the way, concealed',
    );
    // The missing packet comes after its slot was concealed: late, not heard (and no longer lost).
    p.sock.send(buildRtp(0, false, 504, 4 * 160, 99, new Uint8Array(160).fill(0x84)), s.localPort, '127.0.0.1');
    await waitFor(() => s.stats().packetsReceived === 10);
    assert.deepEqual([mediaQualityOf(s.stats()).latePackets, mediaQualityOf(s.stats()).packetsLost], [1, 0]);
    // The stream then stops: concealment continues briefly (≤ 200 ms), then frames stop entirely.
    await run(vt, 1000);
    const after = frames.length;
    assert.ok(after > 10 && after <= 20, `frames ${after}`);
    assert.ok(frames.slice(10).every((c) => c), 'everything after the stream stopped is concealment');
    await run(vt, 500);
    assert.equal(frames.length, after, 'idle: no endless concealment');
  } finally {
    await s.close();
    await p.close();
  }
});
