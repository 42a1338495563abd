/**
 * Language model: one small interface with capability flags. A turn goes in as a list of messages
 * (and the tools the model may call); what comes out is a stream of events, so the voice runtime
 * can send the first words to TTS while the model is still writing the rest.
 */
export interface LlmCapabilities {
  /** Text arrives in pieces while the model generates, not all at the end. */
  readonly streaming: boolean;
  /** The model can be offered tools and answer with tool calls. */
  readonly toolCalls: boolean;
}

/** A tool offered to the model. `parameters` is a JSON schema of the arguments object. */
export interface LlmToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** A call the model asked for. `arguments` is the parsed JSON the model wrote. */
export interface LlmToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

export type LlmMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  /** What the model said earlier; `toolCalls` when it asked for tools in that turn. */
  | { role: 'assistant'; content: string; toolCalls?: LlmToolCall[] }
  /** The result of one tool call, answered by id; `content` is what the model reads (often JSON). */
  | { role: 'tool'; toolCallId: string; content: string };

/**
 * Why generation stopped. 'tool_calls' whenever the turn produced tool calls, even if the server
 * said otherwise (some OpenAI-compatible servers report 'stop' there), so callers can rely on it.
 */
export type LlmFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

export type LlmEvent =
  | { type: 'text_delta'; text: string }
  /** Emitted once per call, when its arguments are complete. */
  | { type: 'tool_call'; id: string; name: string; arguments: unknown }
  /** Always the last event of a turn that completed. */
  | { type: 'done'; finishReason: LlmFinishReason; usage?: LlmUsage };

export interface LlmChatRequest {
  messages: readonly LlmMessage[];
  tools?: readonly LlmToolSpec[];
  temperature?: number;
  maxTokens?: number;
  /**
   * Aborting (barge-in, hang-up) cancels the request at once and ends the stream quietly:
   * no error and no 'done' event, because the caller already knows why it stopped.
   */
  signal?: AbortSignal;
}

export interface LlmProvider {
  readonly name: string;
  readonly capabilities: LlmCapabilities;
  /** Failures are ProviderErrors (src/providers/errors.ts), thrown from the iteration. */
  chat(req: LlmChatRequest): AsyncIterable<LlmEvent>;
}
