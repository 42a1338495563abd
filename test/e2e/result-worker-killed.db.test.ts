/**
 * A worker process killed (SIGKILL) between a call's end and its result webhook: the call was
 * answered by baresip, the agent's summary model hangs, so the result waits for the bound
 * (OUTCALL_RESULT_SUMMARY_WAIT_S=6 in the workers' environment); the worker dies before it. Another
 * worker sends the waiting result when it falls due, once, signed, with the extractive summary and
 * the transcript id: one started afterwards (a restart: its first sweep), or one that was already
 * running (told by NOTIFY at the end's commit). PostgreSQL only: several processes share the store.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { extractiveSummary } from '../../src/analysis/extractive-summary.js';
import { openStore } from '../../src/store/open.js';
import { sql } from '../../src/store/sql.js';
import type { TranscriptTurn } from '../../src/voice/events.js';
import { calleeScript } from '../fixtures/voice/callee.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createScratchDatabase, testDriver } from '../helpers/test-db.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startWorker, type WorkerProcess } from '../helpers/worker-process.js';
import { placeCall, signedResult, voiceSkip, type PlacedCall } from './voice-helpers.js';

const skip = testDriver() !== 'postgres' ? 'several worker processes need PostgreSQL (the embedded store is single-process by design)' : voiceSkip();
const SECRET = randomBytes(32);
const WAIT_S = 6;

let t: TestApp;
let dbUrl: string;
let drop: () => Promise<void>;
let hooks: WebhookReceiver;
let llm: OpenAiProtocolServer;
const workers: WorkerProcess[] = [];
let placed: PlacedCall | undefined;

before(async () => {
  if (skip) return;
  const scratch = await createScratchDatabase();
  dbUrl = scratch.url;
  drop = scratch.drop;
  t = await startTestApp({ db: await openStore({ driver: 'postgres', url: dbUrl, poolSize: 4 }), secretKey: SECRET, allowPrivateUrls: true });
  hooks = await new WebhookReceiver().start();
  llm = await OpenAiProtocolServer.start({ answerSummaries: true });
});
after(async () => {
  if (skip) return;
  await llm.close();
  await hooks.stop();
  await t.close();
  await drop();
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(true);
  await placed?.callee.stop();
  placed = undefined;
});

/** An `outcall worker` process on the scratch database, RTP ports from this file's range (44600-44998). */
async function worker(n: 0 | 1): Promise<WorkerProcess> {
  const w = await startWorker({
    DATABASE_URL: dbUrl,
    OUTCALL_SECRET_KEY: SECRET.toString('hex'),
    OUTCALL_ALLOW_PRIVATE_URLS: 'true',
    OUTCALL_RTP_PORT_MIN: String(44600 + n * 200),
    OUTCALL_RTP_PORT_MAX: String(44798 + n * 200),
    OUTCALL_LEASE_MS: '3000',
    OUTCALL_DISPATCH_POLL_MS: '200',
    OUTCALL_RESULT_SUMMARY_WAIT_S: String(WAIT_S),
  });
  workers.push(w);
  return w;
}

/**
 * Worker 0 places an LLM agent's call to baresip (silent for `calleeS`, then it hangs up); the
 * summary model hangs. `second: 'running'` starts worker 1 while the call is up; `'restart'` starts
 * it after the kill. Worker 0 is killed right after the end, its summary request out. Returns what
 * the test checks.
 */
async function killAfterEnd(tc: { diagnostic(m: string): void }, second: 'running' | 'restart') {
  llm.replySummary({ kind: 'hang' });
  const asked = llm.summaryRequests.length;
  const doomed = await worker(0);
  const script = calleeScript([], second === 'running' ? 12 : 6);
  assert.ok(script, 'flite + sox produced the callee audio');
  placed = await placeCall(t, {
    prompt: script.wav,
    agent: { system_prompt: 'You confirm deliveries.', greeting: 'Hi, this is Outcall calling about your order.', llm: { provider: 'openai', base_url: llm.baseUrl, model: 'gpt-4o-mini', api_key: 'sk-test-killed-0123456789' } },
    // baresip here speaks L16/16000 only: the call offers it (the worker's own default offer is G.711).
    call: { callback_url: hooks.url('/result'), status_callback: { url: hooks.url('/status'), events: ['completed'] }, codecs: ['L16/16000'] },
  });
  const callId = placed.callId;
  const row = () =>
    t.db.query<{ status: string; ended_at: Date | null; result_due_at: Date | null; worker_id: string | null }>(sql`select status, ended_at, result_due_at, worker_id from calls where id = ${callId}`);
  let other: WorkerProcess | undefined;
  if (second === 'running') {
    await waitFor('the call to be answered', async () => ((await row()).rows[0]?.status === 'in_progress' ? true : undefined), 30_000);
    other = await worker(1);
    assert.equal((await row()).rows[0]?.ended_at, null, 'the second worker runs before the call ends');
  }
  const ended = await waitFor('the call to end', async () => {
    const r = (await row()).rows[0];
    return r?.ended_at ? r : undefined;
  }, 45_000, 50);
  // The worker that ended it dies now, with its summary request hanging and the result waiting.
  await waitFor('the summary request', () => (llm.summaryRequests.length > asked ? true : undefined), 3000, 20);
  await doomed.stop(true);
  const killedAt = Date.now();
  tc.diagnostic(`call ${ended.status} at ${ended.ended_at?.toISOString()}, result due ${ended.result_due_at?.toISOString()}; worker killed ${killedAt - (ended.ended_at?.getTime() ?? 0)} ms after the end`);
  assert.equal(ended.status, 'completed', placed.callee.log().slice(-2000));
  assert.equal(ended.worker_id, doomed.workerId, 'the killed worker had the call');
  assert.ok(ended.result_due_at, 'the result waits for the summary');
  assert.ok(killedAt < ended.result_due_at.getTime(), 'killed before the bound');
  assert.equal(hooks.received.filter((h) => h.url === '/result' && JSON.parse(h.body).data.call_id === callId).length, 0, 'no result before the kill');
  other ??= await worker(1);

  const result = await signedResult(t, hooks, callId);
  const raw = hooks.received.find((h) => h.url === '/result' && JSON.parse(h.body).data.call_id === callId);
  const sentAt = Date.parse(JSON.parse(raw!.body).created_at as string);
  tc.diagnostic(`worker ${other.workerId} (${second}) sent the result ${sentAt - ended.result_due_at.getTime()} ms after it was due: ${JSON.stringify(result.summary_text)}`);
  assert.ok(sentAt >= ended.result_due_at.getTime(), 'at the bound, not before');
  assert.ok(sentAt - ended.result_due_at.getTime() < 5000, 'when it fell due, not at a periodic sweep (every 30 s)');
  const call = (await t.org.req('GET', `/v1/calls/${callId}`)).body;
  const turns = (await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`)).body.turns as TranscriptTurn[];
  assert.equal(result.status, 'completed');
  assert.equal(result.summary_source, 'extractive');
  assert.equal(result.summary_text, extractiveSummary(turns));
  assert.match(result.summary_text, /^Agent: Hi, this is Outcall calling about your order\./);
  assert.equal(result.transcript_id, call.transcript_id);
  assert.equal((await row()).rows[0]?.result_due_at, null, 'nothing waits any more');
  // Once: one more sweeping worker finds nothing left to send.
  await worker(0);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(hooks.received.filter((h) => h.url === '/result' && JSON.parse(h.body).data.call_id === callId).length, 1, 'one result webhook');
  assert.equal((await t.db.query<{ n: number }>(sql`select count(*)::int as n from webhook_events where call_id = ${callId} and type = 'call.result'`)).rows[0]?.n, 1);
}

describe('the result webhook survives the worker that ended the call', { skip }, () => {
  test('SIGKILL after the end, before the bound: a restarted worker sweeps the result, sent once with the extractive summary', async (tc) => {
    await killAfterEnd(tc, 'restart');
  });

  test('SIGKILL after the end, before the bound: a second worker already running sends the result when it falls due, once', async (tc) => {
    await killAfterEnd(tc, 'running');
  });
});
