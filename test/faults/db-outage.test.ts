/**
 * PostgreSQL goes away under load (issue 18): `outcall serve` on DATABASE_URL through a TCP relay that
 * resets every connection and refuses new ones for a while (a database restart, then an outage), with
 * calls live (greetings playing to SIPp) and more queued. Live calls keep talking (media never waits on
 * the store), the API answers 503 `unavailable` meanwhile, and once the database is back without a
 * restart of Outcall every call reaches its final status, none dialed twice, each with one call.result.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startServe, waitExit } from '../helpers/cli.js';
import { httpApi } from '../helpers/http-api.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freeUdpPort, invitesReceived, startSipp, type SippProcess } from '../helpers/sipp.js';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';
import { adminUrl, createScratchDatabase, postgresUnavailable } from '../helpers/test-db.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const why = (toolAvailable('sipp') ? undefined : 'sipp is not installed (scripts/setup-test-env.sh)') ?? (await postgresUnavailable());
if (why && process.env.CI === 'true') throw new Error(`the database outage test cannot run: ${why}`);

const CALLS = 24;
const API_KEY = `oc_fault_${randomBytes(12).toString('hex')}`;
/** Long enough that calls are still talking when the database goes. */
const GREETING = 'Hello, this is a reminder from the clinic about your visit on Tuesday morning at nine. Please arrive ten minutes early and bring your insurance card. Goodbye.';

let db: { url: string; drop: () => Promise<void> };
let relay: TcpRelay;
let hooks: WebhookReceiver;
let serve: Awaited<ReturnType<typeof startServe>> | undefined;
let sipp: SippProcess | undefined;

before(async () => {
  if (why) return;
  db = await createScratchDatabase();
  const target = new URL(adminUrl());
  relay = await startTcpRelay({ listenHost: '127.0.0.1', targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  hooks = await new WebhookReceiver().start();
});

after(async () => {
  if (why) return;
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGKILL');
    await waitExit(serve.child);
  }
  await sipp?.stop();
  await hooks.stop();
  await relay.close();
  await db.drop();
});

test('the database restarts, then is unreachable for 15 s, with calls live and queued: calls keep talking, the API says 503, every call ends once with one result', { skip: why ?? false, timeout: 300_000 }, async (tc) => {
  const url = new URL(db.url);
  url.hostname = relay.host;
  url.port = String(relay.port);
  serve = await startServe({
    DATABASE_URL: url.toString(),
    OUTCALL_API_KEY: API_KEY,
    OUTCALL_SECRET_KEY: randomBytes(32).toString('hex'),
    OUTCALL_ALLOW_PRIVATE_URLS: 'true',
    OUTCALL_RTP_PORT_MIN: '49300',
    OUTCALL_RTP_PORT_MAX: '49498',
    OUTCALL_DISPATCH_POLL_MS: '100',
    OUTCALL_LEASE_MS: '10000',
  });
  const s = serve;
  const req = httpApi(s.url, API_KEY, () => `outcall serve ${s.child.exitCode === null ? 'runs' : `exited ${s.child.exitCode}`}:\n${s.output().slice(-4000)}`);
  const port = await freeUdpPort();
  sipp = await startSipp({ scenario: fileURLToPath(new URL('../fixtures/sipp/uas_answer_fast.xml', import.meta.url)), port, calls: CALLS });
  const trunk = await req('POST', '/v1/trunks', { name: 'carrier', host: '127.0.0.1', port });
  const agent = await req('POST', '/v1/agents', { name: 'reminder', greeting: GREETING, max_cps: 4, webhook_url: hooks.url('/result') });
  assert.equal(agent.status, 201, JSON.stringify(agent.body));
  await req('POST', '/v1/phone-numbers', { number: '+16285550400', trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  const ids: string[] = [];
  for (let i = 0; i < CALLS; i++) {
    const r = await req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: `+1415555${2000 + i}` });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    ids.push(r.body.id as string);
  }
  // At 4 calls per second, after ~2.5 s some calls talk and the rest wait in the queue.
  await waitFor('calls to be talking', async () => {
    const r = await req('GET', '/v1/calls?status=in_progress&limit=100');
    return (r.body.data?.length ?? 0) >= 6 ? true : undefined;
  }, 30_000);

  // A restart: every connection is reset at once; the database is back a moment later.
  relay.cut();
  await new Promise((r) => setTimeout(r, 1500));
  relay.restore();
  await new Promise((r) => setTimeout(r, 1500));
  // Then an outage: unreachable for 15 s.
  relay.cut();
  const outageFrom = Date.now();
  const during = await req('GET', `/v1/calls/${ids[0]}`);
  assert.deepEqual([during.status, during.body.error?.code], [503, 'unavailable'], JSON.stringify(during.body));
  const health = await fetch(`${s.url}/healthz`);
  assert.equal(health.status, 503);
  await new Promise((r) => setTimeout(r, 15_000));
  assert.equal(s.child.exitCode, null, `outcall serve is still running:\n${s.output().slice(-3000)}`);
  relay.restore();
  const outageTo = Date.now();

  const ended = await waitFor('every call to end', async () => {
    const got = await Promise.all(ids.map(async (id) => (await req('GET', `/v1/calls/${id}`)).body));
    return got.every((c) => ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(c.status)) ? got : undefined;
  }, 120_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${s.output().slice(-4000)}`);
  });
  const tally = new Map<string, number>();
  for (const c of ended) tally.set(`${c.status}/${c.end_reason}`, (tally.get(`${c.status}/${c.end_reason}`) ?? 0) + 1);
  tc.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(tally))}`);
  // The calls that were talking finished their greeting; the queued ones were dialed after the outage.
  assert.deepEqual([...tally.keys()], ['completed/agent_hangup'], JSON.stringify(Object.fromEntries(tally)));
  // Calls that were talking when the store went away ended during the outage (their greeting played
  // on) and are recorded with that time; queued calls were dialed once it was back.
  const at = (v: string | null) => (v ? Date.parse(v) : NaN);
  const endedInOutage = ended.filter((c) => at(c.ended_at) > outageFrom && at(c.ended_at) < outageTo);
  const dialedAfter = ended.filter((c) => at(c.dispatched_at) > outageTo);
  tc.diagnostic(`${endedInOutage.length} calls ended while the store was unreachable, ${dialedAfter.length} were dispatched after it came back`);
  assert.ok(endedInOutage.length > 0, 'some calls talked through the outage and ended in it');
  assert.ok(dialedAfter.length > 0, 'queued calls were dialed after the outage');

  // None dialed twice.
  await waitFor('SIPp to finish', async () => ((await sipp?.exited) !== undefined ? true : undefined), 30_000);
  const invites = invitesReceived(sipp);
  const perCall = new Map<string, Set<string>>();
  for (const x of invites) perCall.set(x.callId, (perCall.get(x.callId) ?? new Set()).add(x.sipCallId));
  assert.deepEqual([...perCall.keys()].sort(), [...ids].sort(), 'every call dialed');
  assert.ok([...perCall.values()].every((d) => d.size === 1), 'one SIP dialog per call');

  // One call.result per call.
  await waitFor('a result for every call', () => {
    const results = hooks.received.filter((h) => h.url === '/result' && JSON.parse(h.body).type === 'call.result');
    return new Set(results.map((h) => JSON.parse(h.body).data.call_id)).size === CALLS ? true : undefined;
  }, 60_000).catch(async (err: Error) => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const rows = (await c.query(`select d.status, d.attempts, d.next_attempt_at, d.locked_until, d.last_error, e.call_id from webhook_deliveries d join webhook_events e on e.id = d.event_id where e.type = 'call.result'`)).rows;
    await c.end();
    throw new Error(`${err.message}: ${hooks.received.length} received; deliveries ${JSON.stringify(rows).slice(0, 3000)}\n${s.output().slice(-3000)}`);
  });
  const results = hooks.received.filter((h) => h.url === '/result' && JSON.parse(h.body).type === 'call.result').map((h) => JSON.parse(h.body).data.call_id as string);
  assert.equal(results.length, CALLS, 'exactly one call.result each');
  assert.ok(relay.accepted() > 2, 'the store reconnected after the outage');
});
