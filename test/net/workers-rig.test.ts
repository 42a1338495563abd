/**
 * A deployment on a LAN of network namespaces (test/helpers/netns.ts): an API node (`outcall api`)
 * and two `outcall worker` processes, each on its own host, share one PostgreSQL (this host's, through
 * a TCP relay on the LAN) and dial the carrier (SIPp, on a fourth host). Calls queued through the API
 * are each dialed exactly once, by both workers between them, and all complete. Skipped only where
 * namespaces cannot be made or PostgreSQL is not running, and says so; in CI that fails instead.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO } from '../helpers/cli.js';
import { httpApi } from '../helpers/http-api.js';
import { createLanRig, netnsUnavailable, type LanRig } from '../helpers/netns.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { invitesReceived, startSipp, type SippProcess } from '../helpers/sipp.js';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';
import { adminUrl, createScratchDatabase, postgresUnavailable } from '../helpers/test-db.js';
import { waitFor } from '../helpers/wait.js';
import { startWorker, type WorkerProcess } from '../helpers/worker-process.js';

const why = netnsUnavailable() ?? (toolAvailable('sipp') ? undefined : 'sipp is not installed (scripts/setup-test-env.sh)') ?? (await postgresUnavailable());
if (why && process.env.CI === 'true') throw new Error(`the workers rig cannot run: ${why}`);

const CALLS = 60;
const API_KEY = `oc_rig_${randomBytes(12).toString('hex')}`;
const SECRET = randomBytes(32).toString('hex');

let rig: LanRig;
let relay: TcpRelay;
let db: { url: string; drop: () => Promise<void> };
let api: ChildProcess | undefined;
let apiOut = '';
const workers: WorkerProcess[] = [];
let carrier: SippProcess | undefined;

before(async () => {
  if (why) return;
  rig = createLanRig(4);
  // PostgreSQL listens on this host's loopback only: a relay on the LAN address stands in for its network port.
  const target = new URL(adminUrl());
  relay = await startTcpRelay({ listenHost: rig.hostIp, targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  db = await createScratchDatabase();
}, { timeout: 30_000 });

after(async () => {
  if (why) return;
  for (const w of workers.splice(0)) await w.stop(true);
  if (api && api.exitCode === null) {
    api.kill('SIGKILL');
    await new Promise((r) => api?.once('exit', r));
  }
  await carrier?.stop();
  await relay.close();
  rig.teardown();
  await db.drop();
});

test('an API node and two workers on separate hosts share one PostgreSQL: every queued call dialed exactly once, by both workers, all completed', { skip: why ?? false, timeout: 240_000 }, async (tc) => {
  const [apiHost, w1, w2, carrierHost] = rig.hosts as [LanRig['hosts'][0], LanRig['hosts'][0], LanRig['hosts'][0], LanRig['hosts'][0]];
  const dbUrl = new URL(db.url);
  dbUrl.hostname = rig.hostIp;
  dbUrl.port = String(relay.port);
  const common = { DATABASE_URL: dbUrl.toString(), OUTCALL_SECRET_KEY: SECRET, OUTCALL_ALLOW_PRIVATE_URLS: 'true', OUTCALL_LOG_LEVEL: 'warn' };

  // The carrier: SIPp answers every call (the greeting plays, then our BYE).
  carrier = await startSipp({
    scenario: fileURLToPath(new URL('../fixtures/sipp/uas_answer_fast.xml', import.meta.url)),
    port: 5060,
    calls: CALLS,
    netns: carrierHost.ns,
    localIp: carrierHost.ip,
  });

  // The API node: it migrates the database and takes the requests; it never dials.
  api = spawn('ip', ['netns', 'exec', apiHost.ns, process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'api'], {
    cwd: REPO,
    env: { ...process.env, ...common, OUTCALL_HOST: apiHost.ip, OUTCALL_PORT: '8080', OUTCALL_API_KEY: API_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  api.stdout?.on('data', (d: Buffer) => (apiOut += d.toString()));
  api.stderr?.on('data', (d: Buffer) => (apiOut += d.toString()));
  await waitFor('the API node to listen', () => (/Outcall API is listening/.test(apiOut) ? true : undefined), 60_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${apiOut}`);
  });
  const base = `http://${apiHost.ip}:8080`;
  const req = httpApi(base, API_KEY, () => apiOut.slice(-3000));

  // Two workers, each on its own host; SIP and RTP on that host's address.
  for (const h of [w1, w2]) {
    workers.push(
      await startWorker({ ...common, OUTCALL_SIP_HOST: h.ip, OUTCALL_SIP_PORT: '5060', OUTCALL_RTP_PORT_MIN: '30000', OUTCALL_RTP_PORT_MAX: '30998', OUTCALL_LEASE_MS: '5000', OUTCALL_DISPATCH_POLL_MS: '100' }, h.ns),
    );
  }

  const trunk = await req('POST', '/v1/trunks', { name: 'carrier', host: carrierHost.ip, port: 5060 });
  assert.equal(trunk.status, 201, JSON.stringify(trunk.body));
  const agent = await req('POST', '/v1/agents', { name: 'rig', greeting: 'Hello from the rig. Goodbye.', max_cps: 20 });
  assert.equal(agent.status, 201, JSON.stringify(agent.body));
  assert.equal((await req('POST', '/v1/phone-numbers', { number: '+16285550300', trunk_id: trunk.body.id, outbound_agent_id: agent.body.id })).status, 201);
  const ids: string[] = [];
  for (let i = 0; i < CALLS; i++) {
    const r = await req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: `+1415555${String(1000 + i)}` });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    ids.push(r.body.id as string);
  }

  // Every call ends, completed.
  const statuses = await waitFor('every call to end', async () => {
    const got = await Promise.all(ids.map(async (id) => (await req('GET', `/v1/calls/${id}`)).body.status as string));
    return got.every((s) => ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(s)) ? got : undefined;
  }, 180_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${workers.map((w) => w.output().slice(-1500)).join('\n---\n')}`);
  });
  assert.deepEqual([...new Set(statuses)], ['completed'], JSON.stringify(statuses));

  // At the carrier: one INVITE per call (a retransmission shares its Call-ID), no call twice, from both hosts.
  assert.equal(await carrier.exited, 0, carrier.trace().slice(-2000));
  const invites = invitesReceived(carrier);
  const firstPerDialog = [...new Map(invites.map((x) => [x.sipCallId, x])).values()];
  assert.equal(firstPerDialog.length, CALLS, 'one SIP dialog per call');
  assert.deepEqual(new Set(firstPerDialog.map((x) => x.callId)), new Set(ids), 'each queued call was dialed, none twice');
  const byHost = new Map<string, number>();
  for (const x of firstPerDialog) byHost.set(x.viaHost, (byHost.get(x.viaHost) ?? 0) + 1);
  tc.diagnostic(`INVITEs by worker host: ${JSON.stringify(Object.fromEntries(byHost))}`);
  assert.deepEqual([...byHost.keys()].sort(), [w1.ip, w2.ip].sort(), 'both workers dialed, each from its own host');
});
