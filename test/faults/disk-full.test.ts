/**
 * The store's disk fills up (issue 18): `outcall serve` on PGlite whose data folder is on a small
 * tmpfs, with recorded calls talking to SIPp, when the rest of the disk is filled. The API refuses new
 * writes with 507 `storage_full` (reads still answer), the process keeps running, the calls finish
 * their greetings, and their ends (transcript, metrics, recording, result) are written once space is
 * freed: completed, not left live and later reaped as lost. Then new calls are taken again, with no
 * restart. Needs root for the tmpfs mount (as the network-namespace tests do).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServe, waitExit } from '../helpers/cli.js';
import { httpApi } from '../helpers/http-api.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freeUdpPort, startSipp, type SippProcess } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const dir = mkdtempSync(join(tmpdir(), 'outcall-disk-full-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', dir], { encoding: 'utf8' });
const why = mounted.status !== 0 ? `cannot mount a tmpfs (needs root): ${mounted.stderr.trim()}` : toolAvailable('sipp') ? undefined : 'sipp is not installed (scripts/setup-test-env.sh)';
if (why && process.env.CI === 'true') throw new Error(`the disk-full test cannot run: ${why}`);

const CALLS = 3;
const API_KEY = `oc_fault_${randomBytes(12).toString('hex')}`;
const GREETING = 'Hello, this is a reminder from the clinic about your visit on Tuesday morning at nine. Goodbye.';
const filler = join(dir, 'filler');

let hooks: WebhookReceiver;
let serve: Awaited<ReturnType<typeof startServe>> | undefined;
let sipp: SippProcess | undefined;

before(async () => {
  if (!why) hooks = await new WebhookReceiver().start();
});

after(async () => {
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGKILL');
    await waitExit(serve.child);
  }
  await sipp?.stop();
  await hooks?.stop();
  if (mounted.status === 0) spawnSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

/** Fills the file system: writes until it refuses (ENOSPC). */
function fillDisk(): void {
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

test('disk full under recorded calls: 507 storage_full, no crash, the calls end completed once space is freed, and new calls are taken again', { skip: why ?? false, timeout: 180_000 }, async (tc) => {
  serve = await startServe({
    OUTCALL_DATA_DIR: join(dir, 'data'),
    OUTCALL_API_KEY: API_KEY,
    OUTCALL_SECRET_KEY: randomBytes(32).toString('hex'),
    OUTCALL_ALLOW_PRIVATE_URLS: 'true',
    OUTCALL_RTP_PORT_MIN: '49800',
    OUTCALL_RTP_PORT_MAX: '49898',
    OUTCALL_DISPATCH_POLL_MS: '100',
    // Short: a call whose end could not be written must not be reaped as lost meanwhile.
    OUTCALL_LEASE_MS: '3000',
  });
  const s = serve;
  const req = httpApi(s.url, API_KEY, () => s.output().slice(-4000));
  const port = await freeUdpPort();
  sipp = await startSipp({ scenario: fileURLToPath(new URL('../fixtures/sipp/uas_answer_fast.xml', import.meta.url)), port, calls: 100 });
  const trunk = await req('POST', '/v1/trunks', { name: 'carrier', host: '127.0.0.1', port });
  const agent = await req('POST', '/v1/agents', { name: 'reminder', greeting: GREETING, webhook_url: hooks.url('/result') });
  assert.equal(agent.status, 201, JSON.stringify(agent.body));
  await req('POST', '/v1/phone-numbers', { number: '+16285550600', trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  const ids: string[] = [];
  for (let i = 0; i < CALLS; i++) {
    const r = await req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: `+1415555${4000 + i}`, record: { enabled: true, channels: 'dual' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    ids.push(r.body.id as string);
  }
  await waitFor('the calls to talk', async () => {
    const r = await req('GET', '/v1/calls?status=in_progress&limit=10');
    return (r.body.data?.length ?? 0) === CALLS ? true : undefined;
  }, 30_000);

  fillDisk();
  // The store's files may still have free pages: writes that need new ones (a large agent prompt,
  // kept out of line) are refused as soon as those are used up.
  let refused: Awaited<ReturnType<typeof req>> | undefined;
  for (let i = 0; i < 50 && refused?.status !== 507; i++) {
    refused = await req('POST', '/v1/agents', { name: `big-${i}`, system_prompt: randomBytes(45_000).toString('base64').slice(0, 60_000), greeting: 'Hi.' });
    assert.ok(refused.status === 201 || refused.status === 507, JSON.stringify(refused.body));
  }
  assert.deepEqual([refused?.status, refused?.body.error?.code], [507, 'storage_full'], JSON.stringify(refused?.body));
  const read = await req('GET', `/v1/calls/${ids[0]}`);
  assert.equal(read.status, 200, 'reads still answer');
  // The greetings end and the calls hang up; their ends cannot be written yet.
  await waitFor('the ends to be held for space', () => (/disk is full; the call event will be recorded/.test(s.output()) ? true : undefined), 30_000);
  await new Promise((r) => setTimeout(r, 4000)); // past the lease: nothing may reap them meanwhile
  assert.equal(s.child.exitCode, null, `outcall serve still runs:\n${s.output().slice(-3000)}`);
  const during = await Promise.all(ids.map(async (id) => (await req('GET', `/v1/calls/${id}`)).body.status as string));
  tc.diagnostic(`while full: ${during.join(', ')}`);

  rmSync(filler);
  const ended = await waitFor('every call to end', async () => {
    const got = await Promise.all(ids.map(async (id) => (await req('GET', `/v1/calls/${id}`)).body));
    return got.every((c) => !['queued', 'dispatching', 'dialing', 'ringing', 'in_progress'].includes(c.status)) ? got : undefined;
  }, 60_000);
  tc.diagnostic(`ended: ${ended.map((c) => `${c.status}/${c.end_reason} recording=${c.recording ? 'yes' : 'no'}`).join(', ')}`);
  assert.deepEqual(ended.map((c) => `${c.status}/${c.end_reason}`), ids.map(() => 'completed/agent_hangup'), 'written as they ended, not reaped as lost');
  assert.ok(ended.every((c) => c.transcript_id && c.metrics), 'with their transcripts and metrics');
  await waitFor('a result for every call', () => {
    const got = new Set(hooks.received.filter((h) => h.url === '/result' && JSON.parse(h.body).type === 'call.result').map((h) => JSON.parse(h.body).data.call_id));
    return ids.every((id) => got.has(id)) ? true : undefined;
  }, 30_000);

  const again = await req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: '+14155554998' });
  assert.equal(again.status, 202, `new calls are taken once space is back: ${JSON.stringify(again.body)}`);
});
