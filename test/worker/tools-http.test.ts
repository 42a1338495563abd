/**
 * http tools against a real local HTTP server: the request is signed so verifyWebhook() accepts it
 * (the same check customers run on result webhooks) and carries the call's facts; the answer becomes
 * the tool result; every way it can go wrong is a failed result with a stable code, never a crash.
 */
import { strict as assert } from 'node:assert';
import { after, before, beforeEach, test } from 'node:test';
import type { Tool } from '../../src/contract/agent.js';
import { FlowAgentBrain, runSafely } from '../../src/voice/brain.js';
import { FlowBrain } from '../../src/voice/flow/index.js';
import { createToolRunner, type ToolCallContext } from '../../src/worker/media/tools/index.js';
import { generateWebhookSecret, verifyWebhook } from '../../src/http-client/signing.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { ToolServer } from './tools-server.js';

const secret = generateWebhookSecret();
const older = generateWebhookSecret();
const metadata = { crm_id: 'c-42', z: 1, a: [true, null] };
const ctx = (o: Partial<ToolCallContext> = {}): ToolCallContext => ({
  callId: 'call_1', agentId: 'agt_1', metadata, signingSecrets: [secret, older], allowPrivateUrls: true, trunk: { host: '127.0.0.1', port: 5060 }, ...o,
});

let srv: ToolServer;
before(async () => {
  srv = await new ToolServer().start();
});
after(async () => {
  await srv.stop();
});
beforeEach(() => {
  srv.requests.length = 0;
  srv.answer = () => ({ status: 200, body: '{"slots":["tue 10:00"]}', contentType: 'application/json' });
});

function runner(tools: Tool[], o: { context?: ToolCallContext; maxResponseBytes?: number } = {}) {
  return createToolRunner({ tools, context: o.context ?? ctx(), clock: new VirtualClock(), control: () => undefined, ...(o.maxResponseBytes ? { maxResponseBytes: o.maxResponseBytes } : {}) });
}
const http = (o: Partial<Tool> = {}): Tool => ({ type: 'http', name: 'lookup', description: 'd', url: srv.url(), ...o });
const signal = () => new AbortController().signal;

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: String((err as { code?: unknown }).code), message: (err as Error).message };
  }
  assert.fail('expected the tool call to fail');
}

test('POST: signed like a webhook (verifyWebhook accepts it, with either valid secret); body carries call, agent, tool, arguments, metadata verbatim; JSON answer is the result', async () => {
  const result = await runner([http()])('lookup', { day: 'tuesday' }, signal());
  assert.deepEqual(result, { slots: ['tue 10:00'] });
  const r = srv.requests[0];
  assert.ok(r);
  assert.equal(r.method, 'POST');
  assert.equal(r.headers['content-type'], 'application/json');
  verifyWebhook(secret, r.headers, r.body);
  verifyWebhook(older, r.headers, r.body);
  assert.throws(() => verifyWebhook(generateWebhookSecret(), r.headers, r.body), /no matching signature/);
  assert.throws(() => verifyWebhook(secret, r.headers, `${r.body} `), /no matching signature/, 'the body is covered');
  assert.match(String(r.headers['webhook-id']), /^tool_/);
  assert.equal(r.body, JSON.stringify({ call_id: 'call_1', agent_id: 'agt_1', tool: 'lookup', arguments: { day: 'tuesday' }, metadata }));
  assert.equal(r.headers['x-outcall-call-id'], 'call_1');
});

test('GET: arguments in the query (non-strings as JSON), no body, the signature over the empty body verifies', async () => {
  await runner([http({ method: 'GET', url: `${srv.url()}?v=1` })])('lookup', { day: 'tue', n: 2, all: true }, signal());
  const r = srv.requests[0];
  assert.equal(r?.method, 'GET');
  assert.equal(r?.body, '');
  const q = new URL(`http://x${r?.url}`).searchParams;
  assert.deepEqual([...q.entries()], [['v', '1'], ['day', 'tue'], ['n', '2'], ['all', 'true']]);
  verifyWebhook(secret, r?.headers ?? {}, '');
  assert.equal(await codeOf(runner([http({ method: 'GET' })])('lookup', 'tuesday', signal())).then((e) => e.code), 'tool_bad_arguments');
});

test('text answers come back as text; an empty 2xx is null', async () => {
  srv.answer = () => ({ status: 200, body: 'Tuesday at ten is free.', contentType: 'text/plain' });
  assert.equal(await runner([http()])('lookup', {}, signal()), 'Tuesday at ten is free.');
  srv.answer = () => ({ status: 204 });
  assert.equal(await runner([http()])('lookup', {}, signal()), null);
});

test('non-2xx: a failed result naming the status and the start of the answer', async () => {
  srv.answer = () => ({ status: 503, body: 'calendar down for maintenance', contentType: 'text/plain' });
  const e = await codeOf(runner([http()])('lookup', {}, signal()));
  assert.equal(e.code, 'tool_http_error');
  assert.match(e.message, /HTTP 503: calendar down/);
  // Redirects are answers, not followed (a 302 to an internal address must not be fetched).
  srv.answer = () => ({ status: 302, body: '' });
  assert.equal((await codeOf(runner([http()])('lookup', {}, signal()))).code, 'tool_http_error');
  assert.equal(srv.requests.length, 2);
});

test("timeout: a tool that never answers fails after its timeout_ms", async () => {
  srv.answer = () => 'hang';
  const t0 = Date.now();
  const e = await codeOf(runner([http({ timeout_ms: 300 })])('lookup', {}, signal()));
  assert.equal(e.code, 'tool_timeout');
  assert.match(e.message, /300 ms/);
  assert.ok(Date.now() - t0 >= 290, 'not before the timeout');
});

test('an answer cut off mid-body is a failed result at once, not a wait for the timeout', async () => {
  srv.answer = () => 'cut';
  const e = await codeOf(runner([http({ timeout_ms: 60_000 })])('lookup', {}, signal()));
  assert.equal(e.code, 'tool_http_error');
  assert.match(e.message, /broke off/);
});

test('an answer larger than the cap is refused, not read into memory', async () => {
  srv.answer = () => ({ status: 200, body: JSON.stringify({ blob: 'x'.repeat(100_000) }), contentType: 'application/json' });
  const e = await codeOf(runner([http()], { maxResponseBytes: 4096 })('lookup', {}, signal()));
  assert.equal(e.code, 'tool_response_too_large');
  srv.answer = () => ({ status: 200, body: JSON.stringify({ blob: 'x'.repeat(1000) }), contentType: 'application/json' });
  assert.deepEqual(await runner([http()], { maxResponseBytes: 4096 })('lookup', {}, signal()), { blob: 'x'.repeat(1000) });
});

test('SSRF guard: private literals and names that resolve to private addresses are refused before any byte is sent', async () => {
  const strict = ctx({ allowPrivateUrls: false });
  const lit = await codeOf(runner([http()], { context: strict })('lookup', {}, signal()));
  assert.equal(lit.code, 'tool_url_refused');
  assert.match(lit.message, /127\.0\.0\.1/);
  // "localhost" is not a literal: the connect-time lookup refuses what it resolves to.
  const named = await codeOf(runner([http({ url: `http://localhost:${srv.port}/tool` })], { context: strict })('lookup', {}, signal()));
  assert.equal(named.code, 'tool_url_refused');
  assert.match(named.message, /private address/);
  assert.equal(srv.requests.length, 0, 'the receiver saw nothing');
  assert.equal((await codeOf(runner([http({ url: 'not a url' })])('lookup', {}, signal()))).code, 'tool_url_refused');
});

test('abort (barge-in, hang-up) ends the request; unknown tools fail with tool_unknown', async () => {
  srv.answer = () => 'hang';
  const ac = new AbortController();
  const p = codeOf(runner([http({ timeout_ms: 10_000 })])('lookup', {}, ac.signal));
  while (srv.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  assert.equal((await p).code, 'tool_unavailable');
  assert.equal((await codeOf(runner([http()])('nope', {}, signal()))).code, 'tool_unknown');
});

test("through a flow's tool node: success takes on_success with the answer; a failure is {ok:false} with the code, on_failure", async () => {
  const flow = {
    start: 't',
    nodes: {
      t: { type: 'tool', tool: 'lookup', arguments: { who: '{{name}}' }, on_success: 'ok', on_failure: 'ko' },
      ok: { type: 'end', text: 'Found it.' },
      ko: { type: 'end', text: 'Sorry.' },
    },
  };
  const run = async () => {
    const brain = new FlowAgentBrain(new FlowBrain(flow, { name: 'Ana' }, { toolNames: ['lookup'] }), runner([http()]));
    const out = [];
    for await (const o of brain.respond({ type: 'start' }, signal())) out.push(o);
    return out;
  };
  const good = await run();
  assert.deepEqual(good.find((o) => o.type === 'tool_call_finished'), { type: 'tool_call_finished', id: 'flow_tool_1', name: 'lookup', ok: true, result: { slots: ['tue 10:00'] } });
  assert.ok(good.some((o) => o.type === 'text' && o.text.includes('Found it.')));
  assert.match(srv.requests[0]?.body ?? '', /"arguments":\{"who":"Ana"\}/);
  srv.answer = () => ({ status: 500 });
  const bad = await run();
  const f = bad.find((o) => o.type === 'tool_call_finished');
  assert.deepEqual(f?.type === 'tool_call_finished' && [f.ok, (f.result as { code: string }).code], [false, 'tool_http_error']);
  assert.ok(bad.some((o) => o.type === 'text' && o.text.includes('Sorry.')));
  assert.deepEqual(await runSafely(async () => 1, 'x', {}, signal()), { ok: true, result: 1 });
});
