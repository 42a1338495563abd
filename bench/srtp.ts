// Command: node --import tsx bench/srtp.ts [--packets 200000] [--udp-packets 20000] [--rounds 3]
//
// What SRTP (src/telephony/rtp/srtp) costs per packet against plain RTP, for 172-byte PCMU packets
// (12-byte header + 160 bytes = 20 ms at 8 kHz), both SDES suites:
// 1. µs per packet, in a tight loop over --packets packets (after a warm-up of a tenth of that):
//    building a plain packet (buildRtp), protectRtp, unprotectRtp (each packet a new index, every one
//    checked to authenticate), then the design checks of srtp-context.ts on the bare node:crypto
//    calls: a cipher and an HMAC created per packet (raw key Buffers vs cached KeyObjects, the cost of
//    cipher.final()) against what srtp-context.ts uses: one persistent ECB cipher for the AES-CM
//    keystream, made for 32 packets per call (SessionTransform.cryptRtp), and the JS HMAC-SHA1 from pad
//    midstates (hmac-sha1.ts).
// 2. CPU per packet (process.cpuUsage: user + system, so the kernel's UDP work counts) through real
//    dgram sockets on 127.0.0.1, --udp-packets per measurement, in batches of 100 per event-loop turn
//    (what a media thread does for 2000 legs: 100 packets per millisecond):
//    - send: build (+ protectRtp) + socket.send to a sink in another process (bench/rtp-echo.ts sink),
//      so none of the receiving is ours;
//    - send + receive: the same to a socket of this process that takes each datagram and
//      (unprotectRtp +) parseRtp, i.e. one packet each way of one leg's 20 ms;
//    - receive = (send + receive) - send.
//    Plain, _80 and _32 are interleaved over --rounds rounds; the median round is reported.
// The ratios SRTP/plain per direction and per leg are the "SRTP cost per leg against plain RTP".
import { spawn } from 'node:child_process';
import { createCipheriv, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { HmacSha1 } from '../src/telephony/rtp/srtp/hmac-sha1.js';
import { buildRtp, parseRtp } from '../src/telephony/rtp/packet.js';
import { SessionTransform, SrtpProtector, SrtpUnprotector } from '../src/telephony/rtp/srtp/srtp-context.js';
import type { SrtpKeys, SrtpSuite } from '../src/telephony/rtp/srtp/suites.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const PACKETS = arg('packets', 200_000);
const UDP_PACKETS = arg('udp-packets', 20_000);
const ROUNDS = Math.max(1, arg('rounds', 3));
const BATCH = 100;
const SUITES: SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];
const SSRC = 0x5eed1234;
const PAYLOAD = randomBytes(160);
const keysFor = (suite: SrtpSuite): SrtpKeys => ({ suite, masterKey: randomBytes(16), masterSalt: randomBytes(14) });
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const cpuUs = (c: NodeJS.CpuUsage): number => c.user + c.system;
let sink = 0; // results fold into this so that no loop is optimised away

/** µs per iteration of fn(i) over n iterations, after n/10 warm-up iterations. */
function perOp(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.max(1, Math.floor(n / 10)); i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

// ---- 1. tight loops ----------------------------------------------------------------------------
const load0 = loadavg()[0] ?? NaN;
const micro: Array<[string, number]> = [];
micro.push(['buildRtp (plain packet)', perOp(PACKETS, (i) => (sink ^= buildRtp(0, false, i & 0xffff, i * 160, SSRC, PAYLOAD)[3] as number))]);
for (const suite of SUITES) {
  const keys = keysFor(suite);
  const tx = new SrtpProtector(keys);
  const pkt = buildRtp(0, false, 0, 0, SSRC, PAYLOAD);
  micro.push([`protectRtp ${suite}`, perOp(PACKETS, (i) => {
    pkt.writeUInt16BE(i & 0xffff, 2);
    sink ^= tx.protectRtp(pkt)[20] as number;
  })]);
  // Receive: every packet a new index, as on the wire. Warm up on a separate receiver, then time a fresh one.
  const wire: Buffer[] = [];
  const tx2 = new SrtpProtector(keys);
  for (let i = 0; i < PACKETS; i++) wire.push(tx2.protectRtp(buildRtp(0, false, i & 0xffff, i * 160, SSRC, PAYLOAD)));
  const warm = new SrtpUnprotector(keys);
  for (let i = 0; i < PACKETS / 10; i++) warm.unprotectRtp(wire[i] as Buffer);
  const rx = new SrtpUnprotector(keys);
  let failed = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < PACKETS; i++) {
    const r = rx.unprotectRtp(wire[i] as Buffer);
    if (r.ok) sink ^= r.packet[20] as number;
    else failed++;
  }
  micro.push([`unprotectRtp ${suite}`, Number(process.hrtime.bigint() - t0) / 1000 / PACKETS]);
  if (failed > 0) throw new Error(`${failed} packets failed to unprotect`);
}

// Design checks behind srtp-context.ts, on one packet's primitives (AES-CTR over 160 bytes, HMAC-SHA1 over
// 172 + 4): cached KeyObjects (crypto.createSecretKey) vs raw key Buffers; what cipher.final() adds (nothing
// to emit in CTR mode); and, not used, AES-CM from one persistent aes-128-ecb cipher over the counter
// blocks with the XOR done in JS.
{
  const encKey = randomBytes(16);
  const authKey = randomBytes(20);
  const encObj = createSecretKey(encKey);
  const authObj = createSecretKey(authKey);
  const iv = Buffer.alloc(16);
  const pkt = buildRtp(0, false, 0, 0, SSRC, PAYLOAD);
  const roc = Buffer.alloc(4);
  const ecb = createCipheriv('aes-128-ecb', encKey, null).setAutoPadding(false);
  const jsHmac = new HmacSha1(authKey);
  const transform = new SessionTransform({ encKey, authKey, salt: randomBytes(14) });
  const blocks = Buffer.alloc(160);
  const both = (k: Buffer | KeyObject, a: Buffer | KeyObject) => (i: number) => {
    iv.writeUInt32BE(i, 8);
    sink ^= createCipheriv('aes-128-ctr', k, iv).update(PAYLOAD)[0] as number;
    sink ^= createHmac('sha1', a).update(pkt).update(roc).digest()[0] as number;
  };
  const checks: Array<[string, (i: number) => void]> = [
    ['AES-CTR + createHmac per packet, raw key Buffers', both(encKey, authKey)],
    ['AES-CTR + HMAC, cached KeyObjects', both(encObj, authObj)],
    ['AES-CTR alone: createCipheriv + update', (i) => {
      iv.writeUInt32BE(i, 8);
      sink ^= createCipheriv('aes-128-ctr', encKey, iv).update(PAYLOAD)[0] as number;
    }],
    ['AES-CTR alone: createCipheriv + update + final()', (i) => {
      iv.writeUInt32BE(i, 8);
      const c = createCipheriv('aes-128-ctr', encKey, iv);
      sink ^= c.update(PAYLOAD)[0] as number;
      c.final();
    }],
    ['AES-CM alone: persistent ECB per packet + JS XOR', (i) => {
      iv.writeUInt32BE(i, 8);
      for (let b = 0; b < 10; b++) {
        iv.copy(blocks, b * 16);
        blocks[b * 16 + 15] = b;
      }
      const ks = ecb.update(blocks);
      const out = Buffer.allocUnsafe(160);
      for (let j = 0; j < 160; j++) out[j] = (PAYLOAD[j] as number) ^ (ks[j] as number);
      sink ^= out[0] as number;
    }],
    ['AES-CM alone: keystream of 32 packets per ECB call + JS XOR (used: SessionTransform.cryptRtp)', (i) => {
      const out = Buffer.allocUnsafe(160);
      transform.cryptRtp(PAYLOAD, 0, 160, out, 0, SSRC, i);
      sink ^= out[0] as number;
    }],
    ['HMAC-SHA1 alone: createHmac per packet', () => {
      sink ^= createHmac('sha1', authKey).update(pkt).update(roc).digest()[0] as number;
    }],
    ['HMAC-SHA1 alone: JS from pad midstates (used)', () => {
      sink ^= jsHmac.mac(pkt, pkt.length, roc)[0] as number;
    }],
  ];
  // Best of 5 rounds, the order rotated each round: whatever runs first also pays for the garbage of the
  // section before (the arrays of protected packets).
  const best = checks.map(() => Infinity);
  for (let r = 0; r < 5; r++) {
    for (let j = 0; j < checks.length; j++) {
      const k = (j + r) % checks.length;
      best[k] = Math.min(best[k] as number, perOp(PACKETS / 2, (checks[k] as [string, (i: number) => void])[1]));
    }
  }
  checks.forEach(([name], k) => micro.push([`design check: ${name}`, best[k] as number]));
}

// ---- 2. through UDP sockets ----------------------------------------------------------------------
async function startSink(): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./rtp-echo.ts', import.meta.url).pathname, '1', 'sink'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const rl = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`sink exited ${code}`)));
  });
  const { ports } = JSON.parse(first) as { ports: number[] };
  return {
    port: ports[0] as number,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  s.setRecvBufferSize(4 << 20);
  s.setSendBufferSize(4 << 20);
  return s;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type Mode = 'plain' | SrtpSuite;
const MODES: Mode[] = ['plain', ...SUITES];
const modeKeys = new Map(SUITES.map((s) => [s, keysFor(s)]));

const sinkPeer = await startSink();
const sender = await udpSocket();
const receiver = await udpSocket();
const recvPort = receiver.address().port;
let onPacket: (msg: Buffer) => void = () => {};
receiver.on('message', (msg) => onPacket(msg));
let seq = 0;

/** CPU µs per packet of sending `n` packets of `mode` to `port`; with `receive`, also taking them in here. */
async function measure(mode: Mode, port: number, receive: boolean, n: number): Promise<{ cpu: number; lost: number }> {
  const keys = mode === 'plain' ? undefined : modeKeys.get(mode);
  const tx = keys ? new SrtpProtector(keys) : undefined;
  const rx = keys ? new SrtpUnprotector(keys) : undefined;
  let received = 0;
  let bad = 0;
  onPacket = rx
    ? (msg) => {
        const r = rx.unprotectRtp(msg);
        if (r.ok && parseRtp(r.packet).ok) received++;
        else bad++;
      }
    : (msg) => {
        if (parseRtp(msg).ok) received++;
        else bad++;
      };
  await turn();
  const c0 = process.cpuUsage();
  for (let sent = 0; sent < n; ) {
    for (let k = 0; k < BATCH && sent < n; k++, sent++) {
      seq = (seq + 1) & 0xffff;
      const plain = buildRtp(0, false, seq, seq * 160, SSRC, PAYLOAD);
      sender.send(tx ? tx.protectRtp(plain) : plain, port, '127.0.0.1');
    }
    await turn();
    // Receiving: let the receiver catch up before the next batch, so the socket buffer never drops.
    for (let spins = 0; receive && received + bad < sent && spins < 1000; spins++) await turn();
  }
  const cpu = cpuUs(process.cpuUsage(c0)) / n;
  if (bad > 0) throw new Error(`${bad} ${mode} packets failed on receive`);
  onPacket = () => {};
  return { cpu, lost: receive ? n - received : 0 };
}

const send = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
const both = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
let lost = 0;
for (const m of MODES) await measure(m, sinkPeer.port, false, Math.min(UDP_PACKETS, 5000)); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const m of MODES) {
    (send.get(m) as number[]).push((await measure(m, sinkPeer.port, false, UDP_PACKETS)).cpu);
    const rt = await measure(m, recvPort, true, UDP_PACKETS);
    (both.get(m) as number[]).push(rt.cpu);
    lost += rt.lost;
  }
}
sender.close();
receiver.close();
await sinkPeer.stop();

// ---- report --------------------------------------------------------------------------------------
console.log(`\nSRTP vs plain RTP, 172-byte PCMU packets; node ${process.version}; 1-min load average before/after ${load0.toFixed(2)}/${(loadavg()[0] ?? NaN).toFixed(2)}`);
console.log(`\ntight loops, ${PACKETS} packets each (wall time of a single-threaded loop ≈ CPU)\n`);
console.log('| operation | µs per packet |');
console.log('|---|---:|');
for (const [name, us] of micro) console.log(`| ${name} | ${us.toFixed(2)} |`);

const med = (m: Mode, map: Map<Mode, number[]>): number => median(map.get(m) as number[]);
console.log(`\nthrough dgram sockets on 127.0.0.1: CPU µs per packet (user + system), ${UDP_PACKETS} packets per measurement, median of ${ROUNDS} rounds; packets lost in send + receive: ${lost}\n`);
console.log('| mode | send (build, protect, send) | send + receive (one packet each way) | receive (difference) | send ×plain | receive ×plain | leg ×plain |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
const pSend = med('plain', send);
const pBoth = med('plain', both);
for (const m of MODES) {
  const s = med(m, send);
  const b = med(m, both);
  console.log(`| ${m} | ${s.toFixed(2)} | ${b.toFixed(2)} | ${(b - s).toFixed(2)} | ${(s / pSend).toFixed(2)} | ${((b - s) / (pBoth - pSend)).toFixed(2)} | ${(b / pBoth).toFixed(2)} |`);
}
console.log('\nSRTP cost per leg against plain RTP (a leg sends and receives one packet per 20 ms, 50 each way per second):');
for (const m of SUITES) {
  const extra = med(m, both) - pBoth;
  console.log(`- ${m}: +${extra.toFixed(2)} µs CPU per 20 ms per leg (×${(med(m, both) / pBoth).toFixed(2)} of plain); for 2000 legs +${((extra * 50 * 2000) / 1e4).toFixed(1)} % of a core`);
}
