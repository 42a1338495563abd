/**
 * What decides what the agent says. The session does not care whether a scripted flow or an LLM is
 * behind it: it feeds one input per turn and reads a stream of outputs, which it chunks, speaks and
 * records. Aborting the signal (barge-in, hang-up) ends the stream quietly.
 */
import type { FlowBrain, FlowAction, FlowEndReason } from './flow/index.js';

export type BrainInput =
  /** The callee answered; `greeting` is what the agent should open with, if configured. */
  | { type: 'start'; greeting?: string }
  | { type: 'utterance'; text: string }
  | { type: 'dtmf'; digit: string }
  | { type: 'timeout'; listenId?: number };

export type BrainOutput =
  /** Words to speak (a delta: may be part of a sentence). */
  | { type: 'text'; text: string }
  /** Speak what is buffered now even without a sentence end (before a slow tool call). */
  | { type: 'flush' }
  | { type: 'tool_call_started'; id: string; name: string; arguments: unknown }
  | { type: 'tool_call_finished'; id: string; name: string; ok: boolean; result?: unknown }
  /** Hang up once everything said so far has played. */
  | { type: 'end_call'; reason: FlowEndReason }
  /** Listen; with timeoutMs, the brain wants a 'timeout' input after that much silence. */
  | { type: 'wait'; timeoutMs?: number; listenId?: number };

export interface AgentBrain {
  respond(input: BrainInput, signal: AbortSignal): AsyncIterable<BrainOutput>;
  /** The last reply was cut off: only `heardText` of it reached the callee. */
  interrupted(heardText: string): void;
  /** Whether the brain runs its own silence timers (a flow's listen timeouts). */
  readonly ownsTimeouts: boolean;
  /**
   * What respond({type: 'start', greeting}) will say before it needs anything from outside (the
   * callee, a tool, the model), so it can be synthesized while the phone rings. Must not change the
   * brain's state. Omitted or empty: nothing is known in advance.
   */
  opening?(greeting: string | undefined): BrainOutput[];
  /** What the callee's next answer can be heard as (a closed-vocabulary recognizer's grammar); omitted: open conversation. */
  vocabulary?(): string[];
}

/** Runs one tool; a thrown error is reported to the brain as a failed result, never as a crash. */
export type ToolRunner = (name: string, args: unknown, signal: AbortSignal) => Promise<unknown>;

/** Adapts the pure, synchronous FlowBrain: the session owns audio and timers, this owns tool calls. */
export class FlowAgentBrain implements AgentBrain {
  readonly ownsTimeouts = true;
  #toolSeq = 0;
  #started = false;

  constructor(
    private readonly flow: FlowBrain,
    private readonly runTool: ToolRunner,
  ) {}

  interrupted(): void {
    // A flow does not remember what it said; nothing to correct.
  }

  vocabulary(): string[] {
    return this.flow.vocabulary();
  }

  opening(): BrainOutput[] {
    return this.flow.opening().flatMap((text): BrainOutput[] => [{ type: 'text', text: `${text} ` }, { type: 'flush' }]);
  }

  async *respond(input: BrainInput, signal: AbortSignal): AsyncIterable<BrainOutput> {
    // When the callee speaks first, their first words start the flow (its opening answers them).
    const start = input.type === 'start' || !this.#started;
    this.#started = true;
    let actions: FlowAction[] =
      start
        ? this.flow.start()
        : input.type === 'utterance'
          ? this.flow.handle({ type: 'callee_utterance', text: input.text })
          : input.type === 'dtmf'
            ? this.flow.handle({ type: 'dtmf', digit: input.digit })
            : this.flow.handle(input.listenId === undefined ? { type: 'timeout' } : { type: 'timeout', listenId: input.listenId });
    while (actions.length > 0 && !signal.aborted) {
      let next: FlowAction[] = [];
      for (const a of actions) {
        if (signal.aborted) return;
        switch (a.type) {
          case 'say':
            yield { type: 'text', text: `${a.text} ` };
            yield { type: 'flush' };
            break;
          case 'call_tool': {
            const id = `flow_tool_${++this.#toolSeq}`;
            yield { type: 'tool_call_started', id, name: a.name, arguments: a.arguments };
            const r = await runSafely(this.runTool, a.name, a.arguments, signal);
            if (signal.aborted) return;
            yield { type: 'tool_call_finished', id, name: a.name, ...r };
            next = this.flow.handle({ type: 'tool_result', ...r });
            break;
          }
          case 'end_call':
            yield { type: 'end_call', reason: a.reason };
            return;
          case 'wait':
            yield { type: 'wait', timeoutMs: a.timeoutMs, listenId: a.listenId };
            break;
        }
      }
      actions = next;
    }
  }
}

export async function runSafely(
  run: ToolRunner,
  name: string,
  args: unknown,
  signal: AbortSignal,
): Promise<{ ok: boolean; result?: unknown }> {
  try {
    return { ok: true, result: await run(name, args, signal) };
  } catch (err) {
    // A stable code (src/errors.ts) lets a model or a transcript reader tell a timeout from a refusal.
    const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
    return { ok: false, result: { error: err instanceof Error ? err.message : String(err), ...(code ? { code } : {}) } };
  }
}
