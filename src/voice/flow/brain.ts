import { fillTemplate } from '../../contract/templates.js';
import { containsKeyword, words } from './match.js';
import type { BranchCase, BranchNode, Flow, FlowAction, FlowEndReason, FlowEvent, FlowNode, ListenNode } from './types.js';
import { validateFlow } from './validate.js';

type State =
  | { kind: 'new' }
  | { kind: 'listening'; node: string; listenId: number; reprompts: number }
  | { kind: 'tool'; node: string }
  | { kind: 'ended'; reason: FlowEndReason };

type Input = { kind: 'utterance'; text: string } | { kind: 'dtmf'; digit: string };

/** Validation rejects instant loops; this only guards against a bug turning into a hung worker. */
const MAX_STEPS = 10_000;

/**
 * Walks a flow for one call. It is pure and synchronous: events in, actions out, no timers and no
 * audio, so the runtime (which plays prompts, runs tools and owns the clock) stays separate and
 * the flow logic is tested without either.
 *
 * `{{variables}}` in texts and tool arguments come from the variables given (the call's
 * dynamic_variables and call_context), plus `last_utterance` and `last_dtmf` (what the callee said
 * or keyed last); a branch case may match any of them.
 */
export class FlowBrain {
  private readonly flow: Flow;
  private state: State = { kind: 'new' };
  private lastInput: Input | undefined;
  private nextListenId = 1;

  constructor(
    flow: unknown,
    private readonly variables: Readonly<Record<string, string>> = {},
    opts: { toolNames?: readonly string[] } = {},
  ) {
    this.flow = validateFlow(flow, opts);
  }

  /** Whether the flow has ended the call; every later event is ignored. */
  get ended(): boolean {
    return this.state.kind === 'ended';
  }

  /** The node the brain waits in (for logs and the transcript), if any. */
  get currentNode(): string | undefined {
    return this.state.kind === 'listening' || this.state.kind === 'tool' ? this.state.node : undefined;
  }

  /**
   * What the callee's answer can branch on from here: the keywords of the branches right after the
   * listen the flow waits in (through chained branches), or, when it waits in none, every keyword of
   * the flow. A grammar recognizer listens for these (src/providers/stt/grammar.ts).
   */
  vocabulary(): string[] {
    const out = new Set<string>();
    const cases = (c: BranchCase): boolean => c.variable === undefined || c.variable === 'last_utterance';
    if (this.state.kind !== 'listening') {
      for (const n of Object.values(this.flow.nodes)) if (n.type === 'branch') for (const c of n.cases) if (cases(c)) for (const k of c.keywords ?? []) out.add(k);
      return [...out];
    }
    const seen = new Set<string>();
    const walk = (id: string): void => {
      if (seen.has(id)) return;
      seen.add(id);
      const n = this.flow.nodes[id];
      if (n?.type !== 'branch') return;
      for (const c of n.cases) {
        if (cases(c)) for (const k of c.keywords ?? []) out.add(k);
        walk(c.next);
      }
      walk(n.default);
    };
    walk(this.node<ListenNode>(this.state.node).next);
    return [...out];
  }

  /** Call once, when the callee answers. */
  start(): FlowAction[] {
    if (this.state.kind !== 'new') throw new Error('FlowBrain.start() was already called');
    return this.run(this.flow.start);
  }

  /**
   * The texts start() will say before the flow first needs something from outside (a listen, a
   * tool) or ends: known before the call is answered. Pure: the state is not touched.
   */
  opening(): string[] {
    const texts: string[] = [];
    let id = this.flow.start;
    for (let step = 0; step < MAX_STEPS; step++) {
      const node = this.node<FlowNode>(id);
      if (node.type === 'say') {
        texts.push(this.fill(node.text));
        id = node.next;
      } else if (node.type === 'branch') id = this.choose(node);
      else {
        if (node.type === 'end' && node.text !== undefined) texts.push(this.fill(node.text));
        return texts;
      }
    }
    return texts;
  }

  /** Reports one event; events that do not fit the current state (a digit during a tool call) are ignored. */
  handle(event: FlowEvent): FlowAction[] {
    const s = this.state;
    switch (event.type) {
      case 'callee_utterance':
      case 'dtmf': {
        if (s.kind !== 'listening') return [];
        // An empty transcript (noise, a cough) is not an answer: keep listening, timer untouched.
        if (event.type === 'callee_utterance' && words(event.text).length === 0) return [];
        this.lastInput = event.type === 'dtmf' ? { kind: 'dtmf', digit: event.digit } : { kind: 'utterance', text: event.text };
        return this.run(this.node<ListenNode>(s.node).next);
      }
      case 'timeout': {
        if (s.kind !== 'listening') return [];
        if (event.listenId !== undefined && event.listenId !== s.listenId) return [];
        const node = this.node<ListenNode>(s.node);
        if (node.reprompt !== undefined && s.reprompts < (node.max_reprompts ?? 0)) {
          const listenId = this.nextListenId++;
          this.state = { kind: 'listening', node: s.node, listenId, reprompts: s.reprompts + 1 };
          return [{ type: 'say', text: this.fill(node.reprompt) }, { type: 'wait', timeoutMs: node.timeout_ms, listenId }];
        }
        return this.run(node.on_timeout);
      }
      case 'tool_result': {
        if (s.kind !== 'tool') return [];
        const node = this.flow.nodes[s.node];
        if (node?.type !== 'tool') return [];
        return this.run(event.ok ? node.on_success : node.on_failure);
      }
    }
  }

  /** Steps through nodes that need nothing from outside until one waits or ends the call. */
  private run(from: string): FlowAction[] {
    const actions: FlowAction[] = [];
    let id = from;
    for (let step = 0; step < MAX_STEPS; step++) {
      const node = this.node<FlowNode>(id);
      switch (node.type) {
        case 'say':
          actions.push({ type: 'say', text: this.fill(node.text) });
          id = node.next;
          continue;
        case 'branch':
          id = this.choose(node);
          continue;
        case 'listen': {
          const listenId = this.nextListenId++;
          this.state = { kind: 'listening', node: id, listenId, reprompts: 0 };
          actions.push({ type: 'wait', timeoutMs: node.timeout_ms, listenId });
          return actions;
        }
        case 'tool':
          this.state = { kind: 'tool', node: id };
          actions.push({ type: 'call_tool', name: node.tool, arguments: this.fillDeep(node.arguments ?? {}) as Record<string, unknown> });
          return actions;
        case 'end': {
          const reason = node.reason ?? 'agent_hangup';
          this.state = { kind: 'ended', reason };
          if (node.text !== undefined) actions.push({ type: 'say', text: this.fill(node.text) });
          actions.push({ type: 'end_call', reason });
          return actions;
        }
      }
    }
    throw new Error(`flow did not wait within ${MAX_STEPS} steps (last node "${id}")`);
  }

  private choose(node: BranchNode): string {
    return node.cases.find((c) => this.matches(c))?.next ?? node.default;
  }

  /** A case on a variable reads its value; any other case reads the callee's last input. */
  private matches(c: BranchCase): boolean {
    if (c.variable !== undefined) {
      const value = this.values()[c.variable];
      if (value === undefined) return false;
      if (c.equals !== undefined) return value.trim().toLowerCase() === c.equals.trim().toLowerCase();
      const have = words(value);
      return c.keywords?.some((k) => containsKeyword(have, k)) ?? false;
    }
    const input = this.lastInput;
    if (input === undefined) return false;
    if (input.kind === 'dtmf') return c.dtmf === input.digit;
    const said = words(input.text);
    return c.keywords?.some((k) => containsKeyword(said, k)) ?? false;
  }

  private node<T extends FlowNode>(id: string): T {
    const n = this.flow.nodes[id];
    if (n === undefined) throw new Error(`flow has no node "${id}"`); // validation makes this unreachable
    return n as T;
  }

  /** The call's variables (call_context among them) and what the callee said or keyed last. */
  private values(): Record<string, string> {
    const vars: Record<string, string> = { ...this.variables };
    if (this.lastInput?.kind === 'utterance') vars.last_utterance = this.lastInput.text;
    if (this.lastInput?.kind === 'dtmf') vars.last_dtmf = this.lastInput.digit;
    return vars;
  }

  private fill(text: string): string {
    return fillTemplate(text, this.values());
  }

  private fillDeep(v: unknown): unknown {
    if (typeof v === 'string') return this.fill(v);
    if (Array.isArray(v)) return v.map((x) => this.fillDeep(x));
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.fillDeep(x)]));
    return v;
  }
}
