/**
 * Post-call analysis against the store: a voice call that ended with a transcript gets a summary
 * (the agent's LLM over OpenAI's wire protocol, or the extractive summary when there is no LLM or it
 * fails) and exactly one `analyzed` status event, written after the terminal ones. A call left
 * half-analyzed by a process that died is picked up by a sweep once its lease has run out.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { extractiveSummary } from '../../src/analysis/extractive-summary.js';
import { analyzeCall, PostCallRunner } from '../../src/analysis/post-call.js';
import type { AppContext } from '../../src/app-context.js';
import { transitionCall } from '../../src/calls/transitions.js';
import { sql } from '../../src/store/sql.js';
import type { TranscriptTurn } from '../../src/voice/events.js';
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

const turns: TranscriptTurn[] = [
  { speaker: 'agent', text: 'Hello Ana, can we book your visit for Tuesday?', startMs: 0, endMs: 2500, interrupted: false },
  { speaker: 'callee', text: 'yes please', startMs: 3000, endMs: 3800, interrupted: false },
  { speaker: 'agent', text: 'Great, see you then.', startMs: 4200, endMs: 5400, interrupted: false },
];

/** An agent (with llm settings pointing at the protocol server, or a flow) with a number on a trunk. */
async function agent(kind: 'llm' | 'flow'): Promise<string> {
  const n = String(++seq).padStart(4, '0');
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `t${n}`, host: 'sip.example.com' });
  const body =
    kind === 'llm'
      ? { name: `llm${n}`, system_prompt: 'You book visits.', llm: { provider: 'openai-compatible', base_url: llm.baseUrl, model: 'gpt-4o-mini', api_key: 'sk-summary-key' } }
      : { name: `flow${n}`, flow: { start: 'bye', nodes: { bye: { type: 'end' } } } };
  const a = await t.org.req('POST', '/v1/agents', body);
  assert.equal(a.status, 201, a.raw);
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1415555${n}`, trunk_id: trunk.body.id, outbound_agent_id: a.body.id });
  assert.equal(pn.status, 201, pn.raw);
  return a.body.id as string;
}

/** A call brought to completed with a transcript, the way the dialer ends a voice call. */
async function endedVoiceCall(agentId: string, conversation: TranscriptTurn[] = turns): Promise<string> {
  const c = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, {
    to: '+14155550123',
    call_context: 'Dental visit, Tuesday 3 pm',
    status_callback: { url: 'https://client.example.com/status', events: ['completed', 'analyzed'] },
  });
  assert.equal(c.status, 202, c.raw);
  const callId = c.body.id as string;
  const base = { orgId: t.org.id, callId };
  for (const to of ['dispatching', 'dialing', 'in_progress'] as const) await t.db.transaction((tx) => transitionCall(tx, { ...base, to, at: new Date() }));
  await t.db.transaction(async (tx) => {
    const trId = `tr_${callId}`;
    await tx.query(sql`insert into transcripts (id, org_id, call_id, turns) values (${trId}, ${t.org.id}, ${callId}, ${JSON.stringify(conversation)})`);
    await tx.query(sql`update calls set analysis_due_at = ${new Date()} where org_id = ${t.org.id} and id = ${callId}`);
    await transitionCall(tx, { ...base, to: 'completed', at: new Date(), facts: { endReason: 'agent_hangup', sipStatusCode: 200, transcriptId: trId } });
  });
  return callId;
}

async function statusEvents(callId: string) {
  const r = await t.db.query<{ type: string; body: string }>(sql`select type, body from webhook_events where call_id = ${callId} order by created_at, id`);
  return r.rows.map((e) => ({ type: e.type, data: JSON.parse(e.body).data }));
}

test('an LLM agent: the summary comes from its model, given the transcript; one analyzed event after completed', async () => {
  const agentId = await agent('llm');
  const callId = await endedVoiceCall(agentId);
  const before = await t.org.req('GET', `/v1/calls/${callId}`);
  assert.equal(before.body.summary_text, null, 'not analyzed yet: the terminal webhooks did not wait for it');
  const sent = llm.requests.length;
  llm.reply({ kind: 'text', pieces: ['Ana agreed to ', 'a visit on Tuesday.'] });

  const out = await analyzeCall(t.ctx, t.org.id, callId);
  assert.deepEqual(out, { kind: 'analyzed', source: 'llm', summary: 'Ana agreed to a visit on Tuesday.' });

  const req = llm.requests[sent];
  assert.ok(req, 'the model was asked');
  assert.equal(req.path, '/v1/chat/completions');
  assert.equal(req.headers.authorization, 'Bearer sk-summary-key', 'the decrypted agent key');
  assert.equal(req.body.model, 'gpt-4o-mini');
  const messages = req.body.messages as Array<{ role: string; content: string }>;
  const user = messages.find((m) => m.role === 'user')?.content ?? '';
  assert.match(user, /Agent: Hello Ana, can we book your visit for Tuesday\?\nCallee: yes please\nAgent: Great, see you then\./);
  assert.match(user, /Dental visit, Tuesday 3 pm/);

  const call = (await t.org.req('GET', `/v1/calls/${callId}`)).body;
  assert.equal(call.summary_text, 'Ana agreed to a visit on Tuesday.');
  assert.equal(call.summary_source, 'llm');
  assert.ok(call.analyzed_at);
  const evs = await statusEvents(callId);
  assert.deepEqual(evs.map((e) => e.type), ['call.completed', 'call.analyzed']);
  const analyzed = evs[1]?.data;
  assert.equal(analyzed.event, 'analyzed');
  assert.equal(analyzed.status, 'completed');
  assert.equal(analyzed.summary_text, 'Ana agreed to a visit on Tuesday.');
  assert.equal(analyzed.summary_source, 'llm');
  assert.equal(analyzed.transcript_id, call.transcript_id);

  // Once only: neither a second run nor a sweep analyzes it again.
  assert.deepEqual(await analyzeCall(t.ctx, t.org.id, callId), { kind: 'not_due' });
  assert.equal(await new PostCallRunner(t.ctx).sweep(), 0);
  assert.equal(llm.requests.length, sent + 1);
  assert.equal((await statusEvents(callId)).filter((e) => e.type === 'call.analyzed').length, 1);
});

test('the model fails (HTTP 500): the extractive summary is used and said to be', async () => {
  const agentId = await agent('llm');
  const callId = await endedVoiceCall(agentId);
  const sent = llm.requests.length;
  llm.reply({ kind: 'error', status: 500, body: { error: { message: 'boom', type: 'server_error', param: null, code: null } } });
  const out = await analyzeCall(t.ctx, t.org.id, callId);
  assert.equal(llm.requests.length, sent + 1, 'the model was tried');
  assert.deepEqual(out, { kind: 'analyzed', source: 'extractive', summary: extractiveSummary(turns) });
  const call = (await t.org.req('GET', `/v1/calls/${callId}`)).body;
  assert.equal(call.summary_source, 'extractive');
  assert.equal(call.summary_text, 'Agent: Hello Ana, can we book your visit for Tuesday? Callee: yes please Agent: Great, see you then.');
  const analyzed = (await statusEvents(callId)).filter((e) => e.type === 'call.analyzed');
  assert.equal(analyzed.length, 1);
  assert.equal(analyzed[0]?.data.summary_source, 'extractive');
});

test('a flow agent (no LLM) gets the extractive summary without any model request', async () => {
  const agentId = await agent('flow');
  const callId = await endedVoiceCall(agentId);
  const sent = llm.requests.length;
  const out = await analyzeCall(t.ctx, t.org.id, callId);
  assert.equal(out.kind === 'analyzed' && out.source, 'extractive');
  assert.equal(llm.requests.length, sent);
  assert.match((await t.org.req('GET', `/v1/calls/${callId}`)).body.summary_text, /^Agent: Hello Ana/);
});

test('two processes analyzing the same call at once write one analyzed event', async () => {
  const agentId = await agent('flow');
  const callId = await endedVoiceCall(agentId);
  const outs = await Promise.all([analyzeCall(t.ctx, t.org.id, callId), analyzeCall(t.ctx, t.org.id, callId), new PostCallRunner(t.ctx).sweep()]);
  assert.equal(outs.filter((o) => typeof o === 'object' && o.kind === 'analyzed').length + (outs[2] as number), 1);
  assert.equal((await statusEvents(callId)).filter((e) => e.type === 'call.analyzed').length, 1);
});

test('a process died mid-analysis: the call is taken over once the lease has run out, never lost', async () => {
  const agentId = await agent('flow');
  const callId = await endedVoiceCall(agentId);
  // The dead process had claimed it: the lease runs 120 s from now.
  await t.db.query(sql`update calls set analysis_due_at = ${new Date(Date.now() + 120_000)} where org_id = ${t.org.id} and id = ${callId}`);
  const runnerNow = new PostCallRunner(t.ctx);
  await runnerNow.sweep();
  assert.equal((await t.org.req('GET', `/v1/calls/${callId}`)).body.analyzed_at, null, 'not while the lease holds');
  const later: AppContext = { ...t.ctx, now: () => new Date(Date.now() + 121_000) };
  // A process starting later sweeps at start.
  const runner = new PostCallRunner(later, { sweepMs: 60_000 });
  runner.start();
  try {
    const call = await waitFor('the sweep to analyze the call', async () => {
      const c = (await t.org.req('GET', `/v1/calls/${callId}`)).body;
      return c.analyzed_at ? c : undefined;
    }, 10_000);
    assert.equal(call.summary_source, 'extractive');
  } finally {
    await runner.stop();
  }
  assert.equal((await statusEvents(callId)).filter((e) => e.type === 'call.analyzed').length, 1);
});

test('a call without a transcript (greeting-only, unanswered) is never due for analysis', async () => {
  const agentId = await agent('flow');
  const c = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123' });
  await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls/${c.body.id}/cancel`);
  assert.deepEqual(await analyzeCall(t.ctx, t.org.id, c.body.id), { kind: 'not_due' });
});
