import { words } from './match.js';
import { FLOW_END_REASONS, type Flow, type FlowNode } from './types.js';

/** One thing wrong with a flow: `path` names the field (nodes.ask.next), `node` the node when there is one. */
export interface FlowProblem {
  path: string;
  node?: string;
  message: string;
}

export class FlowValidationError extends Error {
  constructor(readonly problems: readonly FlowProblem[]) {
    super(`invalid flow: ${problems.map((p) => (p.node ? `node "${p.node}": ${p.message}` : p.message)).join('; ')}`);
    this.name = 'FlowValidationError';
  }
}

export interface ValidateFlowOptions {
  /** When given, a tool node must name one of these (the agent's tools). */
  toolNames?: readonly string[];
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const DTMF = /^[0-9*#A-D]$/;
/** A {{variable}} name (src/contract/templates.ts). */
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_NODES = 500;
const MAX_TEXT = 4096;

const FIELDS: Record<FlowNode['type'], { required: string[]; optional: string[] }> = {
  say: { required: ['text', 'next'], optional: [] },
  listen: { required: ['timeout_ms', 'next', 'on_timeout'], optional: ['reprompt', 'max_reprompts'] },
  branch: { required: ['cases', 'default'], optional: [] },
  tool: { required: ['tool', 'on_success', 'on_failure'], optional: ['arguments'] },
  end: { required: [], optional: ['text', 'reason'] },
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks untrusted flow JSON and returns it typed. Every problem is reported at once, each naming
 * the node and field, so an author can fix a flow in one pass. Beyond shape it rejects references
 * to missing nodes, nodes that can never be reached, and loops that never wait for the callee
 * (a say/branch cycle would spin forever).
 */
export function validateFlow(input: unknown, opts: ValidateFlowOptions = {}): Flow {
  const problems: FlowProblem[] = [];
  if (!isObject(input)) throw new FlowValidationError([{ path: '', message: 'a flow is an object with "start" and "nodes"' }]);
  for (const k of Object.keys(input)) if (k !== 'start' && k !== 'nodes') problems.push({ path: k, message: `unknown field "${k}"` });
  const nodes = input.nodes;
  if (!isObject(nodes) || Object.keys(nodes).length === 0) {
    throw new FlowValidationError([...problems, { path: 'nodes', message: '"nodes" must be an object with at least one node' }]);
  }
  const ids = Object.keys(nodes);
  if (ids.length > MAX_NODES) problems.push({ path: 'nodes', message: `at most ${MAX_NODES} nodes, got ${ids.length}` });
  if (typeof input.start !== 'string' || !Object.hasOwn(nodes, input.start)) {
    problems.push({ path: 'start', message: `"start" must name a node, got ${JSON.stringify(input.start)}` });
  }

  for (const id of ids) {
    const node = nodes[id];
    const at = (field: string, message: string) => problems.push({ path: `nodes.${id}${field ? `.${field}` : ''}`, node: id, message });
    if (!ID.test(id)) at('', 'node ids are 1-64 letters, digits, "_" or "-"');
    if (!isObject(node)) {
      at('', 'a node is an object with a "type"');
      continue;
    }
    const type = node.type;
    if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
      at('type', `unknown type ${JSON.stringify(type)} (say, listen, branch, tool, end)`);
      continue;
    }
    const spec = FIELDS[type as FlowNode['type']];
    for (const f of spec.required) if (!(f in node)) at(f, `a ${type} node needs "${f}"`);
    for (const f of Object.keys(node)) if (f !== 'type' && !spec.required.includes(f) && !spec.optional.includes(f)) at(f, `unknown field "${f}" in a ${type} node`);
    const ref = (field: string, value: unknown) => {
      if (value === undefined) return;
      if (typeof value !== 'string' || !Object.hasOwn(nodes, value)) at(field, `${field.replace(/^.*\./, '')} ${JSON.stringify(value)} is not a node`);
    };
    const text = (field: string, value: unknown, required: boolean) => {
      if (value === undefined && !required) return;
      if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_TEXT) at(field, `"${field}" must be non-empty text of at most ${MAX_TEXT} characters`);
    };
    switch (type) {
      case 'say':
        text('text', node.text, true);
        ref('next', node.next);
        break;
      case 'listen': {
        const t = node.timeout_ms;
        if (!Number.isInteger(t) || (t as number) < 500 || (t as number) > 600_000) at('timeout_ms', '"timeout_ms" must be an integer from 500 to 600000');
        ref('next', node.next);
        ref('on_timeout', node.on_timeout);
        text('reprompt', node.reprompt, false);
        const m = node.max_reprompts;
        if (m !== undefined && (!Number.isInteger(m) || (m as number) < 0 || (m as number) > 10)) at('max_reprompts', '"max_reprompts" must be an integer from 0 to 10');
        if (typeof m === 'number' && m > 0 && node.reprompt === undefined) at('reprompt', '"max_reprompts" needs a "reprompt" text');
        break;
      }
      case 'branch': {
        ref('default', node.default);
        const cases = node.cases;
        if (!Array.isArray(cases) || cases.length === 0 || cases.length > 50) {
          at('cases', '"cases" must be a list of 1 to 50 cases');
          break;
        }
        cases.forEach((c: unknown, i) => {
          const f = `cases.${i}`;
          if (!isObject(c)) return at(f, 'a case is an object with "next" and "keywords" and/or "dtmf"');
          for (const k of Object.keys(c)) if (!['keywords', 'dtmf', 'variable', 'equals', 'next'].includes(k)) at(`${f}.${k}`, `unknown field "${k}" in a case`);
          ref(`${f}.next`, c.next);
          if (c.variable !== undefined) {
            // A case on a variable (call_context, a dynamic variable...) matches its value, not a digit.
            if (typeof c.variable !== 'string' || !VARIABLE.test(c.variable)) at(`${f}.variable`, `case ${i}: "variable" must be a variable name (letters, digits, "_")`);
            if (c.dtmf !== undefined) at(`${f}.dtmf`, `case ${i}: a case on a variable matches "keywords" or "equals", not "dtmf"`);
            if ((c.keywords === undefined) === (c.equals === undefined)) at(f, `case ${i} on a variable needs exactly one of "keywords" or "equals"`);
            if (c.equals !== undefined && (typeof c.equals !== 'string' || c.equals.length > MAX_TEXT)) at(`${f}.equals`, `case ${i}: "equals" must be text of at most ${MAX_TEXT} characters`);
          } else {
            if (c.equals !== undefined) at(`${f}.equals`, `case ${i}: "equals" needs a "variable" to compare`);
            if (c.keywords === undefined && c.dtmf === undefined) at(f, `case ${i} needs "keywords" or "dtmf"`);
          }
          if (c.keywords !== undefined) {
            const ok = Array.isArray(c.keywords) && c.keywords.length > 0 && c.keywords.every((k) => typeof k === 'string' && words(k).length > 0);
            if (!ok) at(`${f}.keywords`, `case ${i}: "keywords" must be a non-empty list of words`);
          }
          if (c.dtmf !== undefined && (typeof c.dtmf !== 'string' || !DTMF.test(c.dtmf))) at(`${f}.dtmf`, `case ${i}: "dtmf" must be one of 0-9 * # A-D`);
        });
        break;
      }
      case 'tool':
        if (typeof node.tool !== 'string' || !ID.test(node.tool)) at('tool', '"tool" must be a tool name (1-64 letters, digits, "_" or "-")');
        else if (opts.toolNames && !opts.toolNames.includes(node.tool)) at('tool', `tool "${node.tool}" is not one of the agent's tools (${opts.toolNames.join(', ') || 'none'})`);
        if (node.arguments !== undefined && !isObject(node.arguments)) at('arguments', '"arguments" must be an object');
        ref('on_success', node.on_success);
        ref('on_failure', node.on_failure);
        break;
      case 'end':
        text('text', node.text, false);
        if (node.reason !== undefined && !(FLOW_END_REASONS as readonly unknown[]).includes(node.reason)) {
          at('reason', `"reason" must be one of ${FLOW_END_REASONS.join(', ')}`);
        }
        break;
    }
  }
  // Graph checks only make sense on a well-formed graph.
  if (problems.length > 0) throw new FlowValidationError(problems);
  const flow = input as unknown as Flow;
  problems.push(...graphProblems(flow));
  if (problems.length > 0) throw new FlowValidationError(problems);
  return flow;
}

function successors(n: FlowNode): string[] {
  switch (n.type) {
    case 'say':
      return [n.next];
    case 'listen':
      return [n.next, n.on_timeout];
    case 'branch':
      return [...n.cases.map((c) => c.next), n.default];
    case 'tool':
      return [n.on_success, n.on_failure];
    case 'end':
      return [];
  }
}

function graphProblems(flow: Flow): FlowProblem[] {
  const problems: FlowProblem[] = [];
  const seen = new Set<string>([flow.start]);
  const queue = [flow.start];
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    for (const s of successors(flow.nodes[id] as FlowNode)) {
      if (!seen.has(s)) {
        seen.add(s);
        queue.push(s);
      }
    }
  }
  for (const id of Object.keys(flow.nodes)) {
    if (!seen.has(id)) problems.push({ path: `nodes.${id}`, node: id, message: `is not reachable from start "${flow.start}"` });
  }
  // A loop through say and branch nodes only never waits for anything: find one by DFS.
  const instant = (id: string) => {
    const t = flow.nodes[id]?.type;
    return t === 'say' || t === 'branch';
  };
  const state = new Map<string, 'open' | 'closed'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 'open');
    stack.push(id);
    for (const s of successors(flow.nodes[id] as FlowNode)) {
      if (!instant(s)) continue;
      if (state.get(s) === 'open') return [...stack.slice(stack.indexOf(s)), s];
      if (state.get(s) === undefined) {
        const cycle = visit(s);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(id, 'closed');
    return undefined;
  };
  for (const id of Object.keys(flow.nodes)) {
    if (!instant(id) || state.has(id)) continue;
    const cycle = visit(id);
    if (cycle) {
      problems.push({
        path: `nodes.${cycle[0]}`,
        node: cycle[0] as string,
        message: `loop ${cycle.map((c) => `"${c}"`).join(' -> ')} has no listen or tool node, so it would never wait for the callee`,
      });
      break;
    }
  }
  return problems;
}
