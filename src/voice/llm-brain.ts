/**
 * An LLM as the agent's brain: the conversation as messages (system prompt, the language to speak,
 * call context, turns), the tools the model may call, and the loop that runs a tool and feeds its
 * result back until the model answers in words. end_call (built in, or as the agent declared it) lets
 * the model hang up politely, unless the agent turned it off.
 */
import { END_CALL_BUILT_IN, endCallGoodbye } from '../providers/llm/agent-tools.js';
import type { LlmMessage, LlmProvider, LlmToolCall, LlmToolSpec } from '../providers/llm/types.js';
import { runSafely, type AgentBrain, type BrainInput, type BrainOutput, type ToolRunner } from './brain.js';
import { languageInstruction } from './instructions.js';

/** The end_call offered when the agent declares none (src/providers/llm/agent-tools.ts). */
export const END_CALL_TOOL: LlmToolSpec = END_CALL_BUILT_IN;

/** Tool rounds per turn: a model stuck calling tools must not hold the line forever. */
const MAX_ROUNDS = 5;

export interface LlmBrainOptions {
  llm: LlmProvider;
  systemPrompt: string;
  /** The call's language (BCP-47): the model is told to speak it. */
  language?: string;
  /** Facts about this call (dynamic variables, who is called), given to the model as a system message. */
  callContext?: Record<string, unknown>;
  /** The agent's tools other than end_call. */
  tools?: readonly LlmToolSpec[];
  /** The end_call the model may call to hang up: undefined for the built-in one, null for none. */
  endCall?: LlmToolSpec | null;
  runTool?: ToolRunner;
  /** Spoken verbatim at the start (and recorded as the assistant's first message). */
  greeting?: string;
}

export class LlmAgentBrain implements AgentBrain {
  readonly ownsTimeouts = false;
  readonly messages: LlmMessage[] = [];
  /** Index of the assistant message of the reply in progress (replaced with what was heard on barge-in). */
  #replyIndex: number | undefined;

  readonly #endCall: LlmToolSpec | null;

  constructor(private readonly opts: LlmBrainOptions) {
    this.#endCall = opts.endCall === undefined ? END_CALL_TOOL : opts.endCall;
    this.messages.push({ role: 'system', content: opts.systemPrompt });
    if (opts.language) this.messages.push({ role: 'system', content: languageInstruction(opts.language) });
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
      const tools = [...(this.opts.tools ?? []), ...(this.#endCall ? [this.#endCall] : [])];
      for await (const ev of this.opts.llm.chat({ messages: this.messages, tools, signal })) {
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
        if (c.name === this.#endCall?.name) {
          const goodbye = endCallGoodbye(c.arguments);
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
