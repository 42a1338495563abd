import type { Tool } from '../../contract/agent.js';
import { ProviderError } from '../errors.js';
import type { LlmToolSpec } from './types.js';

/**
 * end_call as the model sees it when the agent declares none: offered by default, so the model can
 * hang up politely. A declared end_call tool gives its own name and description (the parameters stay
 * these: the agent says `goodbye`, then hangs up); `enabled: false` takes it away.
 */
export const END_CALL_BUILT_IN: LlmToolSpec = {
  name: 'end_call',
  description: 'Hang up the call when the conversation is over or the callee asks to stop. Put your goodbye in `goodbye`: it is said before hanging up.',
  parameters: {
    type: 'object',
    properties: { goodbye: { type: 'string', description: 'the last words to say before hanging up' } },
    additionalProperties: false,
  },
};

/** The goodbye an end_call's arguments carry (said before hanging up), trimmed; undefined when none. */
export function endCallGoodbye(args: unknown): string | undefined {
  const g = typeof args === 'object' && args !== null ? (args as { goodbye?: unknown }).goodbye : undefined;
  return typeof g === 'string' && g.trim() !== '' ? g.trim() : undefined;
}

/**
 * What the model is told about the built-in tools. transfer_call takes no number: the target comes
 * from the agent's transfer_to, so a callee cannot talk the model into dialing anywhere (toll fraud).
 */
const BUILT_INS: Record<'end_call' | 'transfer_call' | 'send_dtmf', Omit<LlmToolSpec, 'name'>> = {
  end_call: { description: END_CALL_BUILT_IN.description, parameters: END_CALL_BUILT_IN.parameters },
  transfer_call: {
    description: 'Transfer the callee to a human colleague. Tell the callee before transferring.',
    parameters: { type: 'object', properties: { reason: { type: 'string', description: 'why the call is transferred' } }, additionalProperties: false },
  },
  send_dtmf: {
    description: 'Press keys on the phone keypad, e.g. to navigate an automated menu.',
    parameters: {
      type: 'object',
      properties: { digits: { type: 'string', pattern: '^[0-9*#A-D]{1,32}$', description: 'keys to press, in order' } },
      required: ['digits'],
      additionalProperties: false,
    },
  },
};

/** The name the model uses for a tool: an http tool's own name, a built-in's name or its type. */
export function agentToolName(tool: Tool): string {
  if (tool.type === 'http') {
    if (!tool.name) throw new ProviderError('provider_bad_request', 'an http tool needs a name', false);
    return tool.name;
  }
  return tool.name ?? tool.type;
}

/** The agent's tools as the model sees them. Names must be unique: the model calls tools by name. */
export function llmToolsFromAgent(tools: readonly Tool[]): LlmToolSpec[] {
  const seen = new Set<string>();
  return tools.map((t) => {
    const name = agentToolName(t);
    if (seen.has(name)) throw new ProviderError('provider_bad_request', `two tools are named "${name}"`, false);
    seen.add(name);
    if (t.type !== 'http') {
      const b = BUILT_INS[t.type];
      return { name, description: t.description ?? b.description, parameters: b.parameters };
    }
    return {
      name,
      description: t.description ?? `Calls ${name}`,
      parameters: t.parameters ?? { type: 'object', properties: {} },
    };
  });
}

/**
 * The end_call the model is offered: the agent's declared end_call tool (its name and description,
 * the built-in's for what it leaves out), END_CALL_BUILT_IN when it declares none, or null when it
 * declares `{"type": "end_call", "enabled": false}`.
 */
export function endCallFromAgent(tools: readonly Tool[]): LlmToolSpec | null {
  const declared = tools.find((t) => t.type === 'end_call');
  if (!declared) return END_CALL_BUILT_IN;
  if (declared.enabled === false) return null;
  return { ...END_CALL_BUILT_IN, name: agentToolName(declared), ...(declared.description ? { description: declared.description } : {}) };
}

/** Everything the model is offered: the agent's other tools as declared, and end_call (or null: none). */
export function modelToolsFromAgent(tools: readonly Tool[]): { tools: LlmToolSpec[]; endCall: LlmToolSpec | null } {
  const endCall = endCallFromAgent(tools);
  const rest = llmToolsFromAgent(tools.filter((t) => t.type !== 'end_call'));
  if (endCall && rest.some((t) => t.name === endCall.name)) throw new ProviderError('provider_bad_request', `two tools are named "${endCall.name}"`, false);
  return { tools: rest, endCall };
}
