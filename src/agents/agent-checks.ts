/** What an agent's settings must satisfy beyond the JSON schema, checked before it is stored. */
import type { AppContext } from '../app-context.js';
import { checkMachineSettings } from '../calls/machine-detection.js';
import type { AgentPatch, ConversationSettings, ProviderChoiceInput, Tool } from '../contract/agent.js';
import { OutcallError } from '../errors.js';
import { assertPublicUrl } from '../http-client/url-guard.js';
import { ProviderError } from '../providers/errors.js';
import { checkAnthropicLlmSettings, END_CALL_BUILT_IN } from '../providers/llm/index.js';
import { checkProviderFields, checkSpeechChoice, ProviderChoiceError, unsupportedProvider } from '../providers/registry.js';
import { FlowValidationError, validateFlow } from '../voice/flow/index.js';
import { checkOpenAiRealtimeSettings } from '../voice/realtime/config.js';
import { realtimeConversationProblem } from '../voice/realtime/conversation-limits.js';
import { PROVIDER_KINDS } from './provider-secrets.js';

/**
 * Rules a JSON schema cannot say: http tools need name, description and url; names are unique
 * (the built-in end_call's included while it is offered); `enabled` belongs to end_call; one
 * language per call; URLs public.
 */
export function checkAgentInput(ctx: AppContext, input: AgentPatch): void {
  checkLanguages(input);
  checkMachineSettings(input.machine_detection, input.voicemail);
  const names = new Set<string>();
  input.tools?.forEach((tool, i) => {
    const at = `tools[${i}]`;
    if (tool.type === 'http') {
      for (const f of ['name', 'description', 'url'] as const) {
        if (tool[f] === undefined) throw new OutcallError('missing_field', `"${at}.${f}" is required for an http tool`, `${at}.${f}`);
      }
      assertPublicUrl(tool.url as string, `${at}.url`, ctx.allowPrivateUrls);
    } else if (tool.url !== undefined || tool.parameters !== undefined) {
      throw new OutcallError('invalid_request', `"${at}" is a built-in ${tool.type} tool: url and parameters belong to http tools`, at);
    }
    // A disabled end_call is offered to nobody: its name is free for another tool.
    if (tool.type === 'end_call' && tool.enabled === false) return;
    const name = tool.name ?? tool.type;
    if (names.has(name)) throw new OutcallError('invalid_request', `tool name "${name}" is used twice`, `${at}.name`);
    names.add(name);
  });
  if (input.tools) checkEndCall(input.tools);
  if (input.webhook_url) assertPublicUrl(input.webhook_url, 'webhook_url', ctx.allowPrivateUrls);
  for (const kind of PROVIDER_KINDS) {
    const p = input[kind];
    if (!p) continue;
    if (p.base_url) assertPublicUrl(p.base_url, `${kind}.base_url`, ctx.allowPrivateUrls);
    ('fallbacks' in p ? p.fallbacks : undefined)?.forEach((f, i) => {
      if (f.base_url) assertPublicUrl(f.base_url, `${kind}.fallbacks[${i}].base_url`, ctx.allowPrivateUrls);
    });
  }
}

/**
 * Provider names must be ones this server runs (a typo would otherwise only show as a failed call),
 * fallbacks included; settings a provider can check without the network are checked too.
 */
export function checkProviders(agent: Pick<AgentPatch, 'stt' | 'llm' | 'tts' | 'speech_to_speech' | 'conversation'>): void {
  const llmChain = [agent.llm, ...(agent.llm?.fallbacks ?? [])];
  llmChain.forEach((p, i) => {
    if (!p) return;
    const at = i === 0 ? 'llm' : `llm.fallbacks[${i - 1}]`;
    const problem = unsupportedProvider('llm', p.provider);
    if (problem) throw new OutcallError('unsupported_provider', problem, `${at}.provider`);
    // What a vendor refuses without the network (its options, its ranges) is refused now, not at the first call.
    if (p.provider === 'anthropic') {
      try {
        checkAnthropicLlmSettings(p);
      } catch (err) {
        if (err instanceof ProviderError) throw new OutcallError('unsupported_provider', err.message, at);
        throw err;
      }
    }
  });
  // Settings a provider would ignore are named at their own path before a vendor's own checks run.
  checkSettingFields(agent);
  const s2s = agent.speech_to_speech;
  if (s2s) {
    const problem = unsupportedProvider('speech_to_speech', s2s.provider);
    if (problem) throw new OutcallError('unsupported_provider', problem, 'speech_to_speech.provider');
    try {
      checkOpenAiRealtimeSettings(s2s);
    } catch (err) {
      if (err instanceof ProviderError) throw new OutcallError('unsupported_provider', err.message, 'speech_to_speech');
      throw err;
    }
  }
  try {
    checkSpeechChoice({
      ...(agent.tts ? { tts: agent.tts } : {}),
      ...(agent.stt ? { stt: agent.stt } : {}),
      ...(agent.conversation?.vad ? { vad: agent.conversation.vad } : {}),
    });
  } catch (err) {
    if (!(err instanceof ProviderChoiceError)) throw err;
    throw new OutcallError('unsupported_provider', err.message, err.kind === 'vad' ? 'conversation.vad' : err.path);
  }
}

/** Every provider setting given must be one its provider acts on (fallbacks included). */
function checkSettingFields(agent: Pick<AgentPatch, 'stt' | 'llm' | 'tts' | 'speech_to_speech'>): void {
  for (const kind of ['stt', 'llm', 'tts', 'speech_to_speech'] as const) {
    const p = agent[kind];
    if (!p) continue;
    const entries: Array<[ProviderChoiceInput, string]> = [[p, kind], ...('fallbacks' in p ? (p.fallbacks ?? []) : []).map((f, i): [ProviderChoiceInput, string] => [f, `${kind}.fallbacks[${i}]`])];
    for (const [s, path] of entries) {
      try {
        checkProviderFields(kind, s, path);
      } catch (err) {
        if (err instanceof ProviderChoiceError) throw new OutcallError('setting_not_applicable', err.message, err.path);
        throw err;
      }
    }
  }
}

/**
 * The flow must be runnable: every problem is named at once (a flow's tool nodes need the agent's
 * tools; end_call is not one a tool node can run: a flow hangs up with an end node).
 */
export function checkFlow(flow: unknown, tools: AgentPatch['tools']): void {
  if (flow === undefined || flow === null) return;
  try {
    validateFlow(flow, tools ? { toolNames: tools.filter((t) => t.type !== 'end_call').map((t) => t.name ?? t.type) } : {});
  } catch (err) {
    if (err instanceof FlowValidationError) {
      const first = err.problems[0];
      throw new OutcallError('invalid_flow', err.message, first?.path ? `flow.${first.path}` : 'flow');
    }
    throw err;
  }
}

/**
 * A scripted flow speaks through tts and hears through stt: it cannot run on a speech-to-speech
 * model. Nor can the conversation settings that need our own hearing of the call (422).
 */
export function checkSpeechToSpeech(s2s: unknown, flow: unknown, conversation?: ConversationSettings | null): void {
  if (s2s === null || s2s === undefined) return;
  if (flow !== null && flow !== undefined) {
    throw new OutcallError('invalid_request', 'an agent with a flow cannot use speech_to_speech: a flow speaks through tts and hears through stt', 'speech_to_speech');
  }
  const problem = realtimeConversationProblem(conversation);
  if (problem) throw new OutcallError('setting_not_applicable', problem.message, problem.path);
}

/**
 * A call has one language (src/agents/voice-spec.ts callLanguage: the call's override, else
 * stt.language or speech_to_speech.language, else the agent's language), given to every engine. A
 * language on another provider (the llm, a tts, a fallback) would never be read: refused.
 */
function checkLanguages(input: AgentPatch): void {
  for (const kind of ['stt', 'llm', 'tts'] as const) {
    const p = input[kind];
    if (!p) continue;
    if (kind !== 'stt' && p.language !== undefined) throw languageRefused(`${kind}.language`);
    p.fallbacks?.forEach((f, i) => {
      if (f.language !== undefined) throw languageRefused(`${kind}.fallbacks[${i}].language`);
    });
  }
}

function languageRefused(path: string): OutcallError {
  return new OutcallError(
    'setting_not_applicable',
    `${path}: a call has one language, which every engine hears and speaks: the agent's language, or stt.language (speech_to_speech.language) for the engine that hears the callee, or the call's agent_overrides.language; set it there`,
    path,
  );
}

/**
 * end_call is offered to the model unless the agent says otherwise: declared once at most; a
 * declaration sets its name and description, `enabled: false` takes it away (and then it has none to
 * set); while it is offered under the built-in name, no other tool may take that name.
 */
function checkEndCall(tools: readonly Tool[]): void {
  const ends = tools.map((t, i) => [t, i] as const).filter(([t]) => t.type === 'end_call');
  tools.forEach((t, i) => {
    if (t.enabled !== undefined && t.type !== 'end_call') {
      throw new OutcallError('invalid_request', `"tools[${i}].enabled" belongs to end_call only (the other tools are offered when declared)`, `tools[${i}].enabled`);
    }
  });
  const second = ends[1];
  if (second) throw new OutcallError('invalid_request', 'end_call is declared twice; declare it once', `tools[${second[1]}]`);
  const [end, at] = ends[0] ?? [undefined, -1];
  if (end?.enabled === false && (end.name !== undefined || end.description !== undefined || end.transfer_to !== undefined)) {
    throw new OutcallError('invalid_request', 'a disabled end_call is not offered to the model: it takes no name or description', `tools[${at}]`);
  }
  if (end === undefined) {
    const clash = tools.findIndex((t) => (t.name ?? t.type) === END_CALL_BUILT_IN.name);
    if (clash >= 0) {
      throw new OutcallError(
        'invalid_request',
        `tool name "${END_CALL_BUILT_IN.name}" is the built-in end_call's, offered to the model by default; name this tool otherwise, or declare end_call (with another name, or enabled: false)`,
        `tools[${clash}].name`,
      );
    }
  }
}
