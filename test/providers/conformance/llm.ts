/**
 * The behaviour every LlmProvider must show, whatever the vendor: text streams in order and ends
 * with 'done'; a tool call comes back parsed and its result can be sent back in the next turn;
 * aborting ends the stream at once, quietly, and the backend sees the request cancelled; failures
 * are ProviderErrors with the right code and retryable flag.
 *
 * An implementation's test file supplies a target (the provider wired to a scripted backend that
 * speaks the vendor's protocol) and registers each case with its test runner.
 */
import assert from 'node:assert/strict';
import { ProviderError, type ProviderErrorCode } from '../../../src/providers/errors.js';
import type { LlmEvent, LlmMessage, LlmProvider, LlmToolSpec } from '../../../src/providers/llm/types.js';

export interface LlmConformanceTarget {
  provider: LlmProvider;
  /** The next request is answered with these text pieces, streamed in this order. */
  scriptText(pieces: string[]): void;
  /** The next request is answered with one tool call. */
  scriptToolCall(call: { id: string; name: string; arguments: Record<string, unknown> }): void;
  /** The next request is answered with text that never ends until the client goes away. */
  scriptEndless(): void;
  /** The next request fails the way the vendor reports a bad key, a rate limit, or a server fault. */
  scriptFailure(kind: 'auth' | 'rate_limit' | 'server'): void;
  /** How many requests reached the backend. */
  requestCount(): number;
  /** Request i as the backend understood it, translated back to the neutral types. */
  received(i: number): { messages: LlmMessage[]; tools: string[] };
  /** Resolves once the backend saw request i cancelled before its reply was complete. */
  cancelled(i: number): Promise<void>;
}

export interface LlmConformanceCase {
  name: string;
  run(target: LlmConformanceTarget): Promise<void>;
}

async function collect(it: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const out: LlmEvent[] = [];
  for await (const ev of it) out.push(ev);
  return out;
}

/**
 * A liveness bound, not a speed check: a backend that is never told about the cancel would
 * otherwise hang the suite instead of failing it.
 */
async function eventually(p: Promise<void>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what} did not happen within 5 s` })), 5_000);
  });
  try {
    await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

const text = (events: LlmEvent[]) => events.map((e) => (e.type === 'text_delta' ? e.text : '')).join('');

function assertEndsWithDone(events: LlmEvent[], finishReason: string): void {
  const last = events.at(-1);
  assert.equal(last?.type, 'done', 'the last event is done');
  assert.equal(last.type === 'done' ? last.finishReason : undefined, finishReason);
  assert.equal(events.filter((e) => e.type === 'done').length, 1, 'exactly one done');
}

const BOOK: LlmToolSpec = {
  name: 'book_slot',
  description: 'Books an appointment slot',
  parameters: { type: 'object', properties: { day: { type: 'string' }, hour: { type: 'integer' } }, required: ['day', 'hour'] },
};

export const llmConformance: readonly LlmConformanceCase[] = [
  {
    name: 'streams text pieces in order and ends with one done (stop)',
    async run(t) {
      const pieces = ['Hel', 'lo, ', 'this is ', 'Outcall.'];
      t.scriptText(pieces);
      const events = await collect(t.provider.chat({ messages: [{ role: 'user', content: 'hi' }] }));
      const deltas = events.filter((e) => e.type === 'text_delta');
      if (t.provider.capabilities.streaming) assert.ok(deltas.length >= 2, `streamed in pieces, got ${deltas.length}`);
      assert.equal(text(events), pieces.join(''));
      assertEndsWithDone(events, 'stop');
    },
  },
  {
    name: 'tool call round trip: parsed arguments out, tool result back in the next turn',
    async run(t) {
      if (!t.provider.capabilities.toolCalls) return;
      const args = { day: 'Tuesday', hour: 10 };
      t.scriptToolCall({ id: 'call_1', name: 'book_slot', arguments: args });
      const first: LlmMessage[] = [
        { role: 'system', content: 'You book appointments.' },
        { role: 'user', content: 'Tuesday at ten, please.' },
      ];
      const events = await collect(t.provider.chat({ messages: first, tools: [BOOK] }));
      const calls = events.filter((e) => e.type === 'tool_call');
      assert.deepEqual(calls, [{ type: 'tool_call', id: 'call_1', name: 'book_slot', arguments: args }]);
      assertEndsWithDone(events, 'tool_calls');
      assert.deepEqual(t.received(t.requestCount() - 1).tools, ['book_slot']);

      t.scriptText(['Booked ', 'for Tuesday.']);
      const second: LlmMessage[] = [
        ...first,
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'book_slot', arguments: args }] },
        { role: 'tool', toolCallId: 'call_1', content: '{"ok":true}' },
      ];
      const reply = await collect(t.provider.chat({ messages: second, tools: [BOOK] }));
      assert.equal(text(reply), 'Booked for Tuesday.');
      assert.deepEqual(t.received(t.requestCount() - 1).messages, second);
    },
  },
  {
    name: 'aborting mid-stream ends the stream quietly and cancels the request',
    async run(t) {
      t.scriptEndless();
      const ac = new AbortController();
      const events: LlmEvent[] = [];
      for await (const ev of t.provider.chat({ messages: [{ role: 'user', content: 'talk' }], signal: ac.signal })) {
        events.push(ev);
        if (ev.type === 'text_delta' && events.length >= 2) ac.abort();
      }
      assert.ok(events.length >= 2, 'got text before the abort');
      assert.ok(!events.some((e) => e.type === 'done'), 'no done after an abort');
      await eventually(t.cancelled(t.requestCount() - 1), 'the backend seeing the request cancelled');
    },
  },
  {
    name: 'a consumer that stops reading early cancels the request',
    async run(t) {
      t.scriptEndless();
      for await (const ev of t.provider.chat({ messages: [{ role: 'user', content: 'talk' }] })) {
        if (ev.type === 'text_delta') break;
      }
      await eventually(t.cancelled(t.requestCount() - 1), 'the backend seeing the request cancelled');
    },
  },
  {
    name: 'an already aborted signal sends nothing',
    async run(t) {
      const before = t.requestCount();
      const ac = new AbortController();
      ac.abort();
      const events = await collect(t.provider.chat({ messages: [{ role: 'user', content: 'hi' }], signal: ac.signal }));
      assert.deepEqual(events, []);
      assert.equal(t.requestCount(), before);
    },
  },
  {
    name: 'failures are ProviderErrors with stable codes and the right retryable flag',
    async run(t) {
      const cases: Array<['auth' | 'rate_limit' | 'server', ProviderErrorCode, boolean]> = [
        ['auth', 'provider_auth_failed', false],
        ['rate_limit', 'provider_rate_limited', true],
        ['server', 'provider_failed', true],
      ];
      for (const [kind, code, retryable] of cases) {
        t.scriptFailure(kind);
        await assert.rejects(collect(t.provider.chat({ messages: [{ role: 'user', content: 'hi' }] })), (err: unknown) => {
          assert.ok(err instanceof ProviderError, `${kind}: a ProviderError, got ${String(err)}`);
          assert.equal(err.code, code, kind);
          assert.equal(err.retryable, retryable, `${kind} retryable`);
          return true;
        });
      }
    },
  },
];
