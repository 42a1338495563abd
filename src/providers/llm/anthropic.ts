/**
 * Anthropic's Messages API over HTTP with `stream: true` (server-sent events).
 * - Request: POST {base_url}/v1/messages with `x-api-key`, `anthropic-version: 2023-06-01` and a JSON
 *   body {model, max_tokens, system, messages, tools, temperature, stream}:
 *   https://platform.claude.com/docs/en/api/messages
 * - Stream: https://platform.claude.com/docs/en/build-with-claude/streaming (see anthropic-wire.ts)
 * - Errors: `{"type":"error","error":{"type","message"},"request_id"}` with the HTTP status, and the
 *   same `error` object as a streamed event after a 200: https://platform.claude.com/docs/en/api/errors
 */
import { realClock, type Clock } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { booleanOption, numberOption, requireApiKey, stringOption, type ResolvedProviderSettings } from '../settings.js';
import { AnthropicStreamAssembler, messagesToWire, systemToWire, toolsToWire } from './anthropic-wire.js';
import { errorFromResponse } from './http-errors.js';
import { RequestGuard } from './request-guard.js';
import { SseParser } from './sse.js';
import type { LlmChatRequest, LlmEvent, LlmProvider } from './types.js';

export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
/** The API version header every request carries (https://platform.claude.com/docs/en/api/versioning). */
export const ANTHROPIC_VERSION = '2023-06-01';
/**
 * Claude Haiku 4.5 (alias, tracks the latest snapshot): Anthropic's fastest current model, chosen
 * because a caller on the phone waits for the first words. Agents set `llm.model` for Sonnet/Opus.
 */
export const ANTHROPIC_DEFAULT_MODEL = 'claude-haiku-4-5';
/** max_tokens is required by the Messages API; a spoken reply is short. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;

export interface AnthropicLlmOptions {
  name?: string;
  /** Without the /v1 segment, e.g. https://api.anthropic.com */
  baseUrl?: string;
  model?: string;
  /** Sent as `x-api-key`; never logged, never put in an error message. */
  apiKey: string;
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  topK?: number;
  /** Marks the system prompt and the last tool with cache_control (default true). */
  promptCaching?: boolean;
  /** From sending the request to the first text or tool piece (default 10 s). */
  firstTokenTimeoutMs?: number;
  /** Longest silence between two events once the answer has started (default 30 s). */
  idleTimeoutMs?: number;
  /** The `anthropic-version` header (default 2023-06-01). */
  version?: string;
  headers?: Record<string, string>;
  clock?: Clock;
  fetch?: typeof fetch;
}

/** Options an agent may set under llm.options for provider "anthropic". */
const KNOWN_OPTIONS = ['first_token_timeout_ms', 'idle_timeout_ms', 'prompt_caching', 'top_p', 'top_k', 'anthropic_version'] as const;

const MAX_BODY = 1024 * 1024;

export class AnthropicLlm implements LlmProvider {
  readonly name: string;
  readonly capabilities = { streaming: true, toolCalls: true } as const;
  private readonly url: string;
  private readonly clock: Clock;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: AnthropicLlmOptions) {
    this.name = opts.name ?? 'anthropic';
    this.url = `${(opts.baseUrl ?? ANTHROPIC_BASE_URL).replace(/\/+$/, '')}/v1/messages`;
    this.clock = opts.clock ?? realClock;
    this.fetchFn = opts.fetch ?? fetch;
  }

  /** The JSON body for a request, in the documented Messages API shape. */
  requestBody(req: LlmChatRequest): Record<string, unknown> {
    const o = this.opts;
    const caching = o.promptCaching ?? true;
    const body: Record<string, unknown> = {
      model: o.model ?? ANTHROPIC_DEFAULT_MODEL,
      max_tokens: req.maxTokens ?? o.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    };
    const system = systemToWire(req.messages, caching);
    if (system) body.system = system;
    body.messages = messagesToWire(req.messages);
    if (req.tools && req.tools.length > 0) body.tools = toolsToWire(req.tools, caching);
    const temperature = req.temperature ?? o.temperature;
    if (temperature !== undefined) body.temperature = temperature;
    if (o.topP !== undefined) body.top_p = o.topP;
    if (o.topK !== undefined) body.top_k = o.topK;
    body.stream = true;
    return body;
  }

  async *chat(req: LlmChatRequest): AsyncIterable<LlmEvent> {
    if (req.signal?.aborted) return;
    const secret = this.opts.apiKey;
    const guard = new RequestGuard(this.name, this.clock, req.signal, secret);
    const arm = (ms: number, what: string) => guard.arm(ms, what);
    const disarm = () => guard.disarm();
    const stopped = (err: unknown, during: string) => guard.stopped(err, during);
    let eof = false;
    try {
      arm(this.opts.firstTokenTimeoutMs ?? 10_000, 'no first token');
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        'anthropic-version': this.opts.version ?? ANTHROPIC_VERSION,
        ...this.opts.headers,
        'x-api-key': secret,
      };
      let res: Response;
      try {
        res = await this.fetchFn(this.url, { method: 'POST', headers, body: JSON.stringify(this.requestBody(req)), signal: guard.signal });
      } catch (err) {
        const e = stopped(err, 'connect');
        if (e) throw e;
        return;
      }
      if (!res.ok) {
        let text = '';
        try {
          text = (await res.text()).slice(0, MAX_BODY);
          eof = true;
        } catch (err) {
          if (stopped(err, 'reading the body') === undefined) return;
        }
        throw anthropicHttpError(this.name, res.status, res.headers, text, secret);
      }
      if (res.body === null) throw new ProviderError('provider_failed', `${this.name}: HTTP ${res.status} with no body`, true);
      const reader = res.body.getReader();
      const parser = new SseParser();
      const asm = new AnthropicStreamAssembler(this.name, secret);
      while (!asm.stopped && !eof) {
        if (asm.started) arm(this.opts.idleTimeoutMs ?? 30_000, 'no data');
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
        // An error event may share a read with the text before it: that text is still delivered first.
        let failure: unknown;
        try {
          for (const data of r.done ? parser.end() : parser.push(r.value)) {
            events.push(...asm.push(data));
            if (asm.stopped) break;
          }
        } catch (err) {
          failure = err;
        }
        if (asm.started) disarm();
        for (const ev of events) {
          yield ev;
          if (req.signal?.aborted) return;
        }
        if (failure !== undefined) throw failure;
      }
      disarm();
      // message_stop ends a complete answer; a stream cut after message_delta's stop reason lost
      // nothing but the closing event, so it is accepted too.
      if (!asm.stopped && asm.stopReason === undefined) {
        throw new ProviderError('provider_failed', `${this.name}: the stream ended before the answer was complete`, true);
      }
      yield asm.done();
      if (!eof) eof = await guard.drain(reader);
    } finally {
      guard.dispose(eof);
    }
  }
}

/**
 * A non-2xx answer as a ProviderError: the shared mapping (401/403 auth, 429 rate limited with
 * retry-after, 4xx bad request), refined with Anthropic's statuses: 529 overloaded_error and
 * 502/503 are provider_unavailable (retryable: another provider or a later try may work), 504
 * timeout_error is provider_timeout, 402 billing_error is an account problem like a bad key.
 */
export function anthropicHttpError(name: string, status: number, headers: Headers, body: string, secret: string | undefined): ProviderError {
  const e = errorFromResponse(name, status, headers, body, secret);
  if (status === 529 || status === 502 || status === 503) return new ProviderError('provider_unavailable', e.message, true);
  if (status === 504) return new ProviderError('provider_timeout', e.message, true);
  if (status === 402) return new ProviderError('provider_auth_failed', e.message, false);
  return e;
}

/** What can be checked without the network: option names and types, sampling ranges. */
export function checkAnthropicLlmSettings(s: ResolvedProviderSettings): void {
  const bad = (msg: string) => new ProviderError('provider_bad_request', `anthropic: ${msg}`, false);
  for (const k of Object.keys(s.options ?? {})) {
    if (!(KNOWN_OPTIONS as readonly string[]).includes(k)) throw bad(`unknown option ${k}; known: ${KNOWN_OPTIONS.join(', ')}`);
  }
  for (const k of ['first_token_timeout_ms', 'idle_timeout_ms'] as const) {
    const v = numberOption(s, k);
    if (v !== undefined && v <= 0) throw bad(`${k} must be positive`);
  }
  booleanOption(s, 'prompt_caching');
  stringOption(s, 'anthropic_version');
  const topP = numberOption(s, 'top_p');
  if (topP !== undefined && (topP < 0 || topP > 1)) throw bad('top_p must be between 0 and 1');
  const topK = numberOption(s, 'top_k');
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw bad('top_k must be a positive integer');
  // The Messages API takes temperature in 0..1 (not OpenAI's 0..2).
  if (s.temperature !== undefined && (s.temperature < 0 || s.temperature > 1)) throw bad('temperature must be between 0 and 1');
  if (s.max_tokens !== undefined && (!Number.isInteger(s.max_tokens) || s.max_tokens < 1)) throw bad('max_tokens must be a positive integer');
}

export function createAnthropicLlm(s: ResolvedProviderSettings, extra: { clock?: Clock; fetch?: typeof fetch } = {}): AnthropicLlm {
  checkAnthropicLlmSettings(s);
  const opts: AnthropicLlmOptions = { ...extra, name: s.provider, apiKey: requireApiKey('llm', s) };
  if (s.base_url !== undefined) opts.baseUrl = s.base_url;
  if (s.model !== undefined) opts.model = s.model;
  if (s.temperature !== undefined) opts.temperature = s.temperature;
  if (s.max_tokens !== undefined) opts.maxTokens = s.max_tokens;
  const set = <K extends keyof AnthropicLlmOptions>(k: K, v: AnthropicLlmOptions[K] | undefined) => {
    if (v !== undefined) opts[k] = v;
  };
  set('firstTokenTimeoutMs', numberOption(s, 'first_token_timeout_ms'));
  set('idleTimeoutMs', numberOption(s, 'idle_timeout_ms'));
  set('promptCaching', booleanOption(s, 'prompt_caching'));
  set('topP', numberOption(s, 'top_p'));
  set('topK', numberOption(s, 'top_k'));
  set('version', stringOption(s, 'anthropic_version'));
  return new AnthropicLlm(opts);
}

/** undici hides the useful part ("ECONNREFUSED", "other side closed") in err.cause. */
