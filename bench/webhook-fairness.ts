// Command: node --import tsx bench/webhook-fairness.ts [--slow 2000] [--slow-ms 900] [--hanging 500] [--fast 2000]
//          [--per-endpoint 16] [--concurrency 128] [--timeout-ms 10000]
//          (OUTCALL_TEST_DRIVER=postgres for PostgreSQL at 127.0.0.1:5432; PGlite otherwise)
//
// Webhook delivery with bad receivers (issue 18), through the real deliverer, store and HTTP:
// organization A's receiver answers after --slow-ms, B's never answers (every attempt runs into the
// timeout and is retried with backoff), and C's answers at once. A's and B's backlogs are due first
// (served in due order alone, C would wait behind them); C's events then keep arriving at 200 per
// second, as results of live calls would. Measured: C's delivery latency (due -> 2xx received,
// p50/p99/max), how long A's backlog takes to drain against its floor (slow / per-endpoint *
// slow-ms), the most attempts in flight per receiver, and that every A and C delivery arrived exactly
// once.
import { sql } from '../src/store/sql.js';
import { WebhookDeliverer } from '../src/webhooks/deliverer.js';
import { startTestApp } from '../test/helpers/test-app.js';
import { WebhookReceiver } from '../test/helpers/webhook-receiver.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const SLOW = arg('slow', 2000);
const SLOW_MS = arg('slow-ms', 900);
const HANGING = arg('hanging', 500);
const FAST = arg('fast', 2000);
const PER_ENDPOINT = arg('per-endpoint', 16);
const CONCURRENCY = arg('concurrency', 128);
const TIMEOUT_MS = arg('timeout-ms', 10_000);
const FAST_PER_S = 200;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const t = await startTestApp({ allowPrivateUrls: true });
const slow = await new WebhookReceiver().otherwise({ status: 200, delayMs: SLOW_MS }).start();
const hanging = await new WebhookReceiver().otherwise('hang').start();
const fast = await new WebhookReceiver().start();
const orgB = await t.newOrg('org B');
const orgC = await t.newOrg('org C');

async function enqueue(orgId: string, tag: string, url: string, from: number, n: number, dueAt: Date): Promise<void> {
  await t.db.query(sql`insert into webhook_events (id, org_id, type, body)
    select 'evt_' || ${tag} || '_' || g, ${orgId}, 'call.result', '{"type":"call.result","data":{"n":' || g || '}}'
    from generate_series(${from}::int, ${from + n - 1}::int) g`);
  await t.db.query(sql`insert into webhook_deliveries (id, org_id, event_id, url, method, status, next_attempt_at, created_at)
    select 'whd_' || ${tag} || '_' || g, ${orgId}, 'evt_' || ${tag} || '_' || g, ${url}, 'POST', 'pending', ${dueAt}, ${dueAt}
    from generate_series(${from}::int, ${from + n - 1}::int) g`);
}

const t0 = Date.now();
await enqueue(t.org.id, 'slow', slow.url(), 1, SLOW, new Date(t0 - 1000));
await enqueue(orgB.id, 'hang', hanging.url(), 1, HANGING, new Date(t0 - 1000));
const deliverer = new WebhookDeliverer(t.ctx, { timeoutMs: TIMEOUT_MS, concurrency: CONCURRENCY, perEndpoint: PER_ENDPOINT });
await deliverer.start();

// C's events arrive at FAST_PER_S while A and B are backed up; each is due when it is written, and
// the deliverer is woken as the outbox's NOTIFY would wake it.
const arrived = new Map<string, number>();
let seen = 0;
const watch = setInterval(() => {
  for (; seen < fast.received.length; seen++) arrived.set(String(fast.received[seen]?.headers['webhook-id']), Date.now());
}, 2);
const dueAt = new Map<string, number>();
for (let sent = 0; sent < FAST; ) {
  const n = Math.min(FAST_PER_S / 10, FAST - sent);
  const at = Date.now();
  await enqueue(orgC.id, 'fast', fast.url(), sent + 1, n, new Date(at));
  for (let k = 1; k <= n; k++) dueAt.set(`evt_fast_${sent + k}`, at);
  deliverer.wake();
  sent += n;
  await sleep(100);
}
while (fast.received.length < FAST) await sleep(20);
await sleep(20);
clearInterval(watch);
const fastLatency = [...arrived].map(([id, at]) => at - (dueAt.get(id) ?? at));
const fastDoneS = (Date.now() - t0) / 1000;
const slowAtFastDone = slow.received.length;
while (slow.received.length < SLOW || slow.inFlight > 0) await sleep(100);
const slowDoneS = (Date.now() - t0) / 1000;
const hangingAttempts = hanging.received.length;
await deliverer.stop();
const counts = await t.db.query<{ org_id: string; status: string; n: string | number }>(sql`select org_id, status, count(*) as n from webhook_deliveries group by org_id, status`);
const delivered = (org: string) => Number(counts.rows.find((r) => r.org_id === org && r.status === 'delivered')?.n ?? 0);

console.log(`\nwebhook delivery with bad receivers; ${process.env.OUTCALL_TEST_DRIVER ?? 'pglite'}; node ${process.version}`);
console.log(`per-endpoint ${PER_ENDPOINT}, concurrency ${CONCURRENCY}, attempt timeout ${TIMEOUT_MS} ms`);
console.log('| receiver | deliveries | answers | most in flight | sent (distinct) | delivered |');
console.log('|---|---:|---|---:|---:|---:|');
console.log(`| A slow | ${SLOW} | after ${SLOW_MS} ms | ${slow.peakInFlight} | ${slow.received.length} (${new Set(slow.received.map((r) => r.headers['webhook-id'])).size}) | ${delivered(t.org.id)} |`);
console.log(`| B hanging | ${HANGING} | never | ${hanging.peakInFlight} | ${hangingAttempts} attempts | ${delivered(orgB.id)} |`);
console.log(`| C fast | ${FAST} (${FAST_PER_S}/s) | at once | ${fast.peakInFlight} | ${fast.received.length} (${new Set(fast.received.map((r) => r.headers['webhook-id'])).size}) | ${delivered(orgC.id)} |`);
console.log(`- C's latency, due -> received: p50 ${pct(fastLatency, 50)} ms, p99 ${pct(fastLatency, 99)} ms, max ${Math.max(...fastLatency)} ms; all of C in by ${fastDoneS.toFixed(1)} s, when A had ${slowAtFastDone} of ${SLOW}`);
console.log(`- A drained in ${slowDoneS.toFixed(1)} s (floor ${((SLOW / PER_ENDPOINT) * SLOW_MS / 1000).toFixed(1)} s = ${SLOW} / ${PER_ENDPOINT} x ${SLOW_MS} ms)`);
await Promise.all([slow.stop(), hanging.stop(), fast.stop()]);
await t.close();
