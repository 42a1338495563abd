/**
 * The result webhook that waits for the summary, against the store: a call ended by the event
 * writer (as a media worker reports it) with a transcript gets its status callback at once and its
 * `call.result` from whichever comes first, the analysis (with its summary) or the bound (with the
 * extractive summary); exactly once, whatever races, and still sent when the process that ended
 * the call is gone (a sweep elsewhere). Without a transcript, the result goes with the transition.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sendDueResult } from '../../src/analysis/call-result.js';
import { analyzeCall, PostCallRunner } from '../../src/analysis/post-call.js';
import type { AppContext } from '../../src/app-context.js';
import type { CallRow } from '../../src/calls/call-object.js';
import { transitionCall } from '../../src/calls/transitions.js';
import type { ClaimedCall } from '../../src/dispatch/types.js';
import { sql } from '../../src/store/sql.js';
import type { TranscriptTurn } from '../../src/voice/events.js';
import { CallEventWriter } from '../../src/worker/control/call-events.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

let t: TestApp;
let llm: OpenAiProtocolServer;
let seq = 0;

before(async () => {
  t = await startTestApp({ allowPrivateUrls: true });
  llm = await OpenAiProtocolServer.start();
});
after(async () => {
  await llm.close();
  await t.close();
});

const TURNS: TranscriptTurn[] = [
  { speaker: 'agent', text: 'Hello Ana, can we book your visit for Tuesday?', startMs: 0, endMs: 2500, interrupted: false },
  { speaker: 'callee', text: 'yes please', startMs: 3000, endMs: 3800, interrupted: false },
];
const EXTRACTIVE = 'Agent: Hello Ana, can we book your visit for Tuesday? Callee: yes please';

async function agent(kind: 'llm' | 'flow'): Promise<string> {
  const n = String(++seq).padStart(4, '0');
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `r${n}`, host: 'sip.example.com' });
  const body =
    kind === 'llm'
      ? { name: `rl${n}`, system_prompt: 'You book visits.', llm: { provider: 'openai-compatible', base_url: llm.baseUrl, model: 'gpt-4o-mini', api_key: 'sk-result-key' } }
      : { name: `rf${n}`, flow: { start: 'bye', nodes: { bye: { type: 'end' } } } };
  const a = await t.org.req('POST', '/v1/agents', body);
  assert.equal(a.status, 201, a.raw);
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1415666${n}`, trunk_id: trunk.body.id, outbound_agent_id: a.body.id });
  assert.equal(pn.status, 201, pn.raw);
  return a.body.id as string;
}

/**
 * A call answered and ended through the event writer, the way the dialer records what the media
 * worker reports. Returns the call id and the result's due time the writer handed on.
 */
async function endCall(agentId: string, o: { transcript?: TranscriptTurn[]; status?: 'completed' | 'failed'; waitMs?: number; ctx?: AppContext } = {}) {
  const c = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, {
    to: '+14155550123',
    callback_url: 'https://client.example.com/result',
    status_callback: { url: 'https://client.example.com/status', events: ['completed', 'failed', 'analyzed'] },
  });
  assert.equal(c.status, 202, c.raw);
  const callId = c.body.id as string;
  for (const to of ['dispatching', 'dialing'] as const) await t.db.transaction((tx) => transitionCall(tx, { orgId: t.org.id, callId, to, at: new Date() }));
  const row = (await t.db.query<CallRow>(sql`select * from calls where id = ${callId}`)).rows[0]!;
  const claimed = { id: callId, orgId: t.org.id, agentId, options: row.options } as ClaimedCall;
  let due: Date | undefined;
  const writer = new CallEventWriter(o.ctx ?? t.ctx, (_org, _id, resultDueAt) => (due = resultDueAt), o.waitMs ?? 15_000);
  await writer.apply(claimed, { type: 'answered', callId, codec: 'PCMU', sampleRate: 8000, at: Date.now(), conversation: true });
  await writer.apply(claimed, {
    type: 'ended',
    callId,
    status: o.status ?? 'completed',
    sipStatusCode: 200,
    endReason: 'callee_hangup',
    reason: 'bye',
    at: Date.now(),
    ...('transcript' in o ? (o.transcript ? { transcript: o.transcript } : {}) : { transcript: TURNS }),
  });
  return { callId, due };
}

async function hooks(callId: string) {
  const r = await t.db.query<{ type: string; body: string }>(sql`select type, body from webhook_events where call_id = ${callId} order by created_at, id`);
  return r.rows.map((e) => ({ type: e.type, data: JSON.parse(e.body).data }));
}

test('the terminal transition sends completed at once and keeps call.result until the summary; the analysis sends it with the LLM summary', async () => {
  const agentId = await agent('llm');
  const before = Date.now();
  const { callId, due } = await endCall(agentId, { waitMs: 15_000 });
  assert.ok(due && Math.abs(due.getTime() - (before + 15_000)) < 2000, `the result is due 15 s after the end (${due?.toISOString()})`);
  assert.deepEqual((await hooks(callId)).map((h) => h.type), ['call.completed'], 'the status callback went; the result waits');
  llm.reply({ kind: 'text', pieces: ['Ana booked Tuesday.'] });
  assert.equal((await analyzeCall(t.ctx, t.org.id, callId)).kind, 'analyzed');
  const evs = await hooks(callId);
  assert.deepEqual(evs.map((h) => h.type), ['call.completed', 'call.result', 'call.analyzed']);
  const result = evs[1]!.data;
  const call = (await t.org.req('GET', `/v1/calls/${callId}`)).body;
  assert.deepEqual([result.summary_text, result.summary_source, result.transcript_id], ['Ana booked Tuesday.', 'llm', call.transcript_id]);
  assert.ok(result.transcript_id);
  // The bound passing later changes nothing.
  const later: AppContext = { ...t.ctx, now: () => new Date(Date.now() + 20_000) };
  assert.equal(await sendDueResult(later, t.org.id, callId), false);
  assert.equal(await new PostCallRunner(later).sweep(), 0);
  assert.equal((await hooks(callId)).filter((h) => h.type === 'call.result').length, 1);
});

test('the bound passes first: the result goes with the extractive summary; the late LLM summary comes with analyzed only', async () => {
  const agentId = await agent('llm');
  const { callId, due } = await endCall(agentId, { waitMs: 5000 });
  assert.ok(due);
  assert.equal(await sendDueResult(t.ctx, t.org.id, callId), false, 'not before it is due');
  const atBound: AppContext = { ...t.ctx, now: () => new Date(due.getTime()) };
  assert.equal(await sendDueResult(atBound, t.org.id, callId), true);
  let evs = await hooks(callId);
  assert.deepEqual(evs.map((h) => h.type), ['call.completed', 'call.result']);
  assert.deepEqual([evs[1]!.data.summary_text, evs[1]!.data.summary_source], [EXTRACTIVE, 'extractive']);
  assert.equal((await t.org.req('GET', `/v1/calls/${callId}`)).body.summary_text, EXTRACTIVE, 'the call shows it until the analysis replaces it');
  llm.reply({ kind: 'text', pieces: ['Ana booked Tuesday.'] });
  // The model answers a second after the bound.
  await analyzeCall({ ...t.ctx, now: () => new Date(due.getTime() + 1000) }, t.org.id, callId);
  evs = await hooks(callId);
  assert.deepEqual(evs.map((h) => h.type), ['call.completed', 'call.result', 'call.analyzed']);
  assert.deepEqual([evs[2]!.data.summary_text, evs[2]!.data.summary_source], ['Ana booked Tuesday.', 'llm']);
  const call = (await t.org.req('GET', `/v1/calls/${callId}`)).body;
  assert.deepEqual([call.summary_text, call.summary_source], ['Ana booked Tuesday.', 'llm']);
});

test('the analysis and the bound at the same moment (and two sweepers): one result', async () => {
  const agentId = await agent('flow');
  for (let i = 0; i < 5; i++) {
    const { callId, due } = await endCall(agentId, { waitMs: 0 });
    assert.ok(due);
    const now: AppContext = { ...t.ctx, now: () => new Date(due.getTime() + 1) };
    await Promise.all([analyzeCall(now, t.org.id, callId), sendDueResult(now, t.org.id, callId), new PostCallRunner(now).sweep(), sendDueResult(now, t.org.id, callId)]);
    const evs = await hooks(callId);
    assert.equal(evs.filter((h) => h.type === 'call.result').length, 1, `one result (${evs.map((h) => h.type).join(', ')})`);
    assert.equal(evs.filter((h) => h.type === 'call.analyzed').length, 1);
    assert.equal(evs.find((h) => h.type === 'call.result')?.data.summary_text, EXTRACTIVE);
  }
});

test('the process that ended the call is gone: a runner started elsewhere sends the result once it is due', async () => {
  const agentId = await agent('llm');
  // The dead process had claimed the analysis (its lease holds for 120 s) and never sent the result.
  const { callId, due } = await endCall(agentId, { waitMs: 1500 });
  assert.ok(due);
  await t.db.query(sql`update calls set analysis_due_at = ${new Date(Date.now() + 120_000)} where id = ${callId}`);
  const runner = new PostCallRunner(t.ctx, { sweepMs: 60_000 });
  runner.start();
  try {
    // Its first sweep finds nothing due yet; it wakes again when the result falls due (not after 60 s).
    const result = await waitFor('the swept result', async () => (await hooks(callId)).find((h) => h.type === 'call.result'), 8000);
    assert.deepEqual([result.data.summary_text, result.data.summary_source], [EXTRACTIVE, 'extractive']);
    assert.ok(Date.now() >= due.getTime(), 'not before it was due');
  } finally {
    await runner.stop();
  }
  assert.equal((await hooks(callId)).filter((h) => h.type === 'call.result').length, 1);
});

test('a runner already running elsewhere hears of the waiting result (NOTIFY) and sends it when due, not at its next periodic sweep', async () => {
  const agentId = await agent('llm');
  const runner = new PostCallRunner(t.ctx, { sweepMs: 60_000 });
  runner.start();
  try {
    // Its first sweep is done (nothing due) and the next is a minute away when the call ends elsewhere.
    await new Promise((r) => setTimeout(r, 500));
    const { callId, due } = await endCall(agentId, { waitMs: 1500 });
    assert.ok(due);
    await t.db.query(sql`update calls set analysis_due_at = ${new Date(Date.now() + 120_000)} where id = ${callId}`);
    const result = await waitFor('the result from the other runner', async () => (await hooks(callId)).find((h) => h.type === 'call.result'), 8000);
    assert.deepEqual([result.data.summary_text, result.data.summary_source], [EXTRACTIVE, 'extractive']);
    assert.ok(Date.now() >= due.getTime(), 'not before it was due');
  } finally {
    await runner.stop();
  }
});

test('without a transcript, or failed: the result goes with the terminal transition', async () => {
  const agentId = await agent('flow');
  const none = await endCall(agentId, { transcript: undefined });
  assert.equal(none.due, undefined);
  const evs = await hooks(none.callId);
  assert.deepEqual(evs.map((h) => h.type), ['call.completed', 'call.result']);
  assert.deepEqual([evs[1]!.data.summary_text, evs[1]!.data.summary_source, evs[1]!.data.transcript_id], [null, null, null]);

  const failed = await endCall(agentId, { status: 'failed' });
  assert.equal(failed.due, undefined);
  assert.deepEqual((await hooks(failed.callId)).map((h) => h.type), ['call.failed', 'call.result']);
});
