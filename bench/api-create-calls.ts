/**
 * Outbound-call creations per second through the real HTTP API, on each store.
 *
 *   node --import tsx bench/api-create-calls.ts [--sequential 500] [--concurrent 2000] [--clients 32] [--drivers pglite,postgres]
 *
 * Starts `outcall serve` as its own process (embedded PGlite in a temp folder, or PostgreSQL in a
 * scratch database from OUTCALL_TEST_DATABASE_URL), creates a trunk, number and agent, then times
 * POST /v1/agents/{id}/outbound-calls: one client in sequence, then N clients at once (keep-alive).
 */
import { parseArgs } from 'node:util';
import { startServe, waitExit } from '../test/helpers/cli.js';
import { freshStoreEnv } from './helpers/store-env.js';

const { values } = parseArgs({
  options: {
    sequential: { type: 'string', default: '500' },
    concurrent: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '32' },
    drivers: { type: 'string', default: 'pglite,postgres' },
  },
});
const KEY = 'bench-key-0123456789abcdef';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** POSTs a create; the bench reads only the new resource's id. */
async function post(base: string, path: string, body: unknown): Promise<{ status: number; json: { id: string } }> {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as { id: string } };
}

async function run(base: string, agentId: string, total: number, clients: number) {
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  const body = (i: number) => ({ to: `+1415555${String(i % 10000).padStart(4, '0')}`, metadata: { i, campaign: 'bench' }, call_context: 'Bench call.' });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const s = performance.now();
        const r = await post(base, `/v1/agents/${agentId}/outbound-calls`, body(i));
        lat.push(performance.now() - s);
        if (r.status !== 202) errors++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rate: total / secs, p50: pct(lat, 50), p99: pct(lat, 99), errors };
}

async function benchDriver(driver: string) {
  const { env, cleanup } = await freshStoreEnv(driver);
  // The bench spawns the server from source through tsx; NODE_ENV stays as the caller has it.
  const server = await startServe({ ...env, OUTCALL_API_KEY: KEY, OUTCALL_LOG_LEVEL: 'warn' });
  try {
    const trunk = await post(server.url, '/v1/trunks', { name: 'bench', host: 'sip.example.com' });
    const agent = await post(server.url, '/v1/agents', { name: 'bench' });
    await post(server.url, '/v1/phone-numbers', { number: '+14155550100', trunk_id: trunk.json.id, outbound_agent_id: agent.json.id });
    await run(server.url, agent.json.id, 100, 4); // warm-up: JIT, pools, caches
    const seq = await run(server.url, agent.json.id, Number(values.sequential), 1);
    const con = await run(server.url, agent.json.id, Number(values.concurrent), Number(values.clients));
    return { driver, seq, con };
  } finally {
    server.child.kill('SIGTERM');
    await waitExit(server.child);
    await cleanup();
  }
}

const rows = [];
for (const d of String(values.drivers).split(',')) rows.push(await benchDriver(d));
console.log(`\noutbound-call creations through HTTP (sequential: ${values.sequential} calls, 1 client; concurrent: ${values.concurrent} calls, ${values.clients} clients)\n`);
console.log('| store | mode | calls/s | p50 ms | p99 ms | errors |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  for (const [mode, m] of [['sequential', r.seq], [`${values.clients} concurrent`, r.con]] as const) {
    console.log(`| ${r.driver} | ${mode} | ${m.rate.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${m.errors} |`);
  }
}
