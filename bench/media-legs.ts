// Command: node --import tsx bench/media-legs.ts [legs...=100 500 1000] [--seconds 10] [--cps 100] [--sipps 1]
//
// N concurrent full CallLegs (SIP dialog + MediaSession, PCMU 20 ms) in ONE process against SIPp UAS
// processes that answer every call and echo all RTP they get on their media port (-rtp_echo); --sipps K
// spreads the legs over K SIPp processes (one SIPp echoes everything through a single socket). Calls are set up at
// --cps, then every leg keeps 100-200 ms of a tone queued (so each tick really encodes G.711) and
// receives its echo. Measured over --seconds of steady state (no signalling in the window):
// CPU % of one core of this process (process.cpuUsage) and of SIPp (/proc), packets/s sent and received,
// pacing deviation from each leg's 20 ms grid (p50/p99/max, from the legs' send-deviation histograms),
// loss (sent - echoed back) and WHERE it happened: receive-buffer drops of SIPp's one media socket vs our
// RTP sockets (/proc/net/udp) and host-wide (/proc/net/snmp RcvbufErrors),
// skipped ticks, and the shared PacingClock's late slots.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CallLeg, PacingClock, PortPool, UserAgent } from '../src/telephony/index.js';
import { histogramPercentile } from '../src/telephony/rtp/index.js';
import { freePort, freeUdpPort, havePeer, startSipp, waitExit, type SippProcess } from '../test/helpers/sipp.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const seconds = opt('--seconds', 10);
const cps = opt('--cps', 100);
const sippCount = Math.max(1, opt('--sipps', 1));
const legCounts = args.filter((a, i) => /^\d+$/.test(a) && !(args[i - 1] ?? '').startsWith('--')).map(Number);
if (legCounts.length === 0) legCounts.push(100, 500, 1000);

interface Row {
  legs: number;
  answered: number;
  cpu: number;
  sys: number;
  sippCpu: number;
  sentPerSec: number;
  recvPerSec: number;
  p50: number;
  p99: number;
  max: number;
  loss: number;
  skipped: number;
  lateSlots: number;
  rcvbufDrops: number;
  sippDrops: number;
  ourDrops: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process in ms (/proc/<pid>/stat fields 14 and 15, in clock ticks of 10 ms). */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Kernel-wide UDP receive-buffer drops (/proc/net/snmp Udp: RcvbufErrors): where lost packets went. */
function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')] ?? NaN);
}

/** Per-socket receive drops (/proc/net/udp last column) summed over sockets bound to `ports`. */
function socketDrops(ports: ReadonlySet<number>): number {
  let sum = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const c = line.trim().split(/\s+/);
    const port = parseInt((c[1] ?? '').split(':')[1] ?? '', 16);
    if (ports.has(port)) sum += Number(c[c.length - 1] ?? 0);
  }
  return sum;
}

function tone(n: number): Int16Array {
  const a = new Int16Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return a;
}

async function run(n: number): Promise<Row> {
  const scenario = fileURLToPath(new URL('../test/fixtures/sipp/uas_media_echo.xml', import.meta.url));
  // K SIPp processes, legs spread round-robin: one SIPp echoes everything through ONE media socket.
  const sipps: SippProcess[] = [];
  const mediaPorts: number[] = [];
  for (let k = 0; k < sippCount; k++) {
    const per = Math.ceil((n - k) / sippCount);
    const mediaPort = await freeUdpPort();
    mediaPorts.push(mediaPort);
    sipps.push(
      await startSipp({
        scenario,
        port: await freePort(),
        calls: per,
        keys: { pt: '0', codec: 'PCMU' },
        extraArgs: ['-mp', String(mediaPort), '-rtp_echo', '-l', String(per + 10), '-buff_size', '8388608', '-max_recv_loops', '10000', '-timeout', `${Math.ceil(n / cps) * 3 + seconds + 60}s`],
      }),
    );
  }
  const ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  const pool = new PortPool({ min: 30000, max: 30000 + n * 2 + 400 });
  const clock = PacingClock.shared();
  const legs: CallLeg[] = [];
  const answeredP: Array<Promise<boolean>> = [];
  const chunk = tone(800); // 100 ms
  for (let i = 0; i < n; i++) {
    const leg = await CallLeg.dial({
      ua,
      portPool: pool,
      localAddress: '127.0.0.1',
      codecs: ['PCMU'],
      rtpTimeoutMs: 0,
      dial: { to: `bench${i}`, from: 'outcall', trunk: { host: '127.0.0.1', port: (sipps[i % sippCount] as SippProcess).port }, ringTimeoutMs: 30_000 },
    });
    legs.push(leg);
    answeredP.push(
      new Promise((resolve) =>
        leg.on((e) => {
          if (e.type === 'answered') {
            leg.write(chunk);
            resolve(true);
          } else if (e.type === 'ended') resolve(false);
        }),
      ),
    );
    await sleep(1000 / cps);
  }
  const answered = (await Promise.all(answeredP)).filter(Boolean).length;
  const live = legs.filter((l) => l.answered);
  const topUp = setInterval(() => {
    for (const l of live) if (l.queuedMs <= 100) l.write(chunk);
  }, 50);
  await sleep(2000); // warm-up: JIT, latching/connect(), jitter buffers
  const before = live.map((l) => l.mediaStats());
  const clock0 = clock.stats();
  const cpu0 = process.cpuUsage();
  const drops0 = udpRcvbufErrors();
  const ourPorts = new Set(live.map((l) => l.localPort));
  const sippPorts = new Set(mediaPorts);
  const sippDrops0 = socketDrops(sippPorts);
  const ourDrops0 = socketDrops(ourPorts);
  const sippCpu = (): number => sipps.reduce((a, p) => a + (p.child.pid !== undefined ? procCpuMs(p.child.pid) : 0), 0);
  const sipp0 = sippCpu();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const sippMs = sippCpu() - sipp0;
  const clock1 = clock.stats();
  const drops = udpRcvbufErrors() - drops0;
  const sippDrops = socketDrops(sippPorts) - sippDrops0;
  const ourDrops = socketDrops(ourPorts) - ourDrops0;
  const after = live.map((l) => l.mediaStats());
  clearInterval(topUp);

  const hist = new Array<number>(after[0]?.sendDeviationHistogram.length ?? 0).fill(0);
  let sent = 0;
  let recv = 0;
  let skipped = 0;
  after.forEach((a, i) => {
    const b = before[i];
    if (!b) return;
    sent += a.packetsSent - b.packetsSent;
    recv += a.packetsReceived - b.packetsReceived;
    skipped += a.skippedTicks - b.skippedTicks;
    a.sendDeviationHistogram.forEach((v, k) => (hist[k] = (hist[k] ?? 0) + v - (b.sendDeviationHistogram[k] ?? 0)));
  });
  let maxBucket = 0;
  hist.forEach((v, k) => {
    if (v > 0) maxBucket = k;
  });

  // Tear down at the same moderate rate; every leg must end and return its port.
  for (const l of legs) {
    void l.hangup(); // never rejects; awaited below through l.ended
    await sleep(1000 / (cps * 2));
  }
  await Promise.all(legs.map((l) => l.ended));
  if (pool.used !== 0) process.stderr.write(`warning: ${pool.used} ports still in use\n`);
  for (const sipp of sipps) {
    await waitExit(sipp, 20_000).catch((err: unknown) => process.stderr.write(`sipp: ${String(err).slice(0, 300)}\n`));
    await sipp.stop();
  }
  await ua.close();
  const wall = wallMs / 1000;
  return {
    legs: n,
    answered,
    cpu: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    sys: (cpu.system / 1000 / wallMs) * 100,
    sippCpu: (sippMs / wallMs) * 100,
    sentPerSec: sent / wall,
    recvPerSec: recv / wall,
    p50: histogramPercentile(hist, 50),
    p99: histogramPercentile(hist, 99),
    max: (maxBucket + 1) * 0.25,
    loss: sent > 0 ? Math.max(0, (sent - recv) / sent) * 100 : NaN,
    skipped,
    lateSlots: clock1.lateSlots - clock0.lateSlots,
    rcvbufDrops: drops,
    sippDrops,
    ourDrops,
  };
}

async function main(): Promise<void> {
  if (!havePeer('sipp')) throw new Error('sipp (sip-tester) is not installed');
  const rows: Row[] = [];
  const load0 = loadavg()[0] ?? NaN;
  for (const n of legCounts) {
    process.stderr.write(`${n} CallLegs: setting up at ${cps} cps, then ${seconds} s of steady state...\n`);
    rows.push(await run(n));
  }
  console.log(`\nCallLegs vs SIPp -rtp_echo, PCMU 20 ms, ${seconds} s steady state per row, set up at ${cps} cps, ${sippCount} SIPp process(es); node ${process.version}; 1-min load average before/after ${load0.toFixed(2)}/${(loadavg()[0] ?? NaN).toFixed(2)}`);
  console.log('| legs | answered | our CPU % of a core (kernel) | SIPp CPU % | sent pkt/s | echoed pkt/s | dev p50 ms | dev p99 ms | dev max ms | loss % | drops: SIPp media socket / our RTP sockets / host total | skipped ticks | late slots |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.legs} | ${r.answered} | ${r.cpu.toFixed(1)} (${r.sys.toFixed(1)}) | ${r.sippCpu.toFixed(0)} | ${r.sentPerSec.toFixed(0)} | ${r.recvPerSec.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(2)} | ${r.loss.toFixed(3)} | ${r.sippDrops} / ${r.ourDrops} / ${r.rcvbufDrops} | ${r.skipped} | ${r.lateSlots} |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
