/**
 * The Anthropic Messages API's shapes: our neutral messages into a request body, and the streamed
 * events back into LlmEvents. Kept apart from the HTTP client (anthropic.ts) so each stays small.
 *
 * Request shape: https://platform.claude.com/docs/en/api/messages (top-level `system`, `messages`
 * of user/assistant turns with content blocks, `tools` with `input_schema`).
 * Streaming events: https://platform.claude.com/docs/en/build-with-claude/streaming
 */
import { ProviderError, type ProviderErrorCode } from '../errors.js';
import { ProviderRateLimitedError, redact } from './http-errors.js';
import type { LlmEvent, LlmFinishReason, LlmMessage, LlmToolSpec, LlmUsage } from './types.js';

type Block = Record<string, unknown>;
export interface WireMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

const EPHEMERAL = { type: 'ephemeral' } as const;

/**
 * Stands in for the callee's side when the conversation opens with the agent's greeting: the
 * Messages API is built on user/assistant turns that start with a user turn (see "Using the
 * Messages API", platform.claude.com/docs/en/build-with-claude/working-with-messages).
 */
export const CALL_CONNECTED_TURN = '[the call is connected]';

/**
 * System messages become top-level `system` text blocks (the API has no system role). With
 * caching, the last system block and the last tool carry `cache_control: ephemeral`, so the
 * stable prefix (tools, then system) is read from cache on later turns instead of re-billed:
 * https://platform.claude.com/docs/en/build-with-claude/prompt-caching and
 * https://platform.claude.com/docs/en/agents-and-tools/tool-use/tool-use-with-prompt-caching
 */
export function systemToWire(messages: readonly LlmMessage[], caching: boolean): Block[] | undefined {
  const blocks: Block[] = messages.filter((m) => m.role === 'system' && m.content !== '').map((m) => ({ type: 'text', text: m.content }));
  if (blocks.length === 0) return undefined;
  if (caching) (blocks[blocks.length - 1] as Block).cache_control = EPHEMERAL;
  return blocks;
}

export function toolsToWire(tools: readonly LlmToolSpec[], caching: boolean): Block[] {
  const out: Block[] = tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));
  if (caching && out.length > 0) (out[out.length - 1] as Block).cache_control = EPHEMERAL;
  return out;
}

/**
 * The conversation as alternating user/assistant turns. Assistant tool calls become `tool_use`
 * blocks; tool results become `tool_result` blocks in a user turn, consecutive results merged into
 * one turn, and any consecutive same-role turns merged, since the API wants turns to alternate.
 * Within a user turn the tool results go first: "tool_result blocks must come FIRST in the content
 * array" (https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use).
 * Empty text is dropped: the API refuses empty text blocks.
 */
export function messagesToWire(messages: readonly LlmMessage[]): WireMessage[] {
  const out: WireMessage[] = [];
  const add = (role: WireMessage['role'], blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = out.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const m of messages) {
    switch (m.role) {
      case 'system':
        break;
      case 'user':
        add('user', m.content === '' ? [] : [{ type: 'text', text: m.content }]);
        break;
      case 'assistant': {
        const blocks: Block[] = m.content === '' ? [] : [{ type: 'text', text: m.content }];
        for (const c of m.toolCalls ?? []) blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: isObject(c.arguments) ? c.arguments : {} });
        add('assistant', blocks);
        break;
      }
      case 'tool':
        add('user', [{ type: 'tool_result', tool_use_id: m.toolCallId, content: m.content }]);
        break;
    }
  }
  for (const m of out) {
    if (m.role === 'user') m.content.sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result'));
  }
  if (out[0]?.role === 'assistant') out.unshift({ role: 'user', content: [{ type: 'text', text: CALL_CONNECTED_TURN }] });
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An Anthropic error type (HTTP body or a streamed `error` event) as our code. Types from
 * https://platform.claude.com/docs/en/api/errors: overloaded_error (529) is retryable and means
 * the service cannot take the request now; api_error (500) is an internal failure.
 */
export function codeForErrorType(type: string | undefined): { code: ProviderErrorCode; retryable: boolean } {
  switch (type) {
    case 'authentication_error':
    case 'permission_error':
    case 'billing_error':
      return { code: 'provider_auth_failed', retryable: false };
    case 'rate_limit_error':
      return { code: 'provider_rate_limited', retryable: true };
    case 'overloaded_error':
      return { code: 'provider_unavailable', retryable: true };
    case 'timeout_error':
      return { code: 'provider_timeout', retryable: true };
    case 'invalid_request_error':
    case 'not_found_error':
    case 'request_too_large':
      return { code: 'provider_bad_request', retryable: false };
    default:
      return { code: 'provider_failed', retryable: true };
  }
}

interface Pending {
  kind: 'text' | 'tool_use' | 'other';
  id: string;
  name: string;
  json: string;
  input: unknown;
}

/**
 * Turns the stream's events into LlmEvents: message_start, then per content block a
 * content_block_start / content_block_delta... / content_block_stop, then message_delta (stop
 * reason, cumulative usage) and message_stop; `ping` may come anywhere; an `error` event may come
 * after the 200 (e.g. overloaded_error). A tool call's input streams as `input_json_delta`
 * partial JSON and is parsed at its content_block_stop. Unknown event and delta types (thinking,
 * citations, ones added later) are skipped, as the streaming guide asks.
 */
export class AnthropicStreamAssembler {
  /** A text or tool piece or a stop reason arrived: the first-token deadline is met. */
  started = false;
  stopped = false;
  stopReason: string | undefined;
  private readonly blocks = new Map<number, Pending>();
  private emittedCalls = 0;
  private input = { input: 0, cacheWrite: 0, cacheRead: 0 };
  private output: number | undefined;

  constructor(
    private readonly provider: string,
    private readonly secret: string | undefined,
  ) {}

  push(data: string): LlmEvent[] {
    let ev: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(data);
      if (!isObject(parsed)) throw new Error('not an object');
      ev = parsed;
    } catch {
      throw new ProviderError('provider_failed', `${this.provider}: the stream carried an event that is not a JSON object`, true);
    }
    const index = typeof ev.index === 'number' ? ev.index : 0;
    switch (ev.type) {
      case 'message_start': {
        const msg = isObject(ev.message) ? ev.message : {};
        this.usage(msg.usage);
        return [];
      }
      case 'content_block_start': {
        const b = isObject(ev.content_block) ? ev.content_block : {};
        const kind = b.type === 'text' ? 'text' : b.type === 'tool_use' ? 'tool_use' : 'other';
        this.blocks.set(index, { kind, id: str(b.id), name: str(b.name), json: '', input: b.input });
        if (kind === 'tool_use') this.started = true;
        if (kind === 'text' && typeof b.text === 'string' && b.text !== '') return [this.text(b.text)];
        return [];
      }
      case 'content_block_delta': {
        const d = isObject(ev.delta) ? ev.delta : {};
        const block = this.blocks.get(index);
        if (d.type === 'text_delta' && typeof d.text === 'string' && d.text !== '') return [this.text(d.text)];
        if (d.type === 'input_json_delta' && typeof d.partial_json === 'string' && block?.kind === 'tool_use') {
          this.started = true;
          block.json += d.partial_json;
        }
        return [];
      }
      case 'content_block_stop': {
        const block = this.blocks.get(index);
        this.blocks.delete(index);
        return block?.kind === 'tool_use' ? [this.toolCall(block, index)] : [];
      }
      case 'message_delta': {
        const d = isObject(ev.delta) ? ev.delta : {};
        if (typeof d.stop_reason === 'string') {
          this.stopReason = d.stop_reason;
          this.started = true;
        }
        this.usage(ev.usage);
        return [];
      }
      case 'message_stop':
        this.stopped = true;
        return [];
      case 'error': {
        const e = isObject(ev.error) ? ev.error : {};
        const type = typeof e.type === 'string' ? e.type : undefined;
        const text = redact(`${this.provider}: error in stream: ${str(e.message) || 'unknown'}${type ? ` (type ${type})` : ''}`, this.secret);
        const { code, retryable } = codeForErrorType(type);
        if (code === 'provider_rate_limited') throw new ProviderRateLimitedError(text, true, undefined);
        throw new ProviderError(code, text, retryable);
      }
      default:
        return []; // ping, and event types added after this was written
    }
  }

  done(): LlmEvent {
    const reason: LlmFinishReason = this.emittedCalls > 0 ? 'tool_calls' : mapStop(this.stopReason);
    const usage: LlmUsage | undefined =
      this.output === undefined ? undefined : { promptTokens: this.input.input + this.input.cacheWrite + this.input.cacheRead, completionTokens: this.output };
    return usage ? { type: 'done', finishReason: reason, usage } : { type: 'done', finishReason: reason };
  }

  private text(text: string): LlmEvent {
    this.started = true;
    return { type: 'text_delta', text };
  }

  private toolCall(b: Pending, index: number): LlmEvent {
    let args: unknown;
    if (b.json.trim() === '') args = isObject(b.input) ? b.input : {};
    else {
      try {
        args = JSON.parse(b.json) as unknown;
      } catch {
        throw new ProviderError('provider_failed', `${this.provider}: input of tool call "${b.name}" is not valid JSON`, true);
      }
    }
    this.emittedCalls++;
    return { type: 'tool_call', id: b.id || `toolu_${index}`, name: b.name, arguments: args };
  }

  /** message_start carries the input counts; message_delta the cumulative output count. */
  private usage(u: unknown): void {
    if (!isObject(u)) return;
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    this.input = {
      input: n(u.input_tokens) ?? this.input.input,
      cacheWrite: n(u.cache_creation_input_tokens) ?? this.input.cacheWrite,
      cacheRead: n(u.cache_read_input_tokens) ?? this.input.cacheRead,
    };
    this.output = n(u.output_tokens) ?? this.output;
  }
}

/** Stop reasons: https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons */
function mapStop(r: string | undefined): LlmFinishReason {
  switch (r) {
    case undefined:
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
