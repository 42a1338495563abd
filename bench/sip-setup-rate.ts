// Command: node --import tsx bench/sip-setup-rate.ts [totalCalls=3000] [inFlight=100]
//
// INVITE-to-200 setup rate of one UserAgent process against a real SIPp UAS on loopback (UDP):
// SIPp answers at once (test/fixtures/sipp/uas_answer_fast.xml), we ACK and BYE. Keeps `inFlight` calls
// in progress, prints calls/s (completed calls / wall time) and p50/p99 setup time (dial -> 200).
import { fileURLToPath } from 'node:url';
import { UserAgent } from '../src/telephony/sip/user-agent.js';
import { freePort, havePeer, startSipp, waitExit } from '../test/helpers/sipp.js';

const total = Number(process.argv[2] ?? 3000);
const inFlight = Number(process.argv[3] ?? 100);
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';

async function main(): Promise<void> {
  if (!havePeer('sipp')) throw new Error('sipp is not installed');
  const port = await freePort();
  const scenario = fileURLToPath(new URL('../test/fixtures/sipp/uas_answer_fast.xml', import.meta.url));
  const sipp = await startSipp({ scenario, port, calls: total, extraArgs: ['-l', '10000', '-buff_size', '4194304', '-max_recv_loops', '10000', '-max_sched_loops', '10000'] });
  const ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  const setup: number[] = [];
  const outcomes = new Map<string, number>();
  let started = 0;

  const one = async (): Promise<void> => {
    const begin = performance.now();
    const call = ua.dial({ to: `bench${started}`, from: 'bench', trunk: { host: '127.0.0.1', port }, sdpOffer: SDP, ringTimeoutMs: 30_000 });
    try {
      await call.waitFor('answered');
      setup.push(performance.now() - begin);
      const ended = await call.hangup();
      outcomes.set(ended.outcome, (outcomes.get(ended.outcome) ?? 0) + 1);
    } catch {
      const ended = await call.ended;
      outcomes.set(`${ended.outcome}/${ended.sipStatusCode}`, (outcomes.get(`${ended.outcome}/${ended.sipStatusCode}`) ?? 0) + 1);
    }
  };
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      await one();
    }
  };
  // Warm-up call (SIPp finishes initialising after it binds), then ramp the workers up over ~inFlight ms so
  // the first burst does not outrun SIPp's receive loop and trigger Timer A retransmissions it cannot match.
  started++;
  await one();
  setup.length = 0;
  outcomes.clear();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i));
      await worker();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  setup.sort((a, b) => a - b);
  const pct = (p: number): number => setup[Math.min(setup.length - 1, Math.floor((p / 100) * setup.length))] ?? NaN;
  const exit = await waitExit(sipp, 30_000).catch(() => null);
  console.log(
    JSON.stringify(
      {
        calls: total - 1,
        inFlight,
        seconds: Number(seconds.toFixed(2)),
        callsPerSecond: Number(((total - 1) / seconds).toFixed(1)),
        setupMs: { p50: Number(pct(50).toFixed(2)), p99: Number(pct(99).toFixed(2)), max: Number((setup.at(-1) ?? NaN).toFixed(2)) },
        outcomes: Object.fromEntries(outcomes),
        sippExitCode: exit,
        ua: ua.stats(),
      },
      null,
      2,
    ),
  );
  if (process.env.BENCH_DEBUG) {
    const { readFileSync, existsSync } = await import('node:fs');
    const errFile = `${sipp.dir}/errors.log`;
    if (existsSync(errFile)) console.error(readFileSync(errFile, 'utf8').slice(0, 4000));
  }
  await sipp.stop();
  await ua.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
