import { realClock, type Clock, type TimerHandle } from '../../telephony/clock.js';
import { ProviderError } from '../errors.js';
import { errorFromResponse, parseVendorError, redact } from './http-errors.js';
import { SseParser } from './sse.js';
import type { LlmChatRequest, LlmEvent, LlmFinishReason, LlmMessage, LlmProvider, LlmToolSpec, LlmUsage } from './types.js';

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

const MAX_ERROR_BODY = 16 * 1024;

interface PartialCall {
  id: string;
  name: string;
  args: string;
}

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
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    let timeout: ProviderError | undefined;
    let timer: TimerHandle | undefined;
    const arm = (ms: number, what: string) => {
      if (timer) this.clock.clearTimer(timer);
      timer = this.clock.setTimer(ms, () => {
        timeout = new ProviderError('provider_timeout', `${this.name}: ${what} within ${ms} ms`, true);
        ac.abort();
      });
    };
    const disarm = () => {
      if (timer) this.clock.clearTimer(timer);
      timer = undefined;
    };
    // Why the request stopped, in priority order: the caller's abort is not an error at all.
    const stopped = (err: unknown, during: string): ProviderError | undefined => {
      if (req.signal?.aborted) return undefined;
      if (timeout) return timeout;
      const why = redact(describe(err), secret);
      return new ProviderError(during === 'connect' ? 'provider_unavailable' : 'provider_failed', `${this.name}: ${during} failed: ${why}`, true);
    };
    const firstTokenMs = this.opts.firstTokenTimeoutMs ?? 10_000;
    const idleMs = this.opts.idleTimeoutMs ?? 30_000;
    let finished = false;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      arm(firstTokenMs, 'no first token');
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream', ...this.opts.headers };
      if (secret !== undefined) headers.authorization = `Bearer ${secret}`;
      let res: Response;
      try {
        res = await this.fetchFn(this.url, { method: 'POST', headers, body: JSON.stringify(this.requestBody(req)), signal: ac.signal });
      } catch (err) {
        const e = stopped(err, 'connect');
        if (e) throw e;
        return;
      }
      if (!res.ok) {
        let text = '';
        try {
          text = (await res.text()).slice(0, MAX_ERROR_BODY);
        } catch (err) {
          // The status alone still says what went wrong; only the caller's abort ends quietly.
          if (stopped(err, 'reading the error body') === undefined) return;
        }
        throw errorFromResponse(this.name, res.status, res.headers, text, secret);
      }
      if (res.body === null) throw new ProviderError('provider_failed', `${this.name}: HTTP ${res.status} with no body`, true);
      reader = res.body.getReader();
      const parser = new SseParser();
      const calls = new Map<number, PartialCall>();
      let emittedCalls = 0;
      let started = false;
      let finishReason: LlmFinishReason | undefined;
      let usage: LlmUsage | undefined;
      let sawDone = false;

      const flushCalls = (): LlmEvent[] => {
        const out: LlmEvent[] = [];
        for (const index of [...calls.keys()].sort((a, b) => a - b)) {
          const c = calls.get(index) as PartialCall;
          out.push({ type: 'tool_call', id: c.id, name: c.name, arguments: this.parseArguments(c) });
          emittedCalls++;
        }
        calls.clear();
        return out;
      };

      const handle = (data: string): LlmEvent[] => {
        if (data.trim() === '[DONE]') {
          sawDone = true;
          return [];
        }
        let chunk: WireChunk;
        try {
          chunk = JSON.parse(data) as WireChunk;
        } catch {
          throw new ProviderError('provider_failed', `${this.name}: the stream carried a chunk that is not JSON`, true);
        }
        if (chunk.error !== undefined && chunk.error !== null) {
          // Errors after the 200 arrive inside the stream (OpenAI, vLLM); the body parser reads both shapes.
          const v = parseVendorError(JSON.stringify({ error: chunk.error }));
          throw new ProviderError('provider_failed', redact(`${this.name}: error in stream: ${v.message ?? 'unknown'}`, secret), true);
        }
        const out: LlmEvent[] = [];
        if (chunk.usage) usage = { promptTokens: chunk.usage.prompt_tokens ?? 0, completionTokens: chunk.usage.completion_tokens ?? 0 };
        const choice = chunk.choices?.[0];
        if (!choice) return out;
        const delta = choice.delta ?? {};
        if (typeof delta.content === 'string' && delta.content !== '') {
          started = true;
          out.push({ type: 'text_delta', text: delta.content });
        }
        for (const [pos, frag] of (delta.tool_calls ?? []).entries()) {
          started = true;
          const index = typeof frag.index === 'number' ? frag.index : pos;
          let call = calls.get(index);
          if (!call) {
            call = { id: '', name: '', args: '' };
            calls.set(index, call);
          }
          if (typeof frag.id === 'string' && frag.id !== '' && call.id === '') call.id = frag.id;
          // The name comes whole in the call's first chunk; later chunks carry argument pieces.
          if (typeof frag.function?.name === 'string' && call.name === '') call.name = frag.function.name;
          if (typeof frag.function?.arguments === 'string') call.args += frag.function.arguments;
          else if (frag.function?.arguments !== undefined) call.args += JSON.stringify(frag.function.arguments);
        }
        if (typeof choice.finish_reason === 'string') {
          started = true;
          finishReason = mapFinish(choice.finish_reason);
          out.push(...flushCalls());
        }
        return out;
      };

      while (!sawDone) {
        if (started) arm(idleMs, 'no data');
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch (err) {
          const e = stopped(err, 'the stream');
          if (e) throw e;
          return;
        }
        if (started) disarm();
        const events: LlmEvent[] = [];
        for (const data of r.done ? parser.end() : parser.push(r.value)) {
          if (sawDone) break;
          events.push(...handle(data));
        }
        if (started) disarm();
        for (const ev of events) {
          yield ev;
          if (req.signal?.aborted) return;
        }
        if (r.done) break;
      }
      disarm();
      if (!sawDone && finishReason === undefined) {
        throw new ProviderError('provider_failed', `${this.name}: the stream ended before the answer was complete`, true);
      }
      const pending = flushCalls();
      for (const ev of pending) yield ev;
      finished = true;
      const reason: LlmFinishReason = emittedCalls > 0 ? 'tool_calls' : (finishReason ?? 'stop');
      yield usage ? { type: 'done', finishReason: reason, usage } : { type: 'done', finishReason: reason };
    } finally {
      disarm();
      req.signal?.removeEventListener('abort', onAbort);
      // A consumer that stops early (break, abort, error) must not leave the connection streaming.
      if (!finished) ac.abort();
      reader?.releaseLock();
    }
  }

  private parseArguments(c: PartialCall): unknown {
    if (c.args.trim() === '') return {};
    try {
      return JSON.parse(c.args) as unknown;
    } catch {
      // The model, not the transport, wrote bad JSON; a new attempt usually writes it right.
      throw new ProviderError('provider_failed', `${this.name}: arguments of tool call "${c.name}" are not valid JSON`, true);
    }
  }
}

interface WireChunk {
  choices?: Array<{
    delta?: {
      content?: string | null;
      tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: unknown } }>;
    };
    finish_reason?: string | null;
  }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: unknown;
}

function mapFinish(r: string): LlmFinishReason {
  if (r === 'stop' || r === 'length' || r === 'tool_calls' || r === 'content_filter') return r;
  if (r === 'function_call') return 'tool_calls';
  if (r === 'eos' || r === 'stop_sequence') return 'stop';
  return 'other';
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
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${(err.cause as NodeJS.ErrnoException).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}
