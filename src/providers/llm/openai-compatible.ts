import { realClock, type Clock } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { ChunkAssembler } from './chunks.js';
import { errorFromResponse } from './http-errors.js';
import { RequestGuard } from './request-guard.js';
import { SseParser } from './sse.js';
import type { LlmChatRequest, LlmEvent, LlmMessage, LlmProvider, LlmToolSpec } from './types.js';

export interface OpenAiCompatibleOptions {
  /** Name shown in errors and logs, e.g. 'openai', 'groq', 'ollama'. */
  name?: string;
  /** Up to and including the version segment, e.g. https://api.openai.com/v1 */
  baseUrl: string;
  model: string;
  /** Sent as `Authorization: Bearer`; never logged, never put in an error message. */
  apiKey?: string;
  temperature?: number;
  maxTokens?: number;
  /** Newer OpenAI models reject max_tokens and want max_completion_tokens. */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /**
   * From sending the request to the first text or tool-call piece. A caller is waiting on the
   * phone, so a server that has not started answering by then is treated as failed (retryable).
   */
  firstTokenTimeoutMs?: number;
  /** Longest silence between two pieces once the answer has started. */
  idleTimeoutMs?: number;
  /** Ask for token usage in the last chunk (stream_options.include_usage). */
  streamUsage?: boolean;
  /** Extra JSON fields merged into every request body (top_p, seed, ...). */
  extraBody?: Record<string, unknown>;
  headers?: Record<string, string>;
  clock?: Clock;
  fetch?: typeof fetch;
}

/** Error bodies and non-streamed replies are cut to this many characters before parsing. */
const MAX_BODY = 1024 * 1024;

/**
 * Chat completions over HTTP with `stream: true`, as documented by OpenAI and implemented by Groq,
 * Together, vLLM, Ollama, llama.cpp's server and others: one SSE `data:` JSON chunk per piece,
 * ending with `data: [DONE]`.
 */
export class OpenAiCompatibleLlm implements LlmProvider {
  readonly name: string;
  readonly capabilities = { streaming: true, toolCalls: true } as const;
  private readonly url: string;
  private readonly clock: Clock;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: OpenAiCompatibleOptions) {
    this.name = opts.name ?? 'openai-compatible';
    this.url = `${opts.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.clock = opts.clock ?? realClock;
    this.fetchFn = opts.fetch ?? fetch;
  }

  /** The JSON body for a request, in the documented chat-completions shape. */
  requestBody(req: LlmChatRequest): Record<string, unknown> {
    const o = this.opts;
    const body: Record<string, unknown> = { ...o.extraBody, model: o.model, messages: req.messages.map(toWire), stream: true };
    if (o.streamUsage ?? true) body.stream_options = { include_usage: true };
    const temperature = req.temperature ?? o.temperature;
    if (temperature !== undefined) body.temperature = temperature;
    const maxTokens = req.maxTokens ?? o.maxTokens;
    if (maxTokens !== undefined) body[o.maxTokensField ?? 'max_tokens'] = maxTokens;
    if (req.tools && req.tools.length > 0) body.tools = req.tools.map(toolToWire);
    return body;
  }

  async *chat(req: LlmChatRequest): AsyncIterable<LlmEvent> {
    if (req.signal?.aborted) return;
    const secret = this.opts.apiKey;
    const guard = new RequestGuard(this.name, this.clock, req.signal, secret);
    const arm = (ms: number, what: string) => guard.arm(ms, what);
    const disarm = () => guard.disarm();
    const stopped = (err: unknown, during: string) => guard.stopped(err, during);
    const firstTokenMs = this.opts.firstTokenTimeoutMs ?? 10_000;
    const idleMs = this.opts.idleTimeoutMs ?? 30_000;
    // Any way out before the body's end (break, abort, error, timeout) must close the connection.
    let eof = false;
    try {
      arm(firstTokenMs, 'no first token');
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream', ...this.opts.headers };
      if (secret !== undefined) headers.authorization = `Bearer ${secret}`;
      let res: Response;
      try {
        res = await this.fetchFn(this.url, { method: 'POST', headers, body: JSON.stringify(this.requestBody(req)), signal: guard.signal });
      } catch (err) {
        const e = stopped(err, 'connect');
        if (e) throw e;
        return;
      }
      const chunks = new ChunkAssembler(this.name, secret);
      if (!res.ok || (res.headers.get('content-type') ?? '').includes('application/json')) {
        let text: string;
        try {
          text = (await res.text()).slice(0, MAX_BODY);
          eof = true;
        } catch (err) {
          const e = stopped(err, 'reading the body');
          if (e === undefined) return;
          if (!res.ok) throw errorFromResponse(this.name, res.status, res.headers, '', secret);
          throw e;
        }
        if (!res.ok) throw errorFromResponse(this.name, res.status, res.headers, text, secret);
        // A server (or proxy) that ignored stream: true and sent the whole completion as JSON.
        const events = [...chunks.push(text), ...chunks.flushCalls(), chunks.done()];
        disarm();
        for (const ev of events) {
          yield ev;
          if (req.signal?.aborted) return;
        }
        return;
      }
      if (res.body === null) throw new ProviderError('provider_failed', `${this.name}: HTTP ${res.status} with no body`, true);
      const reader = res.body.getReader();
      const parser = new SseParser();
      let sawDone = false;
      while (!sawDone && !eof) {
        if (chunks.started) arm(idleMs, 'no data');
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch (err) {
          const e = stopped(err, 'the stream');
          if (e) throw e;
          return;
        }
        if (r.done) eof = true;
        const events: LlmEvent[] = [];
        for (const data of r.done ? parser.end() : parser.push(r.value)) {
          if (data.trim() === '[DONE]') {
            sawDone = true;
            break;
          }
          events.push(...chunks.push(data));
        }
        if (chunks.started) disarm();
        for (const ev of events) {
          yield ev;
          if (req.signal?.aborted) return;
        }
      }
      disarm();
      if (!sawDone && chunks.finishReason === undefined) {
        throw new ProviderError('provider_failed', `${this.name}: the stream ended before the answer was complete`, true);
      }
      for (const ev of chunks.flushCalls()) yield ev;
      if (req.signal?.aborted) return;
      yield chunks.done();
      if (!eof) eof = await guard.drain(reader);
    } finally {
      guard.dispose(eof);
    }
  }
}

function toWire(m: LlmMessage): Record<string, unknown> {
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'assistant':
      if (!m.toolCalls || m.toolCalls.length === 0) return { role: 'assistant', content: m.content };
      return {
        role: 'assistant',
        content: m.content === '' ? null : m.content,
        tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments ?? {}) } })),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  }
}

function toolToWire(t: LlmToolSpec): Record<string, unknown> {
  return { type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } };
}

/** undici hides the useful part ("ECONNREFUSED", "other side closed") in err.cause. */
