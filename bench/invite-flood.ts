// Command: node --import tsx bench/invite-flood.ts [--calls 10] [--sources 50] [--rate 5000] [--seconds 10]
//
// An INVITE flood against `outcall serve` (issue 18: the SIP port faces the internet): --sources
// addresses (127.0.0.2 and up, all loopback) send INVITEs for numbers we do not have at --rate per
// second in total, while --calls calls talk to SIPp. Four phases in one run, each with fresh calls: no
// flood (baseline); the flood sent to a closed port (the flooder's and the kernel's CPU, none of
// ours); the flood at us, from sources we have not seen (their first INVITEs reach the control side,
// which refuses them 403 and has the sources blocked); the same flood again (every source blocked:
// refused on the media thread before any transaction). Measured per phase: the calls' own media figures
// (metrics.media: send lateness p99, stalls, late packets, from the media worker), the API's latency
// (GET /v1/calls/{id}, p50/p99), and for the flood what the scanners got back: 403s per INVITE sent
// (1.0 when each is answered once and never retransmitted) and the edge's refusal count (/metrics).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startServe, waitExit } from '../test/helpers/cli.js';
import { httpApi } from '../test/helpers/http-api.js';
import { freeUdpPort, startSipp } from '../test/helpers/sipp.js';
import { waitFor } from '../test/helpers/wait.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const CALLS = arg('calls', 10);
const SOURCES = arg('sources', 50);
const RATE = arg('rate', 5000);
const SECONDS = arg('seconds', 10);
const API_KEY = `oc_bench_${randomBytes(12).toString('hex')}`;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number);
};
// About SECONDS + 3 s of speech at flite's pace, so the calls talk through the whole phase.
const GREETING = Array.from({ length: Math.ceil((SECONDS + 3) / 4) }, () => 'This is a reminder from the clinic about your visit on Tuesday morning.').join(' ');

/** The flooder, in a process of its own: SOURCES sockets on 127.0.0.2.., INVITEs at RATE per second for SECONDS. */
const FLOODER = `
const dgram = require('node:dgram');
const [port, sources, rate, seconds] = process.argv.slice(1).map(Number);
let sent = 0, answered = 0, other = 0;
const socks = [];
for (let i = 0; i < sources; i++) {
  const s = dgram.createSocket('udp4');
  s.on('message', (m) => (/^SIP\\/2\\.0 403 /.test(m.toString('latin1', 0, 16)) ? answered++ : other++));
  s.bind(0, '127.0.0.' + (2 + i));
  socks.push(s);
}
const invite = (i, n) => {
  const host = '127.0.0.' + (2 + i);
  const lport = socks[i].address().port;
  return Buffer.from([
    'INVITE sip:+1900555' + String(n % 10000).padStart(4, '0') + '@127.0.0.1:' + port + ' SIP/2.0',
    'Via: SIP/2.0/UDP ' + host + ':' + lport + ';branch=z9hG4bKflood' + i + 'x' + n,
    'Max-Forwards: 70', 'From: <sip:scanner@' + host + '>;tag=f' + n, 'To: <sip:+1900555@127.0.0.1>',
    'Call-ID: flood-' + i + '-' + n + '@' + host, 'CSeq: 1 INVITE', 'Contact: <sip:scanner@' + host + ':' + lport + '>',
    'User-Agent: friendly-scanner', 'Content-Length: 0', '', ''].join('\\r\\n'));
};
setTimeout(() => {
  const t0 = Date.now();
  let n = 0;
  const tick = () => {
    const due = Math.min(rate * seconds, Math.floor(((Date.now() - t0) / 1000) * rate));
    for (; n < due; n++) { const i = n % sources; socks[i].send(invite(i, n), port, '127.0.0.1'); sent++; }
    if (n < rate * seconds) setTimeout(tick, 5);
    else setTimeout(() => { process.send({ sent, answered, other, seconds: (Date.now() - t0) / 1000 }); process.exit(0); }, 2000);
  };
  tick();
}, 200);
`;

const DATA_DIR = `${process.env.TMPDIR ?? '/tmp'}/outcall-flood-${process.pid}`;

async function main(): Promise<void> {
  const serve = await startServe({
    OUTCALL_DATA_DIR: DATA_DIR,
    OUTCALL_API_KEY: API_KEY,
    OUTCALL_ALLOW_PRIVATE_URLS: 'true',
    OUTCALL_RTP_PORT_MIN: '47000',
    OUTCALL_RTP_PORT_MAX: '47798',
    OUTCALL_DISPATCH_POLL_MS: '100',
  });
  const sipPort = Number(/SIP on [\d.]+:(\d+)/.exec(serve.output())?.[1]);
  const req = httpApi(serve.url, API_KEY);
  const port = await freeUdpPort();
  // The same flood sent to a port nobody listens on: the flooder's own CPU and the kernel's, none of ours.
  const closedPort = await freeUdpPort();
  const sipp = await startSipp({ scenario: fileURLToPath(new URL('../test/fixtures/sipp/uas_answer_fast.xml', import.meta.url)), port, calls: 10 * CALLS });
  try {
    const trunk = await req('POST', '/v1/trunks', { name: 'carrier', host: '127.0.0.1', port });
    const agent = await req('POST', '/v1/agents', { name: 'reminder', greeting: GREETING, max_cps: 50 });
    await req('POST', '/v1/phone-numbers', { number: '+16285550700', trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
    const rows: string[] = [];
    for (const phase of ['baseline', 'flood elsewhere', 'flood', 'flood again'] as const) {
      const ids: string[] = [];
      for (let i = 0; i < CALLS; i++) ids.push((await req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: `+1415555${5000 + i}` })).body.id as string);
      await waitFor('the calls to talk', async () => ((await req('GET', '/v1/calls?status=in_progress&limit=200')).body.data.length >= CALLS ? true : undefined), 30_000);
      const flood =
        phase !== 'baseline'
          ? new Promise<{ sent: number; answered: number; other: number; seconds: number }>((resolve, reject) => {
              const child = spawn(process.execPath, ['-e', FLOODER, String(phase === 'flood elsewhere' ? closedPort : sipPort), String(SOURCES), String(RATE), String(SECONDS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
              child.once('message', (m) => resolve(m as never));
              child.once('error', reject);
            })
          : undefined;
      // The API under the flood: one read every 50 ms.
      const lat: number[] = [];
      const until = Date.now() + SECONDS * 1000;
      while (Date.now() < until) {
        const t = performance.now();
        await req('GET', `/v1/calls/${ids[lat.length % ids.length]}`);
        lat.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 50));
      }
      const f = await flood;
      const ended = await waitFor('the calls to end', async () => {
        const got = await Promise.all(ids.map(async (id) => (await req('GET', `/v1/calls/${id}`)).body));
        return got.every((c) => c.status === 'completed') ? got : undefined;
      }, 120_000);
      const media = ended.map((c) => c.metrics.media as { send_lateness_p99_ms: number; send_stalled_ms: number; late_packets: number; concealed_ms: number });
      const edge = Number(/^outcall_inbound_refused_total\{status="403",where="edge"\} (\d+)/m.exec(await (await fetch(`${serve.url}/metrics`)).text())?.[1] ?? 0);
      rows.push(
        `| ${phase} | ${CALLS} | ${Math.max(...media.map((m) => m.send_lateness_p99_ms)).toFixed(2)} | ${media.reduce((a, m) => a + m.send_stalled_ms, 0)} | ${media.reduce((a, m) => a + m.late_packets, 0)} | ${pct(lat, 50).toFixed(1)} / ${pct(lat, 99).toFixed(1)} | ` +
          (f ? `${Math.round(f.sent / f.seconds)}/s, ${(f.answered / f.sent).toFixed(2)} 403s per INVITE, ${edge} refused at the edge |` : '- |'),
      );
    }
    console.log(`INVITE flood: ${SOURCES} sources, ${RATE}/s for ${SECONDS} s, ${CALLS} calls talking to SIPp (PGlite)`);
    console.log('| phase | calls | send lateness p99, worst call (ms) | stalled ms, all calls | late packets, all calls | API GET p50 / p99 (ms) | flood |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
  } finally {
    serve.child.kill('SIGTERM');
    await waitExit(serve.child);
    await sipp.stop();
    rmSync(DATA_DIR, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
