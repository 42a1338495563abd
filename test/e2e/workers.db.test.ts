/**
 * Several worker processes on one PostgreSQL, calling SIPp: no call dialed twice, CPS limits held
 * at the peer, and a worker killed with SIGKILL mid-call leaves its calls failed/worker_lost (one
 * result webhook each) while the survivor takes over the queued calls. PostgreSQL only: the
 * embedded store serves one process by design.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/open.js';
import { sql } from '../../src/store/sql.js';
import { freeUdpPort, invitesReceived, startSipp, type SippProcess } from '../helpers/sipp.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createScratchDatabase, testDriver } from '../helpers/test-db.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startWorker, type WorkerProcess } from '../helpers/worker-process.js';

const skip =
  testDriver() !== 'postgres'
    ? 'several worker processes need PostgreSQL (the embedded store is single-process by design)'
    : toolAvailable('sipp') && toolAvailable('espeak-ng')
      ? false
      : 'sipp or espeak-ng is not installed';
const fixture = (dir: string, name: string) => fileURLToPath(new URL(`../fixtures/${dir}/${name}`, import.meta.url));
const SECRET = randomBytes(32);
const TOTAL = Number(process.env.OUTCALL_TEST_LOAD_CALLS ?? 2000);

let t: TestApp;
let dbUrl: string;
let drop: () => Promise<void>;
let receiver: WebhookReceiver;
const workers: WorkerProcess[] = [];
let sipp: SippProcess | undefined;

before(async () => {
  if (skip) return;
  const scratch = await createScratchDatabase();
  dbUrl = scratch.url;
  drop = scratch.drop;
  t = await startTestApp({ db: await openStore({ driver: 'postgres', url: dbUrl, poolSize: 8 }), secretKey: SECRET, allowPrivateUrls: true });
  receiver = await new WebhookReceiver().start();
});
after(async () => {
  if (skip) return;
  await receiver.stop();
  await t.close();
  await drop();
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(true);
  await sipp?.stop();
  sipp = undefined;
});

function worker(n: number) {
  return startWorker({
    DATABASE_URL: dbUrl,
    OUTCALL_SECRET_KEY: SECRET.toString('hex'),
    OUTCALL_ALLOW_PRIVATE_URLS: 'true',
    OUTCALL_RTP_PORT_MIN: String(32000 + n * 2000),
    OUTCALL_RTP_PORT_MAX: String(33998 + n * 2000),
    OUTCALL_LEASE_MS: '3000',
    OUTCALL_DISPATCH_POLL_MS: '200',
  }).then((w) => {
    workers.push(w);
    return w;
  });
}

/** Most INVITEs seen in any 1-second window. */
function maxPerSecond(times: number[]): number {
  const s = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while ((s[i] as number) - (s[j] as number) >= 1000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('worker processes on PostgreSQL', { skip }, () => {
  test('two workers, 2,000 queued calls: each dialed exactly once, all end, CPS limits hold at the peer', async (ctx) => {
    const port = await freeUdpPort();
    // Limits low enough that a loaded 2-core CI machine still reaches them (it has peaked at 44 INVITEs/s):
    // the trunk (30/s) binds the whole run and agent 0 (6/s, 15 % of the calls) binds its own share.
    const TRUNK_CPS = 30;
    const AGENT_CPS = [6, 50, 50, 50];
    const trunk = await t.org.req('POST', '/v1/trunks', { name: 'load', host: '127.0.0.1', port, max_cps: TRUNK_CPS });
    const agents: Array<{ id: string; number: string; cps: number }> = [];
    for (let i = 0; i < 4; i++) {
      const a = await t.org.req('POST', '/v1/agents', { name: `load-${i}`, max_cps: AGENT_CPS[i] });
      const number = `+1415777000${i}`;
      await t.org.req('POST', '/v1/phone-numbers', { number, trunk_id: trunk.body.id, outbound_agent_id: a.body.id });
      agents.push({ id: a.body.id, number, cps: AGENT_CPS[i]! });
    }
    // Queue everything before any worker runs, so both start on a full queue.
    const ids: string[] = [];
    for (let i = 0; i < TOTAL; i++) {
      // 3 calls in 20 to agent 0 (300 at 6/s: about 50 s), the rest round-robin over agents 1-3.
      const a = i % 20 < 3 ? agents[0]! : agents[1 + (i % 3)]!;
      const r = await t.org.req('POST', `/v1/agents/${a.id}/outbound-calls`, { to: `+1650555${String(i).padStart(4, '0')}` });
      assert.equal(r.status, 202);
      ids.push(r.body.id);
    }
    // SIPp's own run timeout counts from its start: start it once the queue is full.
    sipp = await startSipp({ scenario: fixture('sipp', 'uas_answer_fast.xml'), port, calls: TOTAL, extraArgs: ['-timeout', '300s'] });
    await Promise.all([worker(0), worker(1)]);
    await waitFor('every call to end', async () => {
      const r = await t.db.query<{ n: number }>(sql`select count(*)::int as n from calls where status not in ('completed','no_answer','busy','failed','canceled') and id = any(${ids})`);
      return Number(r.rows[0]?.n) === 0 ? true : undefined;
    }, 180_000).catch(async (err: Error) => {
      const r = await t.db.query<{ status: string; n: number }>(sql`select status, count(*)::int as n from calls where id = any(${ids}) group by status`);
      throw new Error(`${err.message}: ${JSON.stringify(r.rows)}\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
    });
    const byStatus = await t.db.query<{ status: string; n: number }>(sql`select status, count(*)::int as n from calls where id = any(${ids}) group by status`);
    assert.deepEqual(byStatus.rows.map((r) => [r.status, Number(r.n)]), [['completed', TOTAL]]);
    const byWorker = await t.db.query<{ n: number }>(sql`select count(distinct data->>'worker_id')::int as n from call_events where to_status = 'dialing' and call_id = any(${ids})`);
    assert.equal(Number(byWorker.rows[0]?.n), 2, 'both workers placed calls');

    const invites = invitesReceived(sipp);
    const perCall = new Map<string, Set<string>>();
    for (const inv of invites) perCall.set(inv.callId, (perCall.get(inv.callId) ?? new Set()).add(inv.sipCallId));
    assert.equal(perCall.size, TOTAL, 'every call reached the peer');
    assert.deepEqual([...perCall.keys()].sort(), [...ids].sort());
    for (const [id, dialogs] of perCall) assert.equal(dialogs.size, 1, `call ${id} was dialed ${dialogs.size} times`);
    // Distinct INVITEs (retransmissions share a Call-ID and are counted once, at their first sighting).
    const first = new Map<string, { at: number; from: string }>();
    for (const inv of invites) if (!first.has(inv.sipCallId)) first.set(inv.sipCallId, inv);
    const starts = [...first.values()];
    // Calls are paced 1/cps apart; the peer may see up to ~1/3 s of them bunched by a busy event loop.
    const allowed = (cps: number) => Math.ceil(cps * 1.1) + 2;
    const agentPeaks = agents.map((a) => maxPerSecond(starts.filter((s) => `+${s.from.replace(/^\+/, '')}` === a.number).map((s) => s.at)));
    const trunkPeak = maxPerSecond(starts.map((s) => s.at));
    ctx.diagnostic(`peak INVITEs per second at the peer: trunk ${trunkPeak} (limit ${TRUNK_CPS}), agents ${agentPeaks.join(', ')} (limits ${AGENT_CPS.join(', ')})`);
    agents.forEach((a, i) => assert.ok(agentPeaks[i]! <= allowed(a.cps), `agent ${a.number}: ${agentPeaks[i]} INVITEs in one second, limit ${a.cps}`));
    assert.ok(trunkPeak <= allowed(TRUNK_CPS), `trunk: ${trunkPeak} INVITEs in one second, limit ${TRUNK_CPS}`);
    // Both limits were actually reached, not merely respected by a slow run.
    assert.ok(trunkPeak >= TRUNK_CPS * 0.8, `the trunk limit was exercised (${trunkPeak}/s)`);
    assert.ok(agentPeaks[0]! >= AGENT_CPS[0]! - 1, `agent 0's limit was exercised (${agentPeaks[0]}/s)`);
  });

  test('kill -9 of a worker mid-call: its calls end failed/worker_lost with one result webhook each; the survivor takes the queue', async () => {
    const port = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('sipp', 'uas_answer.xml'), port, calls: 100 });
    const trunk = await t.org.req('POST', '/v1/trunks', { name: 'kill', host: '127.0.0.1', port });
    const talker = await t.org.req('POST', '/v1/agents', { name: 'talker', greeting: 'This message keeps going for a long while. '.repeat(40), max_cps: 20 });
    const quick = await t.org.req('POST', '/v1/agents', { name: 'quick', greeting: 'Hi.', max_cps: 20 });
    await t.org.req('POST', '/v1/phone-numbers', { number: '+14157770100', trunk_id: trunk.body.id, outbound_agent_id: talker.body.id });
    await t.org.req('POST', '/v1/phone-numbers', { number: '+14157770101', trunk_id: trunk.body.id, outbound_agent_id: quick.body.id });
    const doomed = await worker(2);
    const talking: string[] = [];
    for (let i = 0; i < 4; i++) {
      talking.push((await t.org.req('POST', `/v1/agents/${talker.body.id}/outbound-calls`, { to: `+1650666000${i}`, callback_url: receiver.url('/kill') })).body.id);
    }
    await waitFor('calls in progress on the first worker', async () => {
      const r = await t.db.query<{ n: number }>(sql`select count(*)::int as n from calls where id = any(${talking}) and status = 'in_progress' and worker_id = ${doomed.workerId}`);
      return Number(r.rows[0]?.n) === 4 ? true : undefined;
    }, 30_000);
    const survivor = await worker(3);
    const later = new Date(Date.now() + 4000).toISOString();
    const queued: string[] = [];
    for (let i = 0; i < 3; i++) {
      queued.push((await t.org.req('POST', `/v1/agents/${quick.body.id}/outbound-calls`, { to: `+1650666100${i}`, scheduled_at: later, callback_url: receiver.url('/kill') })).body.id);
    }
    await doomed.stop(true);
    await waitFor('every call to end', async () => {
      const r = await t.db.query<{ n: number }>(sql`select count(*)::int as n from calls where id = any(${[...talking, ...queued]}) and ended_at is null`);
      return Number(r.rows[0]?.n) === 0 ? true : undefined;
    }, 60_000);
    for (const id of talking) {
      const c = (await t.org.req('GET', `/v1/calls/${id}`)).body;
      assert.deepEqual([c.status, c.end_reason], ['failed', 'worker_lost'], id);
    }
    for (const id of queued) {
      const c = (await t.org.req('GET', `/v1/calls/${id}`)).body;
      assert.equal(c.status, 'completed', id);
      const dialer = await t.db.query<{ w: string }>(sql`select data->>'worker_id' as w from call_events where call_id = ${id} and to_status = 'dialing'`);
      assert.deepEqual(dialer.rows.map((r) => r.w), [survivor.workerId]);
    }
    const results = await waitFor('result webhooks', async () => {
      const got = receiver.received.filter((r) => r.url === '/kill');
      return got.length >= 7 ? got : undefined;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    const perCall = new Map<string, number>();
    for (const r of receiver.received.filter((x) => x.url === '/kill')) {
      const id = JSON.parse(r.body).data.call_id as string;
      perCall.set(id, (perCall.get(id) ?? 0) + 1);
    }
    assert.equal(results.length >= 7, true);
    for (const id of [...talking, ...queued]) assert.equal(perCall.get(id), 1, `one result webhook for ${id}`);
  });
});
