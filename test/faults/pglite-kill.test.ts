/**
 * The embedded store survives a SIGKILL mid-write (issue 18): `outcall serve` on PGlite is killed
 * while calls are being created, dialed and ended (SIPp answers; greetings play), and started again
 * on the same data folder. The store opens with nothing lost (every call the API accepted is there),
 * the API answers at once, the reaper settles the calls that were live (failed / worker_lost: the
 * INVITE had left, so they are never dialed again), the queued ones are dialed after the restart,
 * no call is dialed twice, and each call has exactly one call.result event.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServe, waitExit } from '../helpers/cli.js';
import { httpApi } from '../helpers/http-api.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freeUdpPort, invitesReceived, startSipp, type SippProcess } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const why = toolAvailable('sipp') ? undefined : 'sipp is not installed (scripts/setup-test-env.sh)';
if (why && process.env.CI === 'true') throw new Error(`the PGlite kill test cannot run: ${why}`);

const FINAL = ['completed', 'failed', 'busy', 'no_answer', 'canceled'];
const API_KEY = `oc_fault_${randomBytes(12).toString('hex')}`;
const GREETING = 'Hello, this is a reminder from the clinic about your visit on Tuesday morning at nine. Please arrive ten minutes early and bring your insurance card. Goodbye.';

let dataDir: string;
let hooks: WebhookReceiver;
let serve: Awaited<ReturnType<typeof startServe>> | undefined;
let sipp: SippProcess | undefined;

before(async () => {
  if (why) return;
  dataDir = mkdtempSync(join(tmpdir(), 'outcall-pglite-kill-'));
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
  rmSync(dataDir, { recursive: true, force: true });
});

const env = () => ({
  OUTCALL_DATA_DIR: join(dataDir, 'data'),
  OUTCALL_API_KEY: API_KEY,
  OUTCALL_SECRET_KEY: SECRET,
  OUTCALL_ALLOW_PRIVATE_URLS: 'true',
  OUTCALL_RTP_PORT_MIN: '49700',
  OUTCALL_RTP_PORT_MAX: '49798',
  OUTCALL_DISPATCH_POLL_MS: '100',
  // The killed process's calls are reaped once their leases run out: short, so the test is too.
  OUTCALL_LEASE_MS: '4000',
});
const SECRET = randomBytes(32).toString('hex');

test('SIGKILL of outcall serve on PGlite mid-write: the next start recovers the store, settles the live calls, dials the queued ones, once each', { skip: why ?? false, timeout: 300_000 }, async (tc) => {
  serve = await startServe(env());
  let s = serve;
  let req = httpApi(s.url, API_KEY, () => s.output().slice(-4000));
  const port = await freeUdpPort();
  sipp = await startSipp({ scenario: fileURLToPath(new URL('../fixtures/sipp/uas_answer_fast.xml', import.meta.url)), port, calls: 1000 });
  const trunk = await req('POST', '/v1/trunks', { name: 'carrier', host: '127.0.0.1', port });
  const agent = await req('POST', '/v1/agents', { name: 'reminder', greeting: GREETING, max_cps: 3, webhook_url: hooks.url('/result') });
  assert.equal(agent.status, 201, JSON.stringify(agent.body));
  await req('POST', '/v1/phone-numbers', { number: '+16285550500', trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });

  // Calls are created one after another until the process dies: it is killed while it writes them
  // (and while the dispatcher claims, the calls ring, talk and end, and their webhooks are written).
  const accepted: string[] = [];
  let n = 0;
  // A first batch, so that calls wait in the queue (3 per second) when the process dies.
  for (; n < 16; n++) {
    const r = await req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: `+1415555${3000 + n}` });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    accepted.push(r.body.id as string);
  }
  const creating = (async () => {
    for (;;) {
      const r = await fetch(`${s.url}/v1/agents/${agent.body.id}/outbound-calls`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: `+1415555${3000 + n++}` }),
      }).catch(() => undefined);
      if (!r) return; // the process is gone
      if (r.status === 202) accepted.push(((await r.json()) as { id: string }).id);
      await new Promise((res) => setTimeout(res, 150));
    }
  })();
  await waitFor('calls to be talking', async () => {
    const r = await req('GET', '/v1/calls?status=in_progress&limit=100');
    return (r.body.data?.length ?? 0) >= 4 ? true : undefined;
  }, 30_000);
  s.child.kill('SIGKILL');
  await waitExit(s.child);
  await creating;
  const killedAt = Date.now();
  tc.diagnostic(`killed with ${accepted.length} calls accepted`);
  assert.ok(accepted.length > 16, `${accepted.length} calls accepted before the kill`);

  // The same data folder: PGlite recovers from its write-ahead log.
  serve = await startServe(env());
  s = serve;
  req = httpApi(s.url, API_KEY, () => s.output().slice(-4000));
  const listed = await req('GET', '/v1/calls?limit=200');
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  const known = new Set((listed.body.data as Array<{ id: string }>).map((c) => c.id));
  assert.deepEqual(accepted.filter((id) => !known.has(id)), [], 'every call the API accepted (202) survived the kill');

  const ended = await waitFor('every call to end', async () => {
    const got = await Promise.all(accepted.map(async (id) => (await req('GET', `/v1/calls/${id}`)).body));
    return got.every((c) => FINAL.includes(c.status)) ? got : undefined;
  }, 120_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${s.output().slice(-4000)}`);
  });
  const tally = new Map<string, number>();
  for (const c of ended) tally.set(`${c.status}/${c.end_reason}`, (tally.get(`${c.status}/${c.end_reason}`) ?? 0) + 1);
  tc.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(tally))}`);
  const lost = ended.filter((c) => c.end_reason === 'worker_lost');
  assert.ok(lost.length >= 4, 'the calls talking at the kill were settled by the reaper (worker_lost)');
  assert.ok(lost.every((c) => c.status === 'failed'));
  assert.ok([...tally.keys()].every((k) => k === 'completed/agent_hangup' || k === 'failed/worker_lost'), JSON.stringify(Object.fromEntries(tally)));
  const dialedAfter = ended.filter((c) => c.status === 'completed' && Date.parse(c.dispatched_at) > killedAt);
  assert.ok(dialedAfter.length > 0, 'queued calls were dialed after the restart');

  // None dialed twice: one SIP dialog per call that reached the carrier.
  const perCall = new Map<string, Set<string>>();
  for (const x of invitesReceived(sipp)) perCall.set(x.callId, (perCall.get(x.callId) ?? new Set()).add(x.sipCallId));
  assert.ok([...perCall.values()].every((d) => d.size === 1), `one SIP dialog per call: ${JSON.stringify([...perCall].filter(([, d]) => d.size > 1).map(([id]) => id))}`);
  for (const c of ended) if (c.status === 'completed') assert.ok(perCall.has(c.id), `${c.id} completed, so it was dialed`);

  // One call.result event per call (a delivery in flight at the kill may come again: the same event, same webhook-id).
  const results = () => hooks.received.filter((h) => h.url === '/result' && JSON.parse(h.body).type === 'call.result');
  await waitFor('a result for every call', () => (new Set(results().map((h) => JSON.parse(h.body).data.call_id)).size === accepted.length ? true : undefined), 60_000);
  const events = new Map<string, Set<string>>();
  for (const h of results()) {
    const id = JSON.parse(h.body).data.call_id as string;
    events.set(id, (events.get(id) ?? new Set()).add(String(h.headers['webhook-id'])));
  }
  assert.ok([...events.values()].every((e) => e.size === 1), 'exactly one call.result event per call');
  tc.diagnostic(`${results().length} call.result deliveries for ${accepted.length} calls (a repeat is a delivery in flight at the kill)`);
});
