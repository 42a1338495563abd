// RTP pacing benchmark: N concurrent G.711 (PCMU) legs in this process, each a real MediaSession
// sending one 20 ms packet per tick of the shared PacingClock to an echo process that sends them back.
// Reports CPU % of one core, CPU time per leg-packet (one 20 ms tick of one leg: send, and with echo
// also receive + jitter buffer + decode; this figure is meaningful even on a loaded machine),
// packets/s out and in, pacing deviation from the 20 ms grid (p50/p99), and loss. Check `uptime`
// first: on a 2-core machine other load starves the loop and shows up as skipped ticks.
//
//   node --import tsx bench/rtp-pacing.ts                 # 100, 500, 1000 legs, 10 s each
//   node --import tsx bench/rtp-pacing.ts 1000 --seconds 10 --no-echo
//
// --no-echo: the peer process only receives (a sink), isolating the send path.
// --srtp: each leg count runs twice, plain RTP then SRTP (AES_CM_128_HMAC_SHA1_80), and the rows say
//   what SRTP adds per leg. The echo returns our own packets, so each leg decrypts with the key it
//   encrypts with (the same SSRC and fresh indices: every packet authenticates and is played out).
// --rounds N (with --srtp): N plain/SRTP pairs per leg count, interleaved, so that load from other
//   tenants drifting during the run falls on both alike; the summary is the median of the N per-pair
//   ratios (the table still lists every row). On a shared 2-core machine two identical plain rows
//   differ by up to ±25 %, so one pair says little.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { MediaSession, PacingClock, PortPool, histogramPercentile } from '../src/telephony/rtp/index.js';
import type { NegotiatedMedia } from '../src/telephony/sdp/index.js';

const args = process.argv.slice(2);
const secondsAt = args.indexOf('--seconds');
const seconds = secondsAt >= 0 ? Number(args[secondsAt + 1]) || 10 : 10;
const echo = !args.includes('--no-echo');
const withSrtp = args.includes('--srtp');
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Math.max(1, Number(args[roundsAt + 1]) || 1) : 1;
const legCounts = args.filter((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--seconds' && args[i - 1] !== '--rounds').map(Number);
if (legCounts.length === 0) legCounts.push(100, 500, 1000);

interface Row {
  legs: number;
  srtp: boolean;
  cpu: number;
  sys: number;
  sentPerSec: number;
  recvPerSec: number;
  p50: number;
  p99: number;
  max: number;
  loss: number;
  skipped: number;
}

async function startPeer(sockets: number, sink: boolean): Promise<{ ports: number[]; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./rtp-echo.ts', import.meta.url).pathname, String(sockets), sink ? 'sink' : 'echo'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`echo exited ${code}`)));
  });
  const { ports } = JSON.parse(first) as { ports: number[] };
  return {
    ports,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

function tone(n: number, phase: number): Int16Array {
  const a = new Int16Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * (i + phase)) / 8000));
  return a;
}

async function run(legs: number, srtp: boolean): Promise<Row> {
  const clock = PacingClock.shared();
  const pool = new PortPool({ min: 20000, max: 20000 + legs * 2 + 200 });
  const peer = await startPeer(8, !echo);
  const sessions: MediaSession[] = [];
  const second = tone(8000, 0);
  const chunk0 = second.subarray(0, 1600);
  let frames = 0;
  const key = randomBytes(30).toString('base64');
  for (let i = 0; i < legs; i++) {
    // latchWindowMs 0: connect() to the peer at the first tick (a sink never answers, so no latching)
    const s = await MediaSession.open({ localAddress: '127.0.0.1', portPool: pool, clock, rtpTimeoutMs: 0, latchWindowMs: 0 });
    const port = peer.ports[i % peer.ports.length] as number;
    const n: NegotiatedMedia = {
      remoteAddress: '127.0.0.1', remotePort: port, rtcpPort: port, rtcpMux: false, codec: 'PCMU', clockRate: 8000,
      sampleRate: 8000, payloadType: 0, recvPayloadTypes: [0], dtmfPayloadType: 101, dtmfRecvPayloadTypes: [101],
      direction: 'sendrecv', ptime: 20, remoteHold: false,
      srtp: srtp ? { suite: 'AES_CM_128_HMAC_SHA1_80', sendInline: key, recvInline: key } : null,
    };
    s.on('frame', () => {
      frames++;
    });
    s.start(n);
    s.write(chunk0);
    sessions.push(s);
  }
  // Keep 100-200 ms of audio queued on every leg so each tick encodes real G.711 (small writes, as a
  // TTS stream would make; one big write per leg per second would itself stall the loop).
  const chunk = second.subarray(0, 800);
  const topUp = setInterval(() => {
    for (const s of sessions) if (s.queuedMs <= 100) s.write(chunk);
  }, 50);
  await sleep(2000); // warm-up: JIT, socket buffers, jitter buffers filling
  for (const s of sessions) s.resetSendDeviation();
  const before = sessions.map((s) => s.stats());
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  const after = sessions.map((s) => s.stats());
  clearInterval(topUp);
  const hist = new Array<number>(after[0]?.sendDeviationHistogram.length ?? 0).fill(0);
  let sent = 0;
  let recv = 0;
  let skipped = 0;
  for (let i = 0; i < legs; i++) {
    const a = after[i];
    const b = before[i];
    if (!a || !b) continue;
    sent += a.packetsSent - b.packetsSent;
    recv += a.packetsReceived - b.packetsReceived;
    skipped += a.skippedTicks - b.skippedTicks;
    a.sendDeviationHistogram.forEach((v, k) => (hist[k] = (hist[k] ?? 0) + v));
  }
  let maxBucket = 0;
  hist.forEach((v, k) => {
    if (v > 0) maxBucket = k;
  });
  const connected = after.filter((s) => s.connected).length;
  if (connected < legs) process.stderr.write(`warning: only ${connected}/${legs} legs connect()ed\n`);
  await Promise.all(sessions.map((s) => s.close()));
  await peer.stop();
  return {
    legs,
    srtp,
    cpu: ((cpu.user + cpu.system) / 1000 / (wall * 1000)) * 100,
    sys: (cpu.system / 1000 / (wall * 1000)) * 100,
    sentPerSec: sent / wall,
    recvPerSec: recv / wall,
    p50: histogramPercentile(hist, 50),
    p99: histogramPercentile(hist, 99),
    max: (maxBucket + 1) * 0.25,
    loss: echo && sent > 0 ? Math.max(0, (sent - recv) / sent) * 100 : NaN,
    skipped,
  };
  void frames;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const rows: Row[] = [];
for (const n of legCounts) {
  process.stderr.write(`running ${n} legs for ${seconds} s${echo ? ' with echo' : ''}...\n`);
  for (let k = 0; k < (withSrtp ? rounds : 1); k++) {
    rows.push(await run(n, false));
    if (withSrtp) rows.push(await run(n, true));
  }
}
console.log(`\nRTP pacing, ${seconds} s per row, PCMU 20 ms, ${echo ? 'echoed by a separate process' : 'send only'}; node ${process.version}`);
console.log('| legs | media | CPU % of a core (of which kernel) | CPU µs per leg-packet | sent pkt/s | recv pkt/s | dev p50 ms | dev p99 ms | dev max ms | loss % | skipped ticks |');
console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.legs} | ${r.srtp ? 'SRTP' : 'RTP'} | ${r.cpu.toFixed(1)} (${r.sys.toFixed(1)}) | ${((r.cpu * 1e4) / Math.max(1, r.sentPerSec)).toFixed(1)} | ${r.sentPerSec.toFixed(0)} | ${r.recvPerSec.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(2)} | ${Number.isNaN(r.loss) ? '-' : r.loss.toFixed(3)} | ${r.skipped} |`,
  );
}
if (withSrtp) {
  const per = (r: Row) => (r.cpu * 1e4) / Math.max(1, r.sentPerSec);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  for (const n of legCounts) {
    const plain = rows.filter((r) => r.legs === n && !r.srtp);
    const enc = rows.filter((r) => r.legs === n && r.srtp);
    const ratios = enc.map((e, k) => per(e) / per(plain[k] as Row));
    if (ratios.length === 0) continue;
    const m = median(ratios);
    console.log(
      `- ${n} legs: SRTP ${median(enc.map(per)).toFixed(1)} against ${median(plain.map(per)).toFixed(1)} µs of CPU per leg-packet (medians), ` +
        `×${m.toFixed(2)} (${m >= 1 ? '+' : ''}${((m - 1) * 100).toFixed(0)} %), median of ${ratios.length} interleaved pair(s): ${ratios.map((r) => r.toFixed(2)).join(', ')}`,
    );
  }
}
