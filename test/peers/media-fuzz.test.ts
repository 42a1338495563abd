/**
 * Live fuzz of a whole CallLeg: a real UserAgent with an answered leg (SIPp is the callee's SIP side)
 * takes 20,000 mutated SIP messages on its SIP port and 20,000 mutated RTP/RTCP packets on its RTP and
 * RTCP ports, while the leg keeps sending audio.
 * - The SIP mutations start from requests INSIDE the live dialog (matching Call-ID and tags: re-INVITE
 *   with SDP, INFO, NOTIFY, OPTIONS, ACK, UPDATE) and responses to our INVITE, so they reach the dialog,
 *   re-INVITE/SDP and stray-2xx code, not just the parser's front door.
 * - RTP must come from the address the leg sends to, else a connected socket never sees it (the kernel
 *   filters): SIPp runs WITHOUT -rtp_echo and the fuzzer's first packet is valid, so the leg latches to
 *   the fuzzer (RFC 4961 symmetric RTP), then the mutations follow.
 * Asserts: no crash, no uncaught exception or unhandled rejection, no internal error counted, the
 * mutations were really parsed and dropped (counters), the leg still sends audio, and after hangup
 * nothing leaks (activeCalls 0, port pool empty).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { CallLeg, PortPool, UserAgent } from '../../src/telephony/index.js';
import { buildRtp, buildRtcpCompound, encodeTelephoneEvent } from '../../src/telephony/rtp/index.js';
import { freePort, freeUdpPort, havePeer, startSipp, type SippProcess } from '../helpers/sipp.js';

const skip = havePeer('sipp') ? false : 'sipp (sip-tester) not installed: skipping the CallLeg live fuzz';
const SEED = 0x5eed1e6;
const N = 20_000;

/** Deterministic PRNG (xorshift32): a failure reproduces from SEED. */
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

const GARBAGE = ['', '\x00', '-1', '99999999999999999999', 'a'.repeat(3000), '<sip:@>', ';;;', '"', '\r\n', 'tag=', '%00', 'SIP/2.0', '0.0.0.0'];

/** Structure-aware SIP mutation: most outputs still look like SIP so they get past the start line. */
function mutateSip(msg: string, r: () => number): Buffer {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T;
  const lines = msg.split('\r\n');
  const kind = Math.floor(r() * 8);
  if (kind === 0) {
    const b = Buffer.from(msg);
    for (let i = 0; i < 1 + r() * 6; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    return b;
  }
  if (kind === 1) return Buffer.from(msg.slice(0, Math.floor(r() * msg.length)));
  const i = 1 + Math.floor(r() * (lines.length - 1));
  if (kind === 2) lines.splice(i, 1);
  else if (kind === 3) lines.splice(i, 0, lines[i] ?? '');
  else if (kind === 4) lines[i] = (lines[i] ?? '').replace(/:.*/, `: ${pick(GARBAGE)}`);
  else if (kind === 5) lines[i] = (lines[i] ?? '').replace(/\d+/, String(Math.floor(r() * 2 ** 32) - 2 ** 31));
  else if (kind === 6) lines.splice(i, 0, `${pick(['Via', 'Content-Length', 'CSeq', 'Contact', 'To', 'Route', 'Record-Route'])}: ${pick(GARBAGE)}`);
  else {
    // Damage the SDP body, keeping the headers (Content-Length then lies or not, both are interesting).
    const body = lines.indexOf('');
    if (body > 0 && body + 1 < lines.length) lines[body + 1 + Math.floor(r() * (lines.length - body - 1))] = pick(['m=audio 0 RTP/AVP 0', 'c=IN IP4 999.1.1.1', 'm=audio 70000 RTP/SAVP 0', 'a=rtpmap:0 PCMU/0', 'a=inactive', 'm=audio 5 RTP/AVP', 'o=', pick(GARBAGE)]);
  }
  return Buffer.from(lines.join('\r\n'));
}

function mutateRtp(base: Uint8Array, r: () => number): Uint8Array {
  const b = Uint8Array.from(base);
  switch (Math.floor(r() * 6)) {
    case 0:
      return b.subarray(0, Math.floor(r() * b.length));
    case 1:
      for (let i = 0; i < 1 + r() * 4; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      return b;
    case 2:
      b[0] = Math.floor(r() * 256); // version / padding / extension / CSRC count
      return b;
    case 3:
      b[1] = Math.floor(r() * 256); // marker / payload type
      return b;
    case 4:
      b[b.length - 1] = 255; // padding count beyond the packet when P is set
      b[0] = (b[0] ?? 0) | 0x20;
      return b;
    default:
      return Uint8Array.from({ length: Math.floor(r() * 400) }, () => Math.floor(r() * 256));
  }
}

let sipp: SippProcess | undefined;
let ua: UserAgent | undefined;
const sockets: dgram.Socket[] = [];
const problems: string[] = [];
const onUncaught = (err: Error): void => void problems.push(`uncaught: ${err.stack ?? String(err)}`);
const onUnhandled = (reason: unknown): void => void problems.push(`unhandled rejection: ${String(reason)}`);

before(() => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
});
after(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUnhandled);
  for (const s of sockets) await new Promise<void>((r) => s.close(() => r()));
  await ua?.close();
  await sipp?.stop();
});

async function socket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('error', () => undefined); // ICMP errors from closed ports are expected noise here
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  sockets.push(s);
  return s;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('live fuzz: 20k mutated SIP messages + 20k mutated RTP/RTCP packets at an answered CallLeg', { skip, timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const mediaPort = await freeUdpPort();
  const scenario = fileURLToPath(new URL('../fixtures/sipp/uas_media_echo.xml', import.meta.url));
  sipp = await startSipp({ scenario, port, keys: { pt: '0', codec: 'PCMU' }, extraArgs: ['-mp', String(mediaPort)] });
  // T1 = 100 ms: a valid mutated re-INVITE may retarget the dialog (§12.2.2 target refresh) at a port
  // nobody answers; our final BYE then gives up after 64*T1 = 6.4 s instead of 32 s.
  ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 }, timers: { T1: 100 } });
  const min = 45000 + ((process.pid * 11) % 200) * 20;
  const pool = new PortPool({ min, max: min + 10 });
  const leg = await CallLeg.dial({ ua, portPool: pool, localAddress: '127.0.0.1', rtpTimeoutMs: 0, dial: { to: 'fuzz', from: 'outcall', trunk: { host: '127.0.0.1', port }, ringTimeoutMs: 5000 } });
  await new Promise<void>((resolve, reject) => leg.on((e) => (e.type === 'answered' ? resolve() : e.type === 'ended' ? reject(new Error(e.reason)) : undefined)));
  const sipPort = ua.transports[0]?.local.port;
  assert.ok(sipPort);

  // Dialog identifiers from SIPp's trace: our INVITE's From tag and the To tag SIPp answered with.
  const invite = sipp.received()[0] ?? '';
  const fromTag = /^From: .*;tag=([^;\s]+)/m.exec(invite)?.[1];
  const toTag = /;tag=(\d+SIPpTag20\d+)/.exec(sipp.trace())?.[1];
  assert.ok(fromTag && toTag, 'dialog tags found');
  const ourUri = 'sip:outcall@127.0.0.1';
  const h = (method: string, seq: number, extra: string[], body = ''): string =>
    [`${method} sip:outcall@127.0.0.1:${sipPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKfz${seq}`, `From: <sip:fuzz@127.0.0.1:${port}>;tag=${toTag}`, `To: <${ourUri}>;tag=${fromTag}`, `Call-ID: ${leg.callId}`, `CSeq: ${seq} ${method}`, 'Max-Forwards: 70', `Contact: <sip:fuzz@127.0.0.1:${port}>`, ...extra, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
  const rtpFuzzer = await socket();
  const sipFuzzer = await socket();
  // Re-offers point at the RTP fuzzer, so an accepted one keeps the fuzzer as the media peer.
  const sdp = ['v=0', 'o=fz 1 2 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${rtpFuzzer.address().port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
  const resp = (status: number, body = ''): string =>
    [`SIP/2.0 ${status} X`, `Via: SIP/2.0/UDP 127.0.0.1:${sipPort};branch=z9hG4bKnope;rport`, `From: <${ourUri}>;tag=${fromTag}`, `To: <sip:fuzz@127.0.0.1>;tag=${toTag}`, `Call-ID: ${leg.callId}`, 'CSeq: 1 INVITE', `Contact: <sip:fuzz@127.0.0.1:${port}>`, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
  const sipTemplates = (seq: number): string[] => [
    h('INVITE', seq, ['Content-Type: application/sdp'], sdp),
    h('INFO', seq, ['Content-Type: application/dtmf-relay'], 'Signal=5\r\nDuration=160\r\n'),
    h('NOTIFY', seq, ['Event: refer', 'Subscription-State: active', 'Content-Type: message/sipfrag'], 'SIP/2.0 180 Ringing\r\n'),
    h('OPTIONS', seq, []),
    h('ACK', seq, []),
    h('UPDATE', seq, ['Content-Type: application/sdp'], sdp),
    resp(200, sdp),
    resp(183, sdp),
  ];

  // RTP: latch the leg to the fuzzer with one valid packet, then mutate.
  const r = rng(SEED);
  const audio = (seq: number): Buffer => buildRtp(0, false, seq & 0xffff, seq * 160, 0xfeed, new Uint8Array(160).fill(0x7f));
  rtpFuzzer.send(audio(1), leg.localPort, '127.0.0.1');
  await sleep(100);
  const rtcp = buildRtcpCompound({ ssrc: 0xfeed, cname: 'fz', sender: { ntpSec: 1, ntpFrac: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 }, reports: [{ ssrc: 1, fractionLost: 0, cumulativeLost: 0, extendedHighestSeq: 1, jitter: 0, lastSr: 0, delaySinceLastSr: 0 }] });
  const dtmf = buildRtp(101, true, 5, 800, 0xfeed, encodeTelephoneEvent({ event: 3, end: false, volume: 10, duration: 160 }));
  leg.write(new Int16Array(8000 * 20).fill(500)); // the leg keeps sending audio throughout

  const before = leg.mediaStats();
  let seq = 10;
  const BATCH = 200;
  for (let sent = 0; sent < N; sent += BATCH) {
    for (let i = 0; i < BATCH; i++) {
      seq++;
      const t = sipTemplates(seq);
      sipFuzzer.send(mutateSip(t[Math.floor(r() * t.length)] ?? '', r), sipPort, '127.0.0.1');
      const kind = r();
      const base = kind < 0.6 ? audio(seq) : kind < 0.8 ? dtmf : rtcp;
      // RTCP arrives on port+1 (RFC 3550 §11) unless muxed; throw some of everything at both.
      const target = kind >= 0.8 && r() < 0.7 ? leg.localPort + 1 : leg.localPort;
      rtpFuzzer.send(mutateRtp(base, r), target, '127.0.0.1');
    }
    await sleep(10); // let the UA and the pacing clock run between bursts (loopback buffers are finite)
  }
  await sleep(300);

  const st = leg.mediaStats();
  const uaStats = ua.stats();
  assert.deepEqual(problems, [], 'no uncaught exception or unhandled rejection');
  assert.equal(uaStats.internalErrors, 0, 'no SIP handler failure');
  assert.ok(uaStats.dropped > 1000, `unparsable SIP reached the parser and was dropped (${uaStats.dropped})`);
  assert.ok(st.rtpDatagrams - before.rtpDatagrams > N / 10, `fuzzed RTP reached the leg's socket (${st.rtpDatagrams - before.rtpDatagrams})`);
  assert.ok(st.malformed + st.unexpectedPayloadType + st.outOfSequence > 1000, 'mutated RTP was parsed and dropped, counted');
  assert.ok(st.rtcpDatagrams > 1000, `RTCP port got its share (${st.rtcpDatagrams})`);
  assert.equal(st.listenerErrors, 0);
  if (!leg.answered || (await Promise.race([leg.ended.then(() => true), sleep(0).then(() => false)]))) {
    // A mutation that is still a valid request may legitimately change the session; it must not crash it.
    assert.fail('the fuzz ended the call; expected the dialog to survive malformed input');
  }
  const sentBefore = st.packetsSent;
  await sleep(200);
  assert.ok(leg.mediaStats().packetsSent > sentBefore + 5, 'the leg still sends audio after the fuzz');

  t.diagnostic(`SIP dropped ${uaStats.dropped}; RTP datagrams ${st.rtpDatagrams} (malformed ${st.malformed}, unexpected PT ${st.unexpectedPayloadType}, out of sequence ${st.outOfSequence}); RTCP datagrams ${st.rtcpDatagrams} (malformed ${st.rtcpMalformed}); remote ${JSON.stringify(st.remote)}`);
  const ended = await leg.hangup();
  assert.equal(ended.by, 'local');
  await sleep(50);
  assert.equal(ua.stats().activeCalls, 0, 'no leaked call');
  assert.equal(pool.used, 0, 'port pool empty');
  assert.deepEqual(problems, []);
});
