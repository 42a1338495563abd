/**
 * The whole platform under a stopwatch: `outcall serve` as its own process (API, dispatcher, media
 * worker thread), a trunk played by this script.
 *
 *   node --import tsx bench/live-dispatch.ts [--latency 200] [--sustained 1000] [--drivers pglite,postgres]
 *
 * 1. Dispatch latency on an idle system: POST /v1/agents/{id}/outbound-calls, one at a time, to
 *    the INVITE arriving at the trunk (a UDP socket here that records the arrival and answers 486).
 * 2. Sustained calls per second: N calls created by 16 clients against SIPp answering every call
 *    (uas_answer_fast.xml; we hang up at once: no greeting), first POST to the last call ended.
 */
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildResponse } from '../src/telephony/sip/builder.js';
import { parseMessage } from '../src/telephony/sip/parser.js';
import { serializeMessage } from '../src/telephony/sip/serializer.js';
import { startServe, waitExit } from '../test/helpers/cli.js';
import { freeUdpPort, startSipp } from '../test/helpers/sipp.js';
import { freshStoreEnv } from './helpers/store-env.js';

const { values } = parseArgs({
  options: {
    latency: { type: 'string', default: '200' },
    sustained: { type: 'string', default: '1000' },
    drivers: { type: 'string', default: 'pglite,postgres' },
  },
});
const KEY = 'bench-key-0123456789abcdef';
const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;

/** What the bench reads of a response: a created resource's id, a list's page. */
type ApiBody = { id: string; data: unknown[] };

async function api(base: string, method: string, path: string, body?: unknown): Promise<ApiBody> {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return (await r.json()) as ApiBody;
}

/** A trunk that notes when each INVITE arrives (by X-Outcall-Call-Id) and refuses it with 486. */
async function busyTrunk() {
  const sock = createSocket('udp4');
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, (t: number) => void>();
  sock.on('message', (buf, rinfo) => {
    const at = performance.now();
    const parsed = parseMessage(buf);
    if (!parsed.ok || parsed.value.kind !== 'request' || parsed.value.method !== 'INVITE') return;
    const req = parsed.value;
    const id = req.headers.get('X-Outcall-Call-Id') ?? '';
    if (!arrivals.has(id)) {
      arrivals.set(id, at);
      waiters.get(id)?.(at);
    }
    sock.send(serializeMessage(buildResponse(req, 486, { toTag: 'bench' })), rinfo.port, rinfo.address);
  });
  const port = await freeUdpPort();
  await new Promise<void>((r) => sock.bind(port, '127.0.0.1', r));
  return {
    port,
    arrival: (id: string) => new Promise<number>((resolve) => (arrivals.has(id) ? resolve(arrivals.get(id) as number) : waiters.set(id, resolve))),
    close: () => sock.close(),
  };
}

async function benchDriver(driver: string) {
  const { env, cleanup } = await freshStoreEnv(driver);
  const server = await startServe({ ...env, OUTCALL_API_KEY: KEY, OUTCALL_ALLOW_PRIVATE_URLS: 'true', OUTCALL_RTP_PORT_MIN: '40000', OUTCALL_RTP_PORT_MAX: '49998' });
  const trunk = await busyTrunk();
  try {
    // 1. Latency, one call at a time on an otherwise idle system.
    const t1 = await api(server.url, 'POST', '/v1/trunks', { name: 'busy', host: '127.0.0.1', port: trunk.port });
    const a1 = await api(server.url, 'POST', '/v1/agents', { name: 'lat', max_cps: 1000 });
    await api(server.url, 'POST', '/v1/phone-numbers', { number: '+14155550100', trunk_id: t1.id, outbound_agent_id: a1.id });
    const lat: number[] = [];
    const n = Number(values.latency);
    for (let i = 0; i < n + 10; i++) {
      const start = performance.now();
      const c = await api(server.url, 'POST', `/v1/agents/${a1.id}/outbound-calls`, { to: '+14155550123' });
      const at = await trunk.arrival(c.id);
      if (i >= 10) lat.push(at - start); // the first ten warm up JIT and pools
      await new Promise((r) => setTimeout(r, 20));
    }
    lat.sort((x, y) => x - y);

    // 2. Sustained: N calls answered by SIPp, hung up by us at once.
    const total = Number(values.sustained);
    const sipPort = await freeUdpPort();
    const sipp = await startSipp({ scenario: fileURLToPath(new URL('../test/fixtures/sipp/uas_answer_fast.xml', import.meta.url)), port: sipPort, calls: total, extraArgs: ['-timeout', '600s'] });
    const t2 = await api(server.url, 'POST', '/v1/trunks', { name: 'sipp', host: '127.0.0.1', port: sipPort });
    const a2 = await api(server.url, 'POST', '/v1/agents', { name: 'load', max_cps: 1000 });
    await api(server.url, 'POST', '/v1/phone-numbers', { number: '+14155550200', trunk_id: t2.id, outbound_agent_id: a2.id });
    const ids: string[] = [];
    const s0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < total) {
          next++;
          ids.push((await api(server.url, 'POST', `/v1/agents/${a2.id}/outbound-calls`, { to: '+14155550123' })).id);
        }
      }),
    );
    const createdS = (performance.now() - s0) / 1000;
    for (;;) {
      const page = await api(server.url, 'GET', `/v1/agents/${a2.id}/outbound-calls?status=completed&limit=1`);
      const open = await Promise.all(['queued', 'dispatching', 'dialing', 'in_progress'].map((s) => api(server.url, 'GET', `/v1/agents/${a2.id}/outbound-calls?status=${s}&limit=1`)));
      if (page.data.length > 0 && open.every((o) => o.data.length === 0)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const elapsedS = (performance.now() - s0) / 1000;
    await sipp.stop();
    return { driver, p50: pct(lat, 50), p99: pct(lat, 99), max: lat.at(-1) ?? NaN, total, createdS, elapsedS };
  } finally {
    trunk.close();
    server.child.kill('SIGTERM');
    await waitExit(server.child);
    await cleanup();
  }
}

const rows = [];
for (const d of String(values.drivers).split(',')) rows.push(await benchDriver(d));
console.log(`\ncreate -> INVITE on the wire (idle system, ${values.latency} calls one at a time)\n`);
console.log('| store | p50 ms | p99 ms | max ms |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.driver} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`);
console.log(`\nsustained: ${values.sustained} calls created by 16 clients, answered by SIPp, hung up by us\n`);
console.log('| store | calls | created in s | all ended in s | calls/s end to end |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.driver} | ${r.total} | ${r.createdS.toFixed(1)} | ${r.elapsedS.toFixed(1)} | ${(r.total / r.elapsedS).toFixed(0)} |`);
