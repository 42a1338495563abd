import type { Tool } from '../../contract/agent.js';
import { ProviderError } from '../errors.js';
import type { LlmToolSpec } from './types.js';

/**
 * What the model is told about the built-in tools. transfer_call takes no number: the target comes
 * from the agent's transfer_to, so a callee cannot talk the model into dialing anywhere (toll fraud).
 */
const BUILT_INS: Record<'end_call' | 'transfer_call' | 'send_dtmf', Omit<LlmToolSpec, 'name'>> = {
  end_call: {
    description: 'Hang up the phone call. Say goodbye first; use it when the conversation is over or the callee asks to stop.',
    parameters: { type: 'object', properties: { reason: { type: 'string', description: 'why the call is ending' } }, additionalProperties: false },
  },
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
