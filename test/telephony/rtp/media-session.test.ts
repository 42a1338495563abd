// Loopback integration: two MediaSessions on 127.0.0.1 with real sockets and the real pacing clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getCodec } from '../../../src/media/codecs.js';
import { MediaSession, PacingClock } from '../../../src/telephony/rtp/index.js';
import { freshPool, pair, sleep, waitFor } from './helpers.js';

function patternFrames(count: number, size: number): Int16Array[] {
  // Each frame is distinct (a ramp offset by its index) so order and integrity are checkable.
  return Array.from({ length: count }, (_, k) => Int16Array.from({ length: size }, (_, i) => ((k * 997 + i * 37) % 20000) - 10000 + 1));
}

function sameFrame(a: Int16Array, b: Int16Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

for (const codecs of [['PCMU', 'telephone-event'], ['PCMA', 'telephone-event'], ['L16/16000', 'telephone-event']] as const) {
  test(`${codecs[0]}: 50 frames arrive intact and in order, one frame per 20 ms`, async () => {
    const clock = new PacingClock();
    const { a, b, na } = await pair(clock, { codecs: [...codecs] });
    try {
      const codec = getCodec(na.codec);
      assert.ok(codec);
      const size = (codec.sampleRate * 20) / 1000;
      const sent = patternFrames(50, size);
      const expected = sent.map((f) => codec.decode(codec.encode(f))); // what the codec can deliver
      const got: Int16Array[] = [];
      b.on('frame', (e) => {
        assert.equal(e.sampleRate, codec.sampleRate);
        got.push(e.frame);
      });
      for (const f of sent) a.write(f);
      assert.equal(a.queuedMs, 1000);
      assert.ok(await waitFor(() => got.length >= 58, 4000), `only ${got.length} frames`);
      const start = got.findIndex((f) => sameFrame(f, expected[0] as Int16Array));
      assert.ok(start >= 0, 'first frame found');
      for (let k = 0; k < 50; k++) assert.ok(sameFrame(got[start + k] as Int16Array, expected[k] as Int16Array), `frame ${k} differs`);
      assert.equal(a.playedMs, 1000);
      const sa = a.stats();
      const sb = b.stats();
      assert.ok(sa.packetsSent >= 50);
      assert.equal(sb.malformed, 0);
      assert.equal(sb.packetsLost, 0);
      assert.ok(sb.jitterMs < 20, `jitter ${sb.jitterMs}`);
      assert.equal(sa.connected, true, 'connect()ed after the first packet from the peer');
    } finally {
      await a.close();
      await b.close();
    }
  });
}

test('DTMF digits arrive once each, with durations; audio resumes afterwards', async () => {
  const clock = new PacingClock();
  const { a, b } = await pair(clock);
  try {
    const digits: string[] = [];
    const sent: string[] = [];
    b.on('dtmf', (e) => digits.push(`${e.digit}:${e.durationMs}`));
    a.on('dtmf-sent', (e) => sent.push(e.digit));
    assert.equal(a.sendDtmf('159#*', 100), true);
    assert.ok(await waitFor(() => digits.length >= 5, 4000));
    await sleep(150); // any duplicate end packet would have arrived by now
    assert.deepEqual(digits, ['1:100', '5:100', '9:100', '#:100', '*:100']);
    assert.deepEqual(sent, ['1', '5', '9', '#', '*']);
    assert.equal(b.stats().dtmfReceived, 5);
  } finally {
    await a.close();
    await b.close();
  }
});

test('clear() drops queued audio, reports the unplayed ms, and playedMs stops there', async () => {
  const clock = new PacingClock();
  const { a, b } = await pair(clock);
  try {
    const drained: Array<{ cleared: boolean }> = [];
    a.on('drained', (e) => drained.push({ cleared: e.cleared }));
    const loud = new Int16Array(8000 * 5).fill(12000); // 5 s
    a.write(loud);
    await sleep(300);
    const played = a.playedMs;
    const dropped = a.clear();
    assert.ok(played > 100 && played < 1000, `played ${played}`);
    assert.equal(dropped + a.playedMs, 5000, 'played + dropped = written');
    assert.equal(a.queuedMs, 0);
    assert.deepEqual(drained, [{ cleared: true }]);
    // afterwards the far end hears silence packets (NAT keep-alive), not the dropped audio
    let loudAfter = 0;
    let framesAfter = 0;
    await sleep(120); // let the jitter buffer flush what was already sent
    b.on('frame', (e) => {
      framesAfter++;
      if (e.frame.some((s) => Math.abs(s) > 1000)) loudAfter++;
    });
    await sleep(300);
    assert.ok(framesAfter >= 10, `frames after clear: ${framesAfter}`);
    assert.equal(loudAfter, 0);
    assert.ok(a.playedMs - played <= 20, 'at most the frame in flight was played after clear()');
  } finally {
    await a.close();
    await b.close();
  }
});

test('hold via update(): no packets while recvonly; unhold resumes with the marker bit', async () => {
  const clock = new PacingClock();
  const { a, b, na } = await pair(clock);
  try {
    await waitFor(() => b.stats().packetsReceived > 5);
    a.update({ ...na, direction: 'recvonly' });
    await sleep(60);
    const held = b.stats().packetsReceived;
    await sleep(200);
    assert.ok(b.stats().packetsReceived - held <= 0, 'nothing sent on hold');
    a.update({ ...na, direction: 'sendrecv' });
    assert.ok(await waitFor(() => b.stats().packetsReceived > held + 5, 1000), 'resumed');
    assert.equal(b.stats().packetsLost, 0, 'seq numbers continue across hold: no loss reported');
  } finally {
    await a.close();
    await b.close();
  }
});

test('symmetric RTP: B latches to where A really sends from when the SDP port is wrong', async () => {
  const clock = new PacingClock();
  const pool = freshPool();
  const a = await MediaSession.open({ localAddress: '127.0.0.1', portPool: pool, clock });
  const b = await MediaSession.open({ localAddress: '127.0.0.1', portPool: pool, clock });
  try {
    const offer = a.offer();
    const answered = b.answerReOffer(offer.replace(`m=audio ${a.localPort}`, `m=audio ${a.localPort + 1000}`)); // B believes a NATed port
    a.start(a.negotiateAnswer(answered.sdp));
    const latched: Array<{ port: number; sdpPort: number }> = [];
    b.on('remote-latched', (e) => latched.push({ port: e.port, sdpPort: e.sdpPort }));
    assert.ok(await waitFor(() => a.stats().packetsReceived > 10, 3000), 'A receives B once B latched');
    assert.deepEqual(latched, [{ port: a.localPort, sdpPort: a.localPort + 1000 }]);
    assert.deepEqual(b.stats().remote, { address: '127.0.0.1', port: a.localPort });
  } finally {
    await a.close();
    await b.close();
  }
});

test('rtp-timeout fires once when the peer goes silent; RTCP SR/RR flow; close() frees the port', async () => {
  const clock = new PacingClock();
  const { a, b, pool } = await pair(clock, { rtpTimeoutMs: 250, rtcpIntervalMs: 100 });
  let timeouts = 0;
  const rtcpTypes = new Set<string>();
  b.on('rtp-timeout', () => timeouts++);
  b.on('rtcp', (e) => e.packets.forEach((p) => rtcpTypes.add(p.type)));
  await waitFor(() => rtcpTypes.has('sr'), 2000);
  assert.ok(rtcpTypes.has('sr') && rtcpTypes.has('sdes'));
  const byes: string[] = [];
  b.on('remote-bye', (e) => byes.push(e.reason ?? ''));
  const aPort = a.localPort;
  await a.close('done');
  assert.equal(pool.isInUse(aPort), false);
  await a.close(); // idempotent
  assert.ok(await waitFor(() => timeouts === 1, 2000), 'timeout after silence');
  await sleep(400);
  assert.equal(timeouts, 1, 'reported once');
  assert.deepEqual(byes, ['done'], 'RTCP BYE on close');
  assert.ok(b.stats().rtcpReceived >= 1);
  await b.close();
  assert.equal(pool.used, 0);
  assert.equal(clock.stats().legs, 0);
});

test('open() skips ports another process holds (EADDRINUSE) without leaking them', async () => {
  const { createSocket } = await import('node:dgram');
  const pool = freshPool(6);
  const squatter = createSocket('udp4');
  const first = pool.min;
  await new Promise<void>((r) => squatter.bind(first, '127.0.0.1', () => r()));
  try {
    const s = await MediaSession.open({ localAddress: '127.0.0.1', portPool: pool, clock: new PacingClock() });
    assert.notEqual(s.localPort, first);
    assert.equal(s.localPort % 2, 0);
    assert.equal(pool.isInUse(first), false);
    await s.close();
  } finally {
    await new Promise<void>((r) => squatter.close(() => r()));
  }
});

test('G.722 leg end to end: 16 kHz frames of 320 samples, a 6 kHz tone arrives (wideband)', async () => {
  const clock = new PacingClock();
  const { a, b, na } = await pair(clock, { codecs: ['G722', 'PCMU', 'telephone-event'] });
  try {
    assert.equal(na.codec, 'G722');
    const frames: Int16Array[] = [];
    b.on('frame', (e) => {
      assert.equal(e.sampleRate, 16000);
      assert.equal(e.frame.length, 320);
      frames.push(e.frame);
    });
    const tone = Int16Array.from({ length: 16000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 6000 * i) / 16000)));
    a.write(tone);
    assert.ok(await waitFor(() => frames.length >= 55, 4000));
    // strongest 6 kHz frame (the tone passed through encoder and decoder states across packets)
    let best = 0;
    for (const f of frames) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < f.length; i++) {
        re += (f[i] as number) * Math.cos((2 * Math.PI * 6000 * i) / 16000);
        im += (f[i] as number) * Math.sin((2 * Math.PI * 6000 * i) / 16000);
      }
      best = Math.max(best, (2 * Math.hypot(re, im)) / f.length);
    }
    assert.ok(best > 5000, `6 kHz amplitude ${best.toFixed(0)}`);
    const digits: string[] = [];
    b.on('dtmf', (e) => digits.push(e.digit));
    a.sendDtmf('7', 60);
    assert.ok(await waitFor(() => digits.length === 1, 2000));
    assert.deepEqual(digits, ['7']);
  } finally {
    await a.close();
    await b.close();
  }
});
