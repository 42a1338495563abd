import { ProviderError } from '../errors.js';
import type { LlmChatRequest, LlmEvent, LlmProvider, LlmToolCall } from './types.js';

export type ScriptedTurn =
  | { text: string[] }
  | { toolCalls: LlmToolCall[]; text?: string[] }
  | { error: ProviderError }
  /** Text that keeps coming until the caller aborts or stops reading (barge-in tests). */
  | { endless: true };

/**
 * An in-memory LlmProvider that answers from a script, one turn per chat() call, and records what
 * it was asked. For voice-pipeline tests that need a model without HTTP (barge-in cancelling the
 * LLM, tool turns); it passes the same conformance suite as the real clients.
 */
export class ScriptedLlm implements LlmProvider {
  readonly name = 'scripted';
  readonly capabilities = { streaming: true, toolCalls: true } as const;
  readonly requests: LlmChatRequest[] = [];
  private readonly script: ScriptedTurn[] = [];
  private readonly cancels: Array<{ promise: Promise<void>; resolve: () => void }> = [];

  reply(turn: ScriptedTurn): this {
    this.script.push(turn);
    return this;
  }

  /** Resolves once request i was aborted or abandoned before its turn was complete. */
  cancelled(i: number): Promise<void> {
    const c = this.cancels[i];
    return c ? c.promise : Promise.reject(new Error(`no request ${i}`));
  }

  async *chat(req: LlmChatRequest): AsyncIterable<LlmEvent> {
    if (req.signal?.aborted) return;
    const i = this.requests.length;
    this.requests.push({ ...req, messages: structuredClone([...req.messages]), ...(req.tools ? { tools: structuredClone([...req.tools]) } : {}) });
    let resolve!: () => void;
    this.cancels[i] = { promise: new Promise<void>((r) => (resolve = r)), resolve };
    const turn = this.script.shift();
    let complete = false;
    try {
      // A real model answers asynchronously; so does this, so callers cannot depend on sync delivery.
      await tick();
      if (req.signal?.aborted) return;
      if (turn === undefined) throw new ProviderError('provider_failed', 'scripted: no reply scripted for this request', false);
      if ('error' in turn) throw turn.error;
      if ('endless' in turn) {
        for (let n = 0; ; n++) {
          yield { type: 'text_delta', text: `word${n} ` };
          await tick();
          if (req.signal?.aborted) return;
        }
      }
      for (const text of turn.text ?? []) {
        yield { type: 'text_delta', text };
        if (req.signal?.aborted) return;
      }
      const calls = 'toolCalls' in turn ? turn.toolCalls : [];
      for (const c of calls) {
        yield { type: 'tool_call', id: c.id, name: c.name, arguments: structuredClone(c.arguments) };
        if (req.signal?.aborted) return;
      }
      complete = true;
      yield { type: 'done', finishReason: calls.length > 0 ? 'tool_calls' : 'stop' };
    } finally {
      if (!complete) resolve();
    }
  }
}

function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
