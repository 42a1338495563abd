/**
 * Dispatcher latency and throughput on each store.
 *
 *   node --import tsx bench/dispatch-latency.ts [--calls 300] [--backlog 2000] [--agents 50] [--drivers pglite,postgres]
 *
 * 1. create -> dial latency: a running Dispatcher (poll interval 1 s, so only NOTIFY can make it
 *    fast) and one call created at a time through createOutboundCall (the API's own path); the time
 *    from calling create to dialer.dial() being invoked, p50/p99/max. Calls rotate over the agents
 *    (max_cps 1000) so no CPS wait is measured. Also shown: from create's return (commit) to dial,
 *    the dispatcher's own share. Idle system assumed: check `uptime` first.
 * 2. sustained claims/s: a backlog of queued calls over many agents, drained by one Dispatcher
 *    (batch 50); claims per second from start until the last dial.
 * PostgreSQL uses a scratch database from OUTCALL_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
 */
import { parseArgs } from 'node:util';
import { createOutboundCall } from '../src/calls/create-call.js';
import { Dispatcher } from '../src/dispatch/dispatcher.js';
import type { ClaimedCall, Dialer } from '../src/dispatch/types.js';
import type { Database } from '../src/store/db.js';
import { openStore } from '../src/store/open.js';
import { createOrganization } from '../src/store/orgs.js';
import { addAgent, contextFor, queueCalls } from '../test/dispatch/helpers.js';
import { createScratchDatabase } from '../test/helpers/test-db.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '300' },
    backlog: { type: 'string', default: '2000' },
    agents: { type: 'string', default: '50' },
    drivers: { type: 'string', default: 'pglite,postgres' },
  },
});
const CALLS = Number(values.calls);
const BACKLOG = Number(values.backlog);
const AGENTS = Number(values.agents);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Resolves a waiter when a given call is dialed. */
class TimingDialer implements Dialer {
  readonly dialedAt = new Map<string, number>();
  #waiting = new Map<string, () => void>();
  #countWaiter: { n: number; resolve: () => void } | undefined;

  async dial(call: ClaimedCall): Promise<void> {
    this.dialedAt.set(call.id, performance.now());
    this.#waiting.get(call.id)?.();
    this.#waiting.delete(call.id);
    if (this.#countWaiter && this.dialedAt.size >= this.#countWaiter.n) this.#countWaiter.resolve();
  }

  waitFor(id: string): Promise<void> {
    if (this.dialedAt.has(id)) return Promise.resolve();
    return new Promise((r) => this.#waiting.set(id, r));
  }

  waitForCount(n: number): Promise<void> {
    if (this.dialedAt.size >= n) return Promise.resolve();
    return new Promise((resolve) => (this.#countWaiter = { n, resolve }));
  }
}

const quiet = { info: () => undefined, warn: () => undefined, error: (o: object, m: string) => console.error(m, o) };

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function bench(db: Database) {
  const ctx = contextFor(db, () => new Date());
  const orgId = await createOrganization(db, 'bench');
  const agents: string[] = [];
  for (let i = 0; i < AGENTS; i++) agents.push((await addAgent(ctx, orgId, { maxCps: 1000 })).agentId);

  // 1. Latency, one call at a time.
  const dialer = new TimingDialer();
  const d = new Dispatcher({ db, workerId: 'bench-latency', dialer, pollIntervalMs: 1000, batchSize: 10, logger: quiet });
  await d.start();
  const lat: number[] = [];
  const wake: number[] = [];
  try {
    for (let i = 0; i < CALLS; i++) {
      const agentId = agents[i % agents.length] as string;
      const t0 = performance.now();
      const r = await createOutboundCall(ctx, orgId, agentId, { to: '+14155550123' }, undefined);
      const committed = performance.now();
      await withTimeout(dialer.waitFor(r.call.id), 5000, `call ${i}`);
      const at = dialer.dialedAt.get(r.call.id) as number;
      lat.push(at - t0);
      wake.push(at - committed);
      await new Promise((res) => setTimeout(res, 5)); // let the loop go idle between calls
    }
  } finally {
    await d.stop();
  }
  lat.sort((a, b) => a - b);
  wake.sort((a, b) => a - b);

  // 2. Sustained claims from a backlog.
  const per = Math.ceil(BACKLOG / agents.length);
  for (const agentId of agents) await queueCalls(ctx, orgId, agentId, per);
  const total = per * agents.length;
  const drain = new TimingDialer();
  const d2 = new Dispatcher({ db, workerId: 'bench-drain', dialer: drain, pollIntervalMs: 1000, batchSize: 50, logger: quiet });
  const t0 = performance.now();
  await d2.start();
  try {
    await withTimeout(drain.waitForCount(total), 120_000, 'backlog');
  } finally {
    await d2.stop();
  }
  const secs = (performance.now() - t0) / 1000;
  return { p50: pct(lat, 50), p99: pct(lat, 99), max: lat.at(-1) ?? NaN, w50: pct(wake, 50), w99: pct(wake, 99), claimsPerS: total / secs, total };
}

const rows: string[] = [];
for (const driver of values.drivers.split(',')) {
  let db: Database;
  let drop: (() => Promise<void>) | undefined;
  if (driver === 'pglite') db = await openStore({ driver: 'pglite', dataDir: undefined });
  else {
    const scratch = await createScratchDatabase();
    drop = scratch.drop;
    db = await openStore({ driver: 'postgres', url: scratch.url, poolSize: 10 });
  }
  try {
    const r = await bench(db);
    rows.push(
      `| ${driver.padEnd(8)} | ${CALLS} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.w50.toFixed(1)} | ${r.w99.toFixed(1)} | ${r.total} | ${Math.round(r.claimsPerS)} |`,
    );
  } finally {
    await db.close();
    await drop?.();
  }
}
console.log(`\ncreate -> dial latency (ms; "commit ->" starts when create returned) and sustained claims/s (${AGENTS} agents, batch 50)`);
console.log('| store    | calls | p50 | p99 | max | commit -> dial p50 | p99 | backlog | claims/s |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
