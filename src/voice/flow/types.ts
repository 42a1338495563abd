/**
 * A scripted conversation: plain JSON data, so an agent can hold a call with no LLM account at
 * all. The flow is a graph of nodes keyed by id; the brain walks it, driven by what the callee
 * says or keys in, and tells the runtime what to do next (say, call a tool, hang up, wait).
 */

/** The end reasons a flow may give (src/contract/status.ts END_REASONS). */
export type FlowEndReason = 'agent_hangup' | 'inactivity_timeout';
export const FLOW_END_REASONS: readonly FlowEndReason[] = ['agent_hangup', 'inactivity_timeout'];

/** Speaks `text` ({{variables}} filled), then goes on to `next` at once. */
export interface SayNode {
  type: 'say';
  text: string;
  next: string;
}

/**
 * Waits for the callee's utterance or a DTMF digit, then goes to `next`. After `timeout_ms` of
 * silence it says `reprompt` and listens again, up to `max_reprompts` times; then `on_timeout`.
 */
export interface ListenNode {
  type: 'listen';
  timeout_ms: number;
  next: string;
  on_timeout: string;
  reprompt?: string;
  max_reprompts?: number;
}

/**
 * One way out of a branch: taken when the last utterance contains one of the keywords (whole
 * words, any case; a keyword of several words matches them in sequence) or the last digit was `dtmf`.
 * With `variable`, the case reads that variable instead of the callee's last input: the call's
 * `call_context`, one of its dynamic_variables, `last_utterance` or `last_dtmf`; it matches when
 * the value contains one of the keywords, or when it `equals` the given text (trimmed, any case).
 * A variable the call does not give matches no case.
 */
export interface BranchCase {
  keywords?: string[];
  dtmf?: string;
  variable?: string;
  equals?: string;
  next: string;
}

/** Picks the first matching case, in order, on the last input; `default` when none matches. */
export interface BranchNode {
  type: 'branch';
  cases: BranchCase[];
  default: string;
}

/** Calls a named tool with static arguments (string values may hold {{variables}}). */
export interface ToolNode {
  type: 'tool';
  tool: string;
  arguments?: Record<string, unknown>;
  on_success: string;
  on_failure: string;
}

/** Says the goodbye (if any), then ends the call. */
export interface EndNode {
  type: 'end';
  text?: string;
  reason?: FlowEndReason;
}

export type FlowNode = SayNode | ListenNode | BranchNode | ToolNode | EndNode;

export interface Flow {
  start: string;
  nodes: Record<string, FlowNode>;
}

/** What happened on the call, as the runtime reports it to the brain. */
export type FlowEvent =
  | { type: 'callee_utterance'; text: string }
  | { type: 'dtmf'; digit: string }
  | { type: 'tool_result'; ok: boolean; result?: unknown }
  /**
   * The wait's timer ran out. `listenId` (from the wait action) lets the brain ignore a timer that
   * fired just as the callee spoke and the flow moved on.
   */
  | { type: 'timeout'; listenId?: number };

/** What the runtime should do, in order. A batch ends with wait, call_tool or end_call. */
export type FlowAction =
  | { type: 'say'; text: string }
  | { type: 'call_tool'; name: string; arguments: Record<string, unknown> }
  | { type: 'end_call'; reason: FlowEndReason }
  /** Listen; send a timeout event after timeoutMs of silence (counted once the prompt has played). */
  | { type: 'wait'; timeoutMs: number; listenId: number };
