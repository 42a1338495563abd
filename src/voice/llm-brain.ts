/**
 * An LLM as the agent's brain: the conversation as messages (system prompt, call context, turns),
 * the tools the model may call, and the loop that runs a tool and feeds its result back until the
 * model answers in words. `end_call` is always offered so the model can hang up politely.
 */
import type { LlmMessage, LlmProvider, LlmToolCall, LlmToolSpec } from '../providers/llm/types.js';
import { runSafely, type AgentBrain, type BrainInput, type BrainOutput, type ToolRunner } from './brain.js';

export const END_CALL_TOOL: LlmToolSpec = {
  name: 'end_call',
  description: 'Hang up the call. Use when the conversation is over. Say goodbye in `goodbye`.',
  parameters: { type: 'object', properties: { goodbye: { type: 'string' } } },
};

/** Tool rounds per turn: a model stuck calling tools must not hold the line forever. */
const MAX_ROUNDS = 5;

export interface LlmBrainOptions {
  llm: LlmProvider;
  systemPrompt: string;
  /** Facts about this call (dynamic variables, who is called), given to the model as a system message. */
  callContext?: Record<string, unknown>;
  tools?: readonly LlmToolSpec[];
  runTool?: ToolRunner;
  /** Spoken verbatim at the start (and recorded as the assistant's first message). */
  greeting?: string;
}

export class LlmAgentBrain implements AgentBrain {
  readonly ownsTimeouts = false;
  readonly messages: LlmMessage[] = [];
  /** Index of the assistant message of the reply in progress (replaced with what was heard on barge-in). */
  #replyIndex: number | undefined;

  constructor(private readonly opts: LlmBrainOptions) {
    this.messages.push({ role: 'system', content: opts.systemPrompt });
    if (opts.callContext) this.messages.push({ role: 'system', content: `call_context: ${JSON.stringify(opts.callContext)}` });
  }

  interrupted(heardText: string): void {
    const i = this.#replyIndex;
    const m = i === undefined ? undefined : this.messages[i];
    if (m && m.role === 'assistant') m.content = heardText;
    // Cut off before a word was heard: the model said nothing, as far as the callee knows.
    else if (heardText !== '') this.messages.push({ role: 'assistant', content: heardText });
  }

  /** The configured greeting is known before answer; anything the model says is not. */
  opening(greeting: string | undefined): BrainOutput[] {
    const g = greeting ?? this.opts.greeting;
    return g === undefined ? [] : [{ type: 'text', text: g }];
  }

  async *respond(input: BrainInput, signal: AbortSignal): AsyncIterable<BrainOutput> {
    this.#replyIndex = undefined;
    if (input.type === 'start') {
      const greeting = input.greeting ?? this.opts.greeting;
      if (greeting !== undefined) {
        this.#replyIndex = this.messages.push({ role: 'assistant', content: greeting }) - 1;
        yield { type: 'text', text: greeting };
        return;
      }
    } else if (input.type === 'utterance') this.messages.push({ role: 'user', content: input.text });
    else if (input.type === 'dtmf') this.messages.push({ role: 'user', content: `[the callee pressed ${input.digit}]` });
    else this.messages.push({ role: 'user', content: '[the callee has been silent]' });

    for (let round = 0; round < MAX_ROUNDS; round++) {
      let text = '';
      const calls: LlmToolCall[] = [];
      // Errors (ProviderError) propagate: the session turns them into error_llm.
      for await (const ev of this.opts.llm.chat({ messages: this.messages, tools: [...(this.opts.tools ?? []), END_CALL_TOOL], signal })) {
        if (ev.type === 'text_delta') {
          text += ev.text;
          yield { type: 'text', text: ev.text };
        } else if (ev.type === 'tool_call') calls.push({ id: ev.id, name: ev.name, arguments: ev.arguments });
      }
      if (signal.aborted) return;
      this.#replyIndex = this.messages.push({ role: 'assistant', content: text, ...(calls.length > 0 ? { toolCalls: calls } : {}) }) - 1;
      if (calls.length === 0) return;
      yield { type: 'flush' };
      for (const c of calls) {
        if (c.name === END_CALL_TOOL.name) {
          const goodbye = goodbyeOf(c.arguments);
          this.messages.push({ role: 'tool', toolCallId: c.id, content: '{"ok":true}' });
          if (goodbye) yield { type: 'text', text: ` ${goodbye}` };
          yield { type: 'end_call', reason: 'agent_hangup' };
          return;
        }
        yield { type: 'tool_call_started', id: c.id, name: c.name, arguments: c.arguments };
        const r = this.opts.runTool
          ? await runSafely(this.opts.runTool, c.name, c.arguments, signal)
          : { ok: false, result: { error: `no tool runner for ${c.name}` } };
        if (signal.aborted) return;
        yield { type: 'tool_call_finished', id: c.id, name: c.name, ...r };
        this.messages.push({ role: 'tool', toolCallId: c.id, content: JSON.stringify(r) });
      }
    }
  }
}

function goodbyeOf(args: unknown): string | undefined {
  if (typeof args === 'object' && args !== null && 'goodbye' in args) {
    const g = (args as { goodbye: unknown }).goodbye;
    if (typeof g === 'string' && g.trim().length > 0) return g.trim();
  }
  return undefined;
}
