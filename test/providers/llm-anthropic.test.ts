import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { llmConformance, type LlmConformanceTarget } from './conformance/llm.js';
import { ProviderError } from '../../src/providers/errors.js';
import { AnthropicLlm, createAnthropicLlm, type AnthropicLlmOptions } from '../../src/providers/llm/anthropic.js';
import { CALL_CONNECTED_TURN } from '../../src/providers/llm/anthropic-wire.js';
import { createLlmProvider, LLM_PROVIDERS } from '../../src/providers/llm/index.js';
import type { LlmEvent, LlmMessage } from '../../src/providers/llm/types.js';
import { AnthropicProtocolServer } from '../helpers/anthropic-protocol-server.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

const KEY = 'sk-ant-test-0123456789SECRET';

async function collect(it: AsyncIterable<LlmEvent>, into: LlmEvent[] = []): Promise<LlmEvent[]> {
  for await (const ev of it) into.push(ev);
  return into;
}

type WireBlock = { type: string; text?: string; id?: string; name?: string; input?: unknown; tool_use_id?: string; content?: string };

/** What the server received, back to the neutral types (merged turns split again) for the round-trip check. */
function fromWire(body: Record<string, unknown>): LlmMessage[] {
  const out: LlmMessage[] = [];
  for (const s of (body.system as WireBlock[] | undefined) ?? []) out.push({ role: 'system', content: s.text ?? '' });
  for (const m of body.messages as Array<{ role: string; content: WireBlock[] }>) {
    if (m.role === 'assistant') {
      const text = m.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
      const calls = m.content.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id ?? '', name: b.name ?? '', arguments: b.input }));
      out.push(calls.length > 0 ? { role: 'assistant', content: text, toolCalls: calls } : { role: 'assistant', content: text });
    } else {
      for (const b of m.content) {
        if (b.type === 'tool_result') out.push({ role: 'tool', toolCallId: b.tool_use_id ?? '', content: b.content ?? '' });
        else out.push({ role: 'user', content: b.text ?? '' });
      }
    }
  }
  return out;
}

function client(server: AnthropicProtocolServer, extra: Partial<AnthropicLlmOptions> = {}): AnthropicLlm {
  return new AnthropicLlm({ baseUrl: server.baseUrl, apiKey: KEY, ...extra });
}

function rejectsWith(p: Promise<unknown>, code: string, retryable: boolean, check?: (e: ProviderError) => void): Promise<void> {
  return assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ProviderError, `a ProviderError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.retryable, retryable, err.message);
    assert.ok(!err.message.includes(KEY), 'the API key never appears in an error');
    check?.(err);
    return true;
  });
}

const hi: LlmMessage[] = [{ role: 'user', content: 'hi' }];

describe('LLM conformance: Anthropic client against the local Messages API server', { timeout: 30_000 }, () => {
  let server: AnthropicProtocolServer;
  let target: LlmConformanceTarget;
  before(async () => {
    server = await AnthropicProtocolServer.start();
    target = {
      provider: client(server),
      scriptText: (pieces) => void server.reply({ kind: 'text', pieces }),
      scriptToolCall: (c) => {
        const json = JSON.stringify(c.arguments);
        server.reply({ kind: 'tool_use', calls: [{ id: c.id, name: c.name, jsonPieces: [json.slice(0, 3), json.slice(3, 9), json.slice(9)] }] });
      },
      scriptEndless: () => void server.reply({ kind: 'endless', every: 5 }),
      scriptFailure: (kind) => {
        if (kind === 'auth') server.reply({ kind: 'error', status: 401, errorType: 'authentication_error', message: 'invalid x-api-key' });
        else if (kind === 'rate_limit') server.reply({ kind: 'error', status: 429, errorType: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' });
        else server.reply({ kind: 'error', status: 500, errorType: 'api_error', message: 'Internal server error' });
      },
      requestCount: () => server.requests.length,
      received: (i) => {
        const body = server.requests[i]?.body ?? {};
        return { messages: fromWire(body), tools: ((body.tools as Array<{ name: string }> | undefined) ?? []).map((t) => t.name) };
      },
      cancelled: (i) => server.requests[i]?.closedEarly ?? Promise.reject(new Error(`no request ${i}`)),
    };
  });
  after(() => server.close());
  for (const c of llmConformance) test(c.name, () => c.run(target));
});

describe('Anthropic client: request shape, stream details and failures', { timeout: 30_000 }, () => {
  let server: AnthropicProtocolServer;
  before(async () => {
    server = await AnthropicProtocolServer.start();
  });
  after(() => server.close());

  test('headers and body: x-api-key, version, model, max_tokens, system blocks and the last tool marked for caching', async () => {
    server.reply({ kind: 'text', pieces: ['ok'] });
    const llm = client(server, { model: 'claude-sonnet-4-5', temperature: 0.3, maxTokens: 300 });
    const tools = [
      { name: 'a', description: 'A', parameters: { type: 'object', properties: {} } },
      { name: 'b', description: 'B', parameters: { type: 'object', properties: { x: { type: 'string' } } } },
    ];
    await collect(llm.chat({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'system', content: 'call_context: {}' }, ...hi], tools }));
    const r = server.requests.at(-1);
    assert.equal(r?.invalid, undefined);
    assert.equal(r?.headers['x-api-key'], KEY);
    assert.equal(r?.headers['anthropic-version'], '2023-06-01');
    assert.equal(r?.headers.authorization, undefined, 'the key goes in x-api-key, not a bearer header');
    assert.deepEqual(r?.body, {
      model: 'claude-sonnet-4-5',
      max_tokens: 300,
      system: [
        { type: 'text', text: 'Be brief.' },
        { type: 'text', text: 'call_context: {}', cache_control: { type: 'ephemeral' } },
      ],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      tools: [
        { name: 'a', description: 'A', input_schema: { type: 'object', properties: {} } },
        { name: 'b', description: 'B', input_schema: { type: 'object', properties: { x: { type: 'string' } } }, cache_control: { type: 'ephemeral' } },
      ],
      temperature: 0.3,
      stream: true,
    });
  });

  test('defaults: claude-haiku-4-5, max_tokens 1024; prompt_caching false sends no cache_control', async () => {
    server.reply({ kind: 'text', pieces: ['ok'] });
    const llm = createAnthropicLlm({ provider: 'anthropic', base_url: server.baseUrl, api_key: KEY, options: { prompt_caching: false } });
    await collect(llm.chat({ messages: [{ role: 'system', content: 'S' }, ...hi], tools: [{ name: 'a', description: 'A', parameters: { type: 'object' } }] }));
    const body = server.requests.at(-1)?.body ?? {};
    assert.equal(body.model, 'claude-haiku-4-5');
    assert.equal(body.max_tokens, 1024);
    assert.equal(JSON.stringify(body).includes('cache_control'), false);
  });

  test('parallel tool results merge into one user turn, a following utterance joins it after them, turns alternate', async () => {
    server.reply({ kind: 'text', pieces: ['done'] });
    const messages: LlmMessage[] = [
      { role: 'system', content: 'S' },
      { role: 'assistant', content: 'Hello, this is Outcall.' }, // the greeting opens the call
      { role: 'user', content: 'Book Tuesday' },
      { role: 'user', content: 'and Wednesday' },
      { role: 'assistant', content: 'One moment.', toolCalls: [{ id: 't1', name: 'book', arguments: { d: 'Tue' } }, { id: 't2', name: 'book', arguments: { d: 'Wed' } }] },
      { role: 'tool', toolCallId: 't1', content: '{"ok":true}' },
      { role: 'tool', toolCallId: 't2', content: '{"ok":false}' },
      { role: 'user', content: 'thanks' },
      { role: 'assistant', content: '' }, // cut off before a word was heard
      { role: 'user', content: 'hello?' },
    ];
    await collect(client(server).chat({ messages }));
    const r = server.requests.at(-1);
    assert.equal(r?.invalid, undefined, r?.invalid);
    assert.deepEqual(r?.body.messages, [
      { role: 'user', content: [{ type: 'text', text: CALL_CONNECTED_TURN }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Hello, this is Outcall.' }] },
      { role: 'user', content: [{ type: 'text', text: 'Book Tuesday' }, { type: 'text', text: 'and Wednesday' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'One moment.' },
          { type: 'tool_use', id: 't1', name: 'book', input: { d: 'Tue' } },
          { type: 'tool_use', id: 't2', name: 'book', input: { d: 'Wed' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: '{"ok":true}' },
          { type: 'tool_result', tool_use_id: 't2', content: '{"ok":false}' },
          { type: 'text', text: 'thanks' },
          { type: 'text', text: 'hello?' },
        ],
      },
    ]);
  });

  test('the local server refuses turns that do not alternate, as the real API does (the checks above can fail)', async () => {
    const raw = new AnthropicLlm({ baseUrl: server.baseUrl, apiKey: KEY });
    const body = raw.requestBody({ messages: hi });
    const res = await fetch(`${server.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...body, messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] }),
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /roles must alternate/);
  });

  test('text before a tool call, two calls with JSON in pieces, usage with cache tokens on done', async () => {
    server.reply({ kind: 'tool_use', textBefore: ['Let me ', 'check.'], calls: [{ id: 'toolu_1', name: 'a', jsonPieces: ['{"x"', ': 1}'] }, { id: 'toolu_2', name: 'b', jsonPieces: [] }] });
    const events = await collect(client(server).chat({ messages: hi }));
    assert.deepEqual(events, [
      { type: 'text_delta', text: 'Let me ' },
      { type: 'text_delta', text: 'check.' },
      { type: 'tool_call', id: 'toolu_1', name: 'a', arguments: { x: 1 } },
      { type: 'tool_call', id: 'toolu_2', name: 'b', arguments: {} },
      { type: 'done', finishReason: 'tool_calls', usage: { promptTokens: 12, completionTokens: 20 } },
    ]);
    server.reply({ kind: 'text', pieces: ['a', 'b'], stopReason: 'max_tokens', usage: { input_tokens: 5, cache_read_input_tokens: 1000, cache_creation_input_tokens: 30, output_tokens: 2 } });
    const cut = await collect(client(server).chat({ messages: hi }));
    assert.deepEqual(cut.at(-1), { type: 'done', finishReason: 'length', usage: { promptTokens: 1035, completionTokens: 2 } });
  });

  test('HTTP errors: 401/403/402 auth (not retryable), 429 with retry-after, 529 unavailable, 500 failed, 400/413 bad request', async () => {
    const cases: Array<[number, string, string, boolean]> = [
      [401, 'authentication_error', 'provider_auth_failed', false],
      [403, 'permission_error', 'provider_auth_failed', false],
      [402, 'billing_error', 'provider_auth_failed', false],
      [429, 'rate_limit_error', 'provider_rate_limited', true],
      [529, 'overloaded_error', 'provider_unavailable', true],
      [500, 'api_error', 'provider_failed', true],
      [504, 'timeout_error', 'provider_timeout', true],
      [400, 'invalid_request_error', 'provider_bad_request', false],
      [413, 'request_too_large', 'provider_bad_request', false],
    ];
    for (const [status, type, code, retryable] of cases) {
      server.reply({ kind: 'error', status, errorType: type, message: `${type} happened for ${KEY}`, headers: status === 429 ? { 'retry-after': '12' } : {} });
      await rejectsWith(collect(client(server).chat({ messages: hi })), code, retryable, (e) => {
        assert.match(e.message, new RegExp(`anthropic: HTTP ${status}: ${type} happened for \\[redacted\\] \\(type ${type}\\)`));
        if (status === 429) assert.equal((e as ProviderError & { retryAfterSeconds?: number }).retryAfterSeconds, 12);
      });
    }
    server.reply({ kind: 'error', status: 502, body: '<html>Bad gateway</html>' });
    await rejectsWith(collect(client(server).chat({ messages: hi })), 'provider_unavailable', true, (e) => assert.match(e.message, /Bad gateway/));
  });

  test('an error event after the 200 (overloaded_error) is a ProviderError after the text that did arrive', async () => {
    server.reply({ kind: 'error_event', pieces: ['Sure, '], errorType: 'overloaded_error', message: 'Overloaded' });
    const got: LlmEvent[] = [];
    await rejectsWith(collect(client(server).chat({ messages: hi }), got), 'provider_unavailable', true, (e) => assert.match(e.message, /error in stream: Overloaded \(type overloaded_error\)/));
    assert.deepEqual(got, [{ type: 'text_delta', text: 'Sure, ' }]);
    server.reply({ kind: 'error_event', pieces: [], errorType: 'api_error', message: 'boom' });
    await rejectsWith(collect(client(server).chat({ messages: hi })), 'provider_failed', true);
  });

  test('a dropped connection, a non-JSON event, bad tool JSON and a stream ending early are provider_failed', async () => {
    server.reply({ kind: 'drop', pieces: ['Hello ', 'the'] });
    const got: LlmEvent[] = [];
    await rejectsWith(collect(client(server).chat({ messages: hi }), got), 'provider_failed', true);
    assert.deepEqual(got, [{ type: 'text_delta', text: 'Hello ' }, { type: 'text_delta', text: 'the' }]);
    server.reply({ kind: 'raw', chunks: ['event: message_start\ndata: {not json\n\n'] });
    await rejectsWith(collect(client(server).chat({ messages: hi })), 'provider_failed', true, (e) => assert.match(e.message, /not a JSON object/));
    server.reply({ kind: 'tool_use', calls: [{ id: 't', name: 'f', jsonPieces: ['{"a":'] }] });
    await rejectsWith(collect(client(server).chat({ messages: hi })), 'provider_failed', true, (e) => assert.match(e.message, /"f" is not valid JSON/));
    const ev = (o: Record<string, unknown>) => `event: ${String(o.type)}\ndata: ${JSON.stringify(o)}\n\n`;
    server.reply({ kind: 'raw', chunks: [ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'half' } })] });
    await rejectsWith(collect(client(server).chat({ messages: hi })), 'provider_failed', true, (e) => assert.match(e.message, /ended before/));
  });

  test('unknown event and delta types (thinking, future ones) are skipped; text in content_block_start is kept', async () => {
    const ev = (o: Record<string, unknown>) => `event: ${String(o.type)}\ndata: ${JSON.stringify(o)}\n\n`;
    server.reply({
      kind: 'raw',
      chunks: [
        ev({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
        ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
        ev({ type: 'content_block_stop', index: 0 }),
        ev({ type: 'brand_new_event', index: 3 }),
        ev({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: 'Hi' } }),
        ev({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: ' there' } }),
        ev({ type: 'content_block_stop', index: 1 }),
        ev({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } }),
        ev({ type: 'message_stop' }),
      ],
    });
    assert.deepEqual(await collect(client(server).chat({ messages: hi })), [
      { type: 'text_delta', text: 'Hi' },
      { type: 'text_delta', text: ' there' },
      { type: 'done', finishReason: 'stop', usage: { promptTokens: 0, completionTokens: 3 } },
    ]);
  });

  test('first-token and idle deadlines run on the injected clock (pings do not count as a first token)', async () => {
    const clock = new VirtualClock();
    server.reply({ kind: 'raw', chunks: ['event: ping\ndata: {"type": "ping"}\n\n'] }, { endDelayMs: 60_000 });
    const n = server.requests.length;
    const done = collect(client(server, { clock, firstTokenTimeoutMs: 4_000 }).chat({ messages: hi }));
    let settled = false;
    done.then(() => (settled = true), () => (settled = true));
    while (server.requests.length === n) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    clock.advance(3_999);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(settled, false, 'still waiting before the deadline');
    clock.advance(1);
    await rejectsWith(done, 'provider_timeout', true, (e) => assert.match(e.message, /no first token within 4000 ms/));
    await server.requests.at(-1)?.closedEarly;

    server.reply({ kind: 'endless', every: 60_000 });
    const got: LlmEvent[] = [];
    const idle = collect(client(server, { clock, idleTimeoutMs: 2_000 }).chat({ messages: hi }), got);
    while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
    clock.advance(2_000);
    await rejectsWith(idle, 'provider_timeout', true, (e) => assert.match(e.message, /no data within 2000 ms/));
    await server.requests.at(-1)?.closedEarly;
  });

  test('aborting while waiting for the first byte ends quietly and the server sees the connection close', async () => {
    server.reply({ kind: 'text', pieces: ['late'] }, { firstByteDelayMs: 60_000 });
    const ac = new AbortController();
    const n = server.requests.length;
    const done = collect(client(server).chat({ messages: hi, signal: ac.signal }));
    while (server.requests.length === n) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    assert.deepEqual(await done, []);
    await server.requests.at(-1)?.closedEarly;
  });

  test('nothing listening is provider_unavailable', async () => {
    const gone = await AnthropicProtocolServer.start();
    const url = gone.baseUrl;
    await gone.close();
    await rejectsWith(collect(new AnthropicLlm({ baseUrl: url, apiKey: KEY }).chat({ messages: hi })), 'provider_unavailable', true, (e) => assert.match(e.message, /ECONNREFUSED/));
  });
});

test('factory: registered as "anthropic"; no key is auth_failed; bad options are bad_request before any request', () => {
  assert.ok(LLM_PROVIDERS.includes('anthropic'));
  assert.ok(createLlmProvider({ provider: 'anthropic', api_key: KEY }) instanceof AnthropicLlm);
  assert.throws(() => createLlmProvider({ provider: 'anthropic' }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_auth_failed' && /ANTHROPIC_API_KEY/.test(e.message));
  const bad = (options: Record<string, string | number | boolean>, extra: { temperature?: number } = {}, pattern: RegExp) =>
    assert.throws(
      () => createAnthropicLlm({ provider: 'anthropic', api_key: KEY, options, ...extra }),
      (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request' && !e.retryable && pattern.test(e.message),
    );
  bad({ first_token_timeout_ms: 'soon' }, {}, /must be a number/);
  bad({ prompt_caching: 'yes' }, {}, /must be true or false/);
  bad({ top_p: 2 }, {}, /top_p/);
  bad({ seed: 1 }, {}, /unknown option seed/);
  bad({}, { temperature: 1.5 }, /temperature must be between 0 and 1/);
});

const liveKey = process.env.ANTHROPIC_API_KEY;
test(
  'live: Anthropic streams a short reply and a tool call',
  { skip: liveKey ? false : 'ANTHROPIC_API_KEY is not set: the live Anthropic test needs a real key and network access' },
  async () => {
    const llm = createAnthropicLlm({ provider: 'anthropic', api_key: liveKey, ...(process.env.ANTHROPIC_MODEL ? { model: process.env.ANTHROPIC_MODEL } : {}) });
    const events = await collect(llm.chat({ messages: [{ role: 'system', content: 'You answer in one word.' }, { role: 'user', content: 'Say the word "ready" and nothing else.' }], maxTokens: 10, temperature: 0 }));
    assert.match(events.map((e) => (e.type === 'text_delta' ? e.text : '')).join(''), /ready/i);
    assert.equal(events.at(-1)?.type, 'done');
    const tools = await collect(
      llm.chat({
        messages: [{ role: 'assistant', content: 'Hello, this is the clinic.' }, { role: 'user', content: 'Please hang up now.' }],
        tools: [{ name: 'end_call', description: 'Ends the phone call', parameters: { type: 'object', properties: { reason: { type: 'string' } } } }],
        temperature: 0,
      }),
    );
    assert.ok(tools.some((e) => e.type === 'tool_call' && e.name === 'end_call'), 'the model called end_call');
  },
);
