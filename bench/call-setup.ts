// Command: node --import tsx bench/call-setup.ts [totalCalls=3000] [inFlight=100]
//
// Call setup rate with full CallLegs (media included) in one process against a real SIPp UAS on loopback:
// per call, CallLeg.dial() opens a MediaSession (RTP/RTCP sockets from the PortPool) and builds the SDP
// offer, sends the INVITE; SIPp answers at once with SDP (test/fixtures/sipp/uas_media_echo.xml, 180 then
// 200); we negotiate, start media (join the pacing clock), report 'answered', then hang up (BYE) and close
// the media (RTCP BYE, sockets closed, port returned). Keeps `inFlight` calls in progress.
// Prints completed calls/s and p50/p99 setup time (CallLeg.dial() start -> 'answered').
// bench/sip-setup-rate.ts is the same measurement without media.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CallLeg, PortPool, UserAgent, type LegEnded } from '../src/telephony/index.js';
import { freePort, havePeer, startSipp, waitExit } from '../test/helpers/sipp.js';

const total = Number(process.argv[2] ?? 3000);
const inFlight = Number(process.argv[3] ?? 100);

async function main(): Promise<void> {
  if (!havePeer('sipp')) throw new Error('sipp (sip-tester) is not installed');
  const load0 = loadavg()[0] ?? NaN;
  const port = await freePort();
  const scenario = fileURLToPath(new URL('../test/fixtures/sipp/uas_media_echo.xml', import.meta.url));
  const sipp = await startSipp({
    scenario,
    port,
    calls: total,
    keys: { pt: '0', codec: 'PCMU' },
    extraArgs: ['-l', '10000', '-buff_size', '4194304', '-max_recv_loops', '10000', '-max_sched_loops', '10000', '-timeout', '300s'],
  });
  const ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  const pool = new PortPool({ min: 36000, max: 36000 + inFlight * 4 + 200 });
  const setup: number[] = [];
  const outcomes = new Map<string, number>();
  let started = 0;
  const count = (e: LegEnded): void => {
    const key = e.outcome === 'completed' && e.by === 'local' ? 'completed' : `${e.outcome}/${e.by}/${e.sipStatusCode}/${e.reason}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  };

  const one = async (): Promise<void> => {
    const begin = performance.now();
    const leg = await CallLeg.dial({
      ua,
      portPool: pool,
      localAddress: '127.0.0.1',
      codecs: ['PCMU', 'PCMA'],
      dial: { to: `bench${started}`, from: 'outcall', trunk: { host: '127.0.0.1', port }, ringTimeoutMs: 30_000 },
    });
    const answered = await new Promise<boolean>((resolve) =>
      leg.on((e) => {
        if (e.type === 'answered') resolve(true);
        else if (e.type === 'ended') resolve(false);
      }),
    );
    if (answered) setup.push(performance.now() - begin);
    count(await leg.hangup());
  };
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      await one();
    }
  };
  // Warm-up call (SIPp finishes initialising after it binds; JIT), then ramp the workers up over
  // ~inFlight ms so the first burst does not outrun SIPp's receive loop.
  started++;
  await one();
  setup.length = 0;
  outcomes.clear();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i));
      await worker();
    }),
  );
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  setup.sort((a, b) => a - b);
  const pct = (p: number): number => setup[Math.min(setup.length - 1, Math.floor((p / 100) * setup.length))] ?? NaN;
  const exit = await waitExit(sipp, 30_000).catch(() => null);
  const calls = total - 1;
  console.log(`\nCallLeg setup rate vs SIPp (UDP loopback), ${calls} calls, ${inFlight} in flight; node ${process.version}; 1-min load average before/after ${load0.toFixed(2)}/${(loadavg()[0] ?? NaN).toFixed(2)} (2 cores shared with other work)`);
  console.log('| calls | in flight | wall s | calls/s | setup p50 ms | setup p99 ms | setup max ms | our CPU % of a core | outcomes | SIPp exit | ports in use after |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|');
  console.log(
    `| ${calls} | ${inFlight} | ${(ms / 1000).toFixed(2)} | ${((calls / ms) * 1000).toFixed(1)} | ${pct(50).toFixed(2)} | ${pct(99).toFixed(2)} | ${(setup.at(-1) ?? NaN).toFixed(2)} | ${(((cpu.user + cpu.system) / 1000 / ms) * 100).toFixed(0)} | ${JSON.stringify(Object.fromEntries(outcomes))} | ${exit} | ${pool.used} |`,
  );
  await sipp.stop();
  await ua.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
