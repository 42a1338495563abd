import { ProviderError } from '../errors.js';
import { parseVendorError, redact } from './http-errors.js';
import type { LlmEvent, LlmFinishReason, LlmUsage } from './types.js';

interface WireToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: unknown };
}

interface WireChunk {
  choices?: Array<{
    delta?: { content?: string | null; tool_calls?: WireToolCall[] };
    /** Only in a non-streamed reply (a server that ignored stream: true). */
    message?: { content?: string | null; tool_calls?: WireToolCall[] };
    finish_reason?: string | null;
  }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: unknown;
}

interface PartialCall {
  id: string;
  name: string;
  args: string;
}

/**
 * Turns chat-completion chunks into LlmEvents. Tool calls stream as fragments keyed by `index`:
 * the id and function name in a call's first fragment, the arguments JSON in pieces after it.
 * They are held until finish_reason (or the end of the stream) and then emitted whole, once each.
 */
export class ChunkAssembler {
  /** A text or tool-call piece or a finish has arrived: the first-token deadline is met. */
  started = false;
  finishReason: LlmFinishReason | undefined;
  usage: LlmUsage | undefined;
  private readonly calls = new Map<number, PartialCall>();
  private emittedCalls = 0;

  constructor(
    private readonly provider: string,
    private readonly secret: string | undefined,
  ) {}

  /** One `data:` payload (not [DONE]) -> the events it completes. */
  push(data: string): LlmEvent[] {
    let chunk: WireChunk;
    try {
      chunk = JSON.parse(data) as WireChunk;
    } catch {
      throw new ProviderError('provider_failed', `${this.provider}: the stream carried a chunk that is not JSON`, true);
    }
    if (chunk.error !== undefined && chunk.error !== null) {
      // Errors after the 200 arrive inside the stream (OpenAI, vLLM); the body parser reads both shapes.
      const v = parseVendorError(JSON.stringify({ error: chunk.error }));
      throw new ProviderError('provider_failed', redact(`${this.provider}: error in stream: ${v.message ?? 'unknown'}`, this.secret), true);
    }
    const out: LlmEvent[] = [];
    if (chunk.usage) this.usage = { promptTokens: chunk.usage.prompt_tokens ?? 0, completionTokens: chunk.usage.completion_tokens ?? 0 };
    const choice = chunk.choices?.[0];
    if (!choice) return out;
    const delta = choice.delta ?? choice.message ?? {};
    if (typeof delta.content === 'string' && delta.content !== '') {
      this.started = true;
      out.push({ type: 'text_delta', text: delta.content });
    }
    for (const [pos, frag] of (delta.tool_calls ?? []).entries()) {
      this.started = true;
      const index = typeof frag.index === 'number' ? frag.index : pos;
      let call = this.calls.get(index);
      if (!call) {
        call = { id: '', name: '', args: '' };
        this.calls.set(index, call);
      }
      if (typeof frag.id === 'string' && frag.id !== '' && call.id === '') call.id = frag.id;
      // The name comes whole in the call's first fragment; later ones carry argument pieces.
      if (typeof frag.function?.name === 'string' && call.name === '') call.name = frag.function.name;
      const args = frag.function?.arguments;
      // Some servers (Ollama) send the arguments as an object rather than JSON text.
      if (typeof args === 'string') call.args += args;
      else if (args !== undefined && args !== null) call.args += JSON.stringify(args);
    }
    if (typeof choice.finish_reason === 'string') {
      this.started = true;
      this.finishReason = mapFinish(choice.finish_reason);
      out.push(...this.flushCalls());
    }
    return out;
  }

  /** Tool calls still held (a stream that ended without finish_reason). */
  flushCalls(): LlmEvent[] {
    const out: LlmEvent[] = [];
    for (const index of [...this.calls.keys()].sort((a, b) => a - b)) {
      const c = this.calls.get(index) as PartialCall;
      // A call id is needed to answer the call; a server that omits it gets a stable one.
      out.push({ type: 'tool_call', id: c.id || `call_${index}`, name: c.name, arguments: this.parseArguments(c) });
      this.emittedCalls++;
    }
    this.calls.clear();
    return out;
  }

  done(): LlmEvent {
    const reason: LlmFinishReason = this.emittedCalls > 0 ? 'tool_calls' : (this.finishReason ?? 'stop');
    return this.usage ? { type: 'done', finishReason: reason, usage: this.usage } : { type: 'done', finishReason: reason };
  }

  private parseArguments(c: PartialCall): unknown {
    if (c.args.trim() === '') return {};
    try {
      return JSON.parse(c.args) as unknown;
    } catch {
      // The model, not the transport, wrote bad JSON; a new attempt usually writes it right.
      throw new ProviderError('provider_failed', `${this.provider}: arguments of tool call "${c.name}" are not valid JSON`, true);
    }
  }
}

function mapFinish(r: string): LlmFinishReason {
  if (r === 'stop' || r === 'length' || r === 'tool_calls' || r === 'content_filter') return r;
  if (r === 'function_call') return 'tool_calls';
  if (r === 'eos' || r === 'stop_sequence') return 'stop';
  return 'other';
}
