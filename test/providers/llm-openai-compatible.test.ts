import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { llmConformance, type LlmConformanceTarget } from './conformance/llm.js';
import { ProviderError } from '../../src/providers/errors.js';
import { OpenAiCompatibleLlm, type OpenAiCompatibleOptions } from '../../src/providers/llm/openai-compatible.js';
import type { LlmEvent, LlmMessage } from '../../src/providers/llm/types.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';

const KEY = 'sk-test-0123456789abcdefSECRET';

async function collect(it: AsyncIterable<LlmEvent>, into: LlmEvent[] = []): Promise<LlmEvent[]> {
  for await (const ev of it) into.push(ev);
  return into;
}

/** Wire messages (as the server received them) back to the neutral types, for the round-trip check. */
function fromWire(m: Record<string, unknown>): LlmMessage {
  const content = typeof m.content === 'string' ? m.content : '';
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content };
    case 'tool':
      return { role: 'tool', toolCallId: String(m.tool_call_id), content };
    case 'assistant': {
      const calls = m.tool_calls as Array<{ id: string; function: { name: string; arguments: string } }> | undefined;
      if (!calls) return { role: 'assistant', content };
      return { role: 'assistant', content, toolCalls: calls.map((c) => ({ id: c.id, name: c.function.name, arguments: JSON.parse(c.function.arguments) as unknown })) };
    }
    default:
      throw new Error(`unexpected role ${String(m.role)}`);
  }
}

function client(server: OpenAiProtocolServer, extra: Partial<OpenAiCompatibleOptions> = {}): OpenAiCompatibleLlm {
  return new OpenAiCompatibleLlm({ name: 'openai', baseUrl: server.baseUrl, model: 'gpt-4o-mini', apiKey: KEY, ...extra });
}

function rejectsWith(p: Promise<unknown>, code: string, retryable: boolean, check?: (e: ProviderError) => void): Promise<void> {
  return assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ProviderError, `a ProviderError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.retryable, retryable);
    assert.ok(!err.message.includes(KEY), 'the API key never appears in an error');
    check?.(err);
    return true;
  });
}

describe('LLM conformance: OpenAI-compatible client against the local protocol server', { timeout: 30_000 }, () => {
  let server: OpenAiProtocolServer;
  let target: LlmConformanceTarget;
  before(async () => {
    server = await OpenAiProtocolServer.start();
    target = {
      provider: client(server),
      scriptText: (pieces) => void server.reply({ kind: 'text', pieces }),
      scriptToolCall: (c) => {
        const json = JSON.stringify(c.arguments);
        const cut = [json.slice(0, 3), json.slice(3, 9), json.slice(9)];
        server.reply({ kind: 'tool_calls', calls: [{ id: c.id, name: c.name, argumentPieces: cut }] });
      },
      scriptEndless: () => void server.reply({ kind: 'endless', every: 5 }),
      scriptFailure: (kind) => {
        const status = kind === 'auth' ? 401 : kind === 'rate_limit' ? 429 : 500;
        server.reply({ kind: 'error', status, body: { error: { message: `${kind} failure`, type: 'x', param: null, code: null } } });
      },
      requestCount: () => server.requests.length,
      received: (i) => {
        const body = server.requests[i]?.body ?? {};
        const tools = (body.tools as Array<{ function: { name: string } }> | undefined) ?? [];
        return { messages: (body.messages as Array<Record<string, unknown>>).map(fromWire), tools: tools.map((t) => t.function.name) };
      },
      cancelled: (i) => server.requests[i]?.closedEarly ?? Promise.reject(new Error(`no request ${i}`)),
    };
  });
  after(() => server.close());
  for (const c of llmConformance) test(c.name, () => c.run(target));
});

describe('OpenAI chat-completions protocol', { timeout: 30_000 }, () => {
  let server: OpenAiProtocolServer;
  before(async () => {
    server = await OpenAiProtocolServer.start();
  });
  after(() => server.close());

  test('sends the documented request: path, bearer key, model, messages, tools, stream, sampling', async () => {
    server.reply({ kind: 'text', pieces: ['ok'] });
    const llm = client(server, { temperature: 0.3, maxTokens: 50, extraBody: { seed: 7 } });
    await collect(
      llm.chat({
        messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }],
        tools: [{ name: 'end_call', description: 'Hang up', parameters: { type: 'object', properties: {} } }],
        temperature: 0.1,
      }),
    );
    const r = server.requests.at(-1);
    assert.equal(r?.method, 'POST');
    assert.equal(r?.path, '/v1/chat/completions');
    assert.equal(r?.headers.authorization, `Bearer ${KEY}`);
    assert.equal(r?.headers['content-type'], 'application/json');
    assert.deepEqual(r?.body, {
      seed: 7,
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.1, // the request's value wins over the client default
      max_tokens: 50,
      tools: [{ type: 'function', function: { name: 'end_call', description: 'Hang up', parameters: { type: 'object', properties: {} } } }],
    });
  });

  test('no key, no Authorization header (local servers); max_completion_tokens when asked', async () => {
    server.reply({ kind: 'text', pieces: ['ok'] });
    await collect(client(server, { apiKey: undefined, maxTokens: 9, maxTokensField: 'max_completion_tokens', streamUsage: false }).chat({ messages: [{ role: 'user', content: 'x' }] }));
    const r = server.requests.at(-1);
    assert.equal(r?.headers.authorization, undefined);
    assert.equal(r?.body.max_completion_tokens, 9);
    assert.equal(r?.body.max_tokens, undefined);
    assert.equal(r?.body.stream_options, undefined);
  });

  test('several streamed tool calls are assembled by index and emitted once each, after the text', async () => {
    server.reply({
      kind: 'tool_calls',
      textBefore: ['One moment.'],
      calls: [
        { id: 'call_a', name: 'lookup', argumentPieces: ['{"ph', 'one":"+1', '555"}'] },
        { id: 'call_b', name: 'end_call', argumentPieces: [] },
      ],
    });
    const events = await collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] }));
    assert.deepEqual(events.slice(0, 3), [
      { type: 'text_delta', text: 'One moment.' },
      { type: 'tool_call', id: 'call_a', name: 'lookup', arguments: { phone: '+1555' } },
      { type: 'tool_call', id: 'call_b', name: 'end_call', arguments: {} },
    ]);
    assert.equal(events.length, 4);
    assert.equal(events[3]?.type === 'done' && events[3].finishReason, 'tool_calls');
  });

  test('interleaved fragments of two calls are kept apart by index', async () => {
    const c = (tc: unknown, finish: string | null = null) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [tc] }, finish_reason: finish }] })}\n\n`;
    server.reply({
      kind: 'raw',
      chunks: [
        c({ index: 1, id: 'c2', type: 'function', function: { name: 'b', arguments: '{"y":' } }),
        c({ index: 0, id: 'c1', type: 'function', function: { name: 'a', arguments: '{"x":' } }),
        c({ index: 1, function: { arguments: '2}' } }),
        c({ index: 0, function: { arguments: '1}' } }),
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] })}\n\ndata: [DONE]\n\n`,
      ],
    });
    const events = await collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] }));
    assert.deepEqual(events.filter((e) => e.type === 'tool_call'), [
      { type: 'tool_call', id: 'c1', name: 'a', arguments: { x: 1 } },
      { type: 'tool_call', id: 'c2', name: 'b', arguments: { y: 2 } },
    ]);
  });

  test("a server that says finish_reason 'stop' with tool calls and omits [DONE] still yields the calls and 'tool_calls'", async () => {
    const body = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
    server.reply({
      kind: 'raw',
      chunks: [
        body({ choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [{ id: 'call_9', function: { name: 'f', arguments: '{"a":1}' } }] }, finish_reason: null }] }),
        body({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      ],
    });
    const events = await collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] }));
    assert.deepEqual(events, [
      { type: 'tool_call', id: 'call_9', name: 'f', arguments: { a: 1 } },
      { type: 'done', finishReason: 'tool_calls' },
    ]);
  });

  test('a server that ignores stream: true and answers one JSON completion still yields text, tool calls and done', async () => {
    server.reply({ kind: 'json', content: 'Hello there.' });
    assert.deepEqual(await collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), [
      { type: 'text_delta', text: 'Hello there.' },
      { type: 'done', finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 3 } },
    ]);
    server.reply({ kind: 'json', content: null, toolCalls: [{ id: 'call_j', name: 'end_call', arguments: '{"reason":"done"}' }] });
    const events = await collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] }));
    assert.deepEqual(events[0], { type: 'tool_call', id: 'call_j', name: 'end_call', arguments: { reason: 'done' } });
    assert.equal(events.length, 2);
  });

  test('a completed turn reads the body to its end (even when it ends a little after [DONE]), so connections are reused', async () => {
    const llm = client(server);
    const n = server.requests.length;
    for (let i = 0; i < 4; i++) {
      server.reply({ kind: 'text', pieces: [`turn ${i}`] }, { endDelayMs: 20 });
      await collect(llm.chat({ messages: [{ role: 'user', content: 'x' }] }));
    }
    // A client that stopped at [DONE] and hung up would return before the server ended its reply.
    assert.ok(server.requests.slice(n).every((r) => r.serverMs !== undefined), 'every reply ran to its end before chat() finished');
    const ports = new Set(server.requests.slice(n).map((r) => r.remotePort));
    assert.ok(ports.size < 4, `kept-alive connections reused: ${ports.size} ports for 4 turns`);
  });

  test('a server that lingers after [DONE] is hung up on after a short grace, and the turn still completes', async () => {
    server.reply({ kind: 'text', pieces: ['bye'] }, { endDelayMs: 60_000 });
    const events = await collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] }));
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'stop', usage: { promptTokens: 10, completionTokens: 1 } });
    await server.requests.at(-1)?.closedEarly;
  });

  test('usage from the final chunk is reported on done; length finish is passed on', async () => {
    server.reply({ kind: 'text', pieces: ['a', 'b'], finishReason: 'length', usage: { prompt_tokens: 42, completion_tokens: 2 } });
    const events = await collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] }));
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'length', usage: { promptTokens: 42, completionTokens: 2 } });
  });

  test('401 is auth_failed (not retryable) with the vendor message, and the echoed key is redacted', async () => {
    server.reply({
      kind: 'error',
      status: 401,
      body: { error: { message: `Incorrect API key provided: ${KEY}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
    });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_auth_failed', false, (e) => {
      assert.match(e.message, /HTTP 401: Incorrect API key provided: \[redacted\]/);
      assert.match(e.message, /code invalid_api_key/);
    });
  });

  test('403 is auth_failed too', async () => {
    server.reply({ kind: 'error', status: 403, body: { error: { message: 'Project does not have access to model', type: 'invalid_request_error', code: 'model_not_found' } } });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_auth_failed', false);
  });

  test('429 is rate_limited and retryable, with Retry-After seconds; insufficient_quota is not retryable', async () => {
    server.reply({ kind: 'error', status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } } });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_rate_limited', true, (e) => {
      assert.equal((e as ProviderError & { retryAfterSeconds?: number }).retryAfterSeconds, 7);
      assert.match(e.message, /Rate limit reached.*retry after 7 s/);
    });
    server.reply({ kind: 'error', status: 429, body: { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } } });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_rate_limited', false, (e) => {
      assert.equal((e as ProviderError & { retryAfterSeconds?: number }).retryAfterSeconds, undefined);
    });
  });

  test('5xx is provider_failed and retryable; 400 and 404 are bad_request; vLLM and Ollama error shapes are read', async () => {
    server.reply({ kind: 'error', status: 503, body: { error: { message: 'The server is overloaded', type: 'server_error', code: null } } });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_failed', true, (e) => assert.match(e.message, /overloaded/));
    server.reply({ kind: 'error', status: 400, body: { error: { message: "Invalid value for 'messages'", type: 'invalid_request_error', param: 'messages', code: null } } });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_bad_request', false, (e) => assert.match(e.message, /Invalid value for 'messages'/));
    server.reply({ kind: 'error', status: 400, body: { object: 'error', message: 'maximum context length is 4096 tokens', type: 'BadRequestError', code: 400 } });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_bad_request', false, (e) => assert.match(e.message, /maximum context length/));
    server.reply({ kind: 'error', status: 404, body: { error: "model 'llama9' not found" } });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_bad_request', false, (e) => assert.match(e.message, /model 'llama9' not found/));
  });

  test('a connection dropped mid-stream is provider_failed, retryable, after the text that did arrive', async () => {
    server.reply({ kind: 'drop', pieces: ['Hello ', 'the'] });
    const got: LlmEvent[] = [];
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] }), got), 'provider_failed', true);
    assert.deepEqual(got, [{ type: 'text_delta', text: 'Hello ' }, { type: 'text_delta', text: 'the' }]);
  });

  test('an error event inside a 200 stream, a non-JSON chunk and bad tool-call JSON are provider_failed', async () => {
    server.reply({ kind: 'raw', chunks: [`data: ${JSON.stringify({ error: { message: 'upstream crashed', type: 'server_error' } })}\n\n`] });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_failed', true, (e) => assert.match(e.message, /upstream crashed/));
    server.reply({ kind: 'raw', chunks: ['data: {not json\n\n'] });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_failed', true);
    server.reply({ kind: 'tool_calls', calls: [{ id: 'c', name: 'f', argumentPieces: ['{"a":'] }] });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_failed', true, (e) => assert.match(e.message, /"f" are not valid JSON/));
  });

  test('a stream that ends cleanly but without finish_reason or [DONE] is incomplete (provider_failed)', async () => {
    server.reply({ kind: 'raw', chunks: [`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'half' }, finish_reason: null }] })}\n\n`] });
    await rejectsWith(collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_failed', true, (e) => assert.match(e.message, /ended before/));
  });

  test('a first byte slower than the first-token timeout is provider_timeout (retryable) and the request is cancelled', async () => {
    server.reply({ kind: 'text', pieces: ['late'] }, { firstByteDelayMs: 2_000 });
    await rejectsWith(collect(client(server, { firstTokenTimeoutMs: 50 }).chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_timeout', true, (e) =>
      assert.match(e.message, /no first token within 50 ms/),
    );
    await server.requests.at(-1)?.closedEarly;
  });

  test('a slow first byte within the timeout is fine', async () => {
    server.reply({ kind: 'text', pieces: ['fine'] }, { firstByteDelayMs: 30 });
    const events = await collect(client(server, { firstTokenTimeoutMs: 5_000 }).chat({ messages: [{ role: 'user', content: 'x' }] }));
    assert.equal(events[0]?.type === 'text_delta' && events[0].text, 'fine');
  });

  test('the first-token deadline runs on the injected clock: headers but no token -> timeout when the clock passes it', async () => {
    const { VirtualClock } = await import('../helpers/virtual-clock.js');
    const clock = new VirtualClock();
    server.reply({ kind: 'hang' });
    const n = server.requests.length;
    const done = collect(client(server, { clock, firstTokenTimeoutMs: 4_000 }).chat({ messages: [{ role: 'user', content: 'x' }] }));
    let settled = false;
    done.then(() => (settled = true), () => (settled = true));
    while (server.requests.length === n) await new Promise((r) => setTimeout(r, 5));
    clock.advance(3_999);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(settled, false, 'still waiting before the deadline');
    clock.advance(1);
    await rejectsWith(done, 'provider_timeout', true);
  });

  test('a stream that stalls after it started is provider_timeout once the idle deadline passes (injected clock)', async () => {
    const { VirtualClock } = await import('../helpers/virtual-clock.js');
    const clock = new VirtualClock();
    server.reply({ kind: 'endless', every: 60_000 });
    const got: LlmEvent[] = [];
    const done = collect(client(server, { clock, idleTimeoutMs: 2_000 }).chat({ messages: [{ role: 'user', content: 'x' }] }), got);
    let settled = false;
    done.then(() => (settled = true), () => (settled = true));
    while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
    clock.advance(1_999);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(settled, false, 'still streaming before the idle deadline');
    clock.advance(1);
    await rejectsWith(done, 'provider_timeout', true, (e) => assert.match(e.message, /no data within 2000 ms/));
    assert.deepEqual(got, [{ type: 'text_delta', text: 'word0 ' }]);
    await server.requests.at(-1)?.closedEarly;
  });

  test('aborting while waiting for the first byte ends quietly at once and the server sees the connection close', async () => {
    server.reply({ kind: 'text', pieces: ['late'] }, { firstByteDelayMs: 60_000 });
    const ac = new AbortController();
    const n = server.requests.length;
    const done = collect(client(server).chat({ messages: [{ role: 'user', content: 'x' }], signal: ac.signal }));
    while (server.requests.length === n) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    assert.deepEqual(await done, []);
    await server.requests.at(-1)?.closedEarly;
  });

  test('nothing listening is provider_unavailable, retryable', async () => {
    const gone = await OpenAiProtocolServer.start();
    const url = gone.baseUrl;
    await gone.close();
    const llm = new OpenAiCompatibleLlm({ baseUrl: url, model: 'm', apiKey: KEY });
    await rejectsWith(collect(llm.chat({ messages: [{ role: 'user', content: 'x' }] })), 'provider_unavailable', true, (e) => assert.match(e.message, /ECONNREFUSED/));
  });
});

const liveKey = process.env.OPENAI_API_KEY;
test(
  'live: OpenAI streams a short reply and a tool call',
  { skip: liveKey ? false : 'OPENAI_API_KEY is not set: the live OpenAI test needs a real key and network access' },
  async () => {
    const llm = new OpenAiCompatibleLlm({ name: 'openai', baseUrl: process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1', model: process.env.OPENAI_MODEL ?? 'gpt-4o-mini', apiKey: liveKey });
    const events = await collect(llm.chat({ messages: [{ role: 'user', content: 'Say the word "ready" and nothing else.' }], maxTokens: 10, temperature: 0 }));
    assert.match(events.map((e) => (e.type === 'text_delta' ? e.text : '')).join(''), /ready/i);
    assert.equal(events.at(-1)?.type, 'done');
    const tools = await collect(
      llm.chat({
        messages: [{ role: 'user', content: 'Please hang up now.' }],
        tools: [{ name: 'end_call', description: 'Ends the phone call', parameters: { type: 'object', properties: { reason: { type: 'string' } } } }],
        temperature: 0,
      }),
    );
    assert.ok(tools.some((e) => e.type === 'tool_call' && e.name === 'end_call'), 'the model called end_call');
  },
);
