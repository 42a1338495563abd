/**
 * An agent, as stored, in the voice runtime's terms for one call: the whole translation from the
 * API's settings (snake_case, seconds, templates) to what the media worker runs (VoiceCallSpec,
 * the greeting of a greeting-only agent, the codecs to offer). Provider keys are decrypted just
 * before the call (`secrets`); a provider without its own key gets the vendor's environment variable.
 */
import type { ConversationSettings } from '../contract/agent.js';
import type { AgentOverrides } from '../contract/call.js';
import { fillTemplate } from '../contract/templates.js';
import type { SpeechChoice } from '../providers/registry.js';
import type { AgentRow } from '../store/agent-rows.js';
import type { GreetingSpec, MachineSpec, VoiceCallSpec, VoiceConversation } from '../voice/spec.js';
import type { StoredMachineDetection, StoredVoicemail } from '../calls/machine-detection.js';
import { providerChainFor, resolvedProvider, secretSlot, type ProviderSecrets } from './provider-secrets.js';

/** The call's own inputs to its agent's conversation. */
export interface CallInputs {
  callContext: string | null;
  dynamicVariables: Record<string, string>;
  /** The call's options; only agent_overrides.language is read here (the rest is applied by calls/agent-overrides.ts). */
  options?: { agent_overrides?: AgentOverrides | null };
}

/**
 * The one language of a call, the most specific setting winning: the call's
 * `agent_overrides.language`, then the language of the engine that hears the callee (`stt.language`,
 * or `speech_to_speech.language` for a speech-to-speech agent), then the agent's `language`. Every
 * engine of the call gets it: the recognizer hears it, each TTS speaks it (one without a voice picks
 * that language's voice, src/providers/tts/voice-for-language.ts), and the model is told to speak it.
 */
export function callLanguage(agent: Pick<AgentRow, 'language' | 'stt' | 'speech_to_speech'>, override: string | undefined): string {
  const hearing = agent.speech_to_speech ? agent.speech_to_speech.language : agent.stt?.language;
  return override ?? hearing ?? agent.language;
}

/**
 * The codecs to offer on this call, or undefined for the leg's default. An order chosen for the call
 * (its own `codecs`, else its trunk's) is offered exactly as given, else the worker's configured
 * order. Every recognizer hears narrowband legs now (pocketsphinx picks its 8 kHz model on G.711),
 * so the agent no longer changes the order.
 */
export function codecsFor(configured: string[] | undefined, chosen?: readonly string[] | null): string[] | undefined {
  if (chosen !== undefined && chosen !== null) return [...chosen];
  return configured;
}

/**
 * The greeting a greeting-only agent speaks on answer (with its own TTS and fallbacks, in the call's
 * language: `language` from callLanguage), or null.
 */
export function greetingFor(agent: AgentRow, vars: Record<string, string>, secrets: ProviderSecrets, language: string = agent.language): GreetingSpec | null {
  const text = agent.greeting ? fillTemplate(agent.greeting, vars) : '';
  if (!text.trim()) return null;
  const voice = agent.tts?.voice ?? agent.voice ?? undefined;
  return {
    text,
    language,
    ...(voice ? { voice } : {}),
    ...(agent.tts ? { tts: providerChainFor('tts', agent.tts, secrets) } : {}),
  };
}

/**
 * What the media worker needs to run the agent's conversation, or undefined for a greeting-only
 * agent (no flow, no llm, no speech-to-speech settings).
 */
export function voiceSpecFor(
  agent: AgentRow,
  call: CallInputs,
  secrets: ProviderSecrets,
  toolContext?: VoiceCallSpec['toolContext'],
): VoiceCallSpec | undefined {
  const flow = agent.flow;
  const hasFlow = flow !== undefined && flow !== null;
  const s2s = agent.speech_to_speech ? resolvedProvider(agent.speech_to_speech, secrets[secretSlot('speech_to_speech')]) : undefined;
  if (!hasFlow && !agent.llm && !s2s) return undefined;
  const llm = agent.llm ? providerChainFor('llm', agent.llm, secrets) : undefined;
  const greeting = agent.greeting ? fillTemplate(agent.greeting, call.dynamicVariables).trim() : '';
  const voice = agent.tts?.voice ?? agent.voice ?? undefined;
  const language = callLanguage(agent, call.options?.agent_overrides?.language);
  const speech: SpeechChoice = {
    ...(agent.tts ? { tts: { ...providerChainFor('tts', agent.tts, secrets), ...(voice ? { voice } : {}) } } : {}),
    ...(agent.stt ? { stt: { ...providerChainFor('stt', agent.stt, secrets), language } } : {}),
    ...(agent.conversation?.vad ? { vad: agent.conversation.vad } : {}),
    language,
  };
  const conversation = agent.conversation ? conversationFor(agent.conversation, call.dynamicVariables) : undefined;
  return {
    ...(hasFlow ? { flow } : {}),
    ...(llm ? { llm } : {}),
    ...(s2s ? { speechToSpeech: { ...s2s, language } } : {}),
    // {{variables}} filled as in the greeting (a missing one was refused when the call was created).
    systemPrompt: fillTemplate(agent.system_prompt, call.dynamicVariables),
    ...(call.callContext ? { callContext: call.callContext } : {}),
    dynamicVariables: call.dynamicVariables,
    ...(greeting ? { greeting } : {}),
    language,
    ...(voice ? { voice } : {}),
    ...(agent.tools && agent.tools.length > 0 ? { tools: agent.tools, ...(toolContext ? { toolContext } : {}) } : {}),
    ...(Object.keys(speech).length > 0 ? { speech } : {}),
    ...(conversation ? { conversation } : {}),
  };
}

/**
 * How long a greeting-only call that detects machines stays on the line after its greeting has
 * played: a flow's shortest listen (src/voice/flow/validate.ts), so a verdict that comes as the line
 * ends is still acted on. The plain greeting-only call hangs up the moment its line has played.
 */
export const GREETING_ONLY_LINGER_MS = 500;

/**
 * A greeting-only agent on a call with machine_detection: its greeting as a flow of one line, so the
 * detector has a session to act on (stop for a machine and leave the message after the beep, answer
 * a screening assistant and say the greeting again at the pickup, hold it with gate_greeting). The
 * line is never cut by the callee (barge-in off: a greeting-only line is played whole), and the call
 * ends GREETING_ONLY_LINGER_MS after it has played. Undefined when the agent converses or has no greeting.
 */
export function greetingOnlyVoiceSpecFor(agent: AgentRow, call: CallInputs, secrets: ProviderSecrets): VoiceCallSpec | undefined {
  if ((agent.flow !== undefined && agent.flow !== null) || agent.llm || agent.speech_to_speech) return undefined;
  if (!agent.greeting || !fillTemplate(agent.greeting, call.dynamicVariables).trim()) return undefined;
  const flow = {
    start: 'greeting',
    nodes: {
      // The template as the agent holds it: the flow fills the call's variables as a greeting would.
      greeting: { type: 'say', text: agent.greeting, next: 'linger' },
      linger: { type: 'listen', timeout_ms: GREETING_ONLY_LINGER_MS, next: 'end', on_timeout: 'end' },
      end: { type: 'end', reason: 'agent_hangup' },
    },
  };
  const conversation: ConversationSettings = {
    first_speaker: 'agent',
    barge_in: { enabled: false },
    ...(agent.conversation?.vad ? { vad: agent.conversation.vad } : {}),
  };
  // Its tools are not offered: a greeting-only agent runs none.
  return voiceSpecFor({ ...agent, flow, conversation, tools: [] }, call, secrets);
}

/** The agent's conversation settings in the worker's terms; absent fields stay absent (session defaults). */
export function conversationFor(c: ConversationSettings, vars: Record<string, string>): VoiceConversation {
  const line = (t: string | undefined) => (t === undefined ? undefined : fillTemplate(t, vars).trim() || undefined);
  const out: VoiceConversation = {};
  if (c.first_speaker) out.firstSpeaker = c.first_speaker;
  if (c.barge_in) {
    const b = c.barge_in;
    out.bargeIn = {
      ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
      ...(b.min_speech_ms !== undefined ? { minSpeechMs: b.min_speech_ms } : {}),
      ...(b.min_words !== undefined ? { minWords: b.min_words } : {}),
    };
  }
  if (c.inactivity_timeout_s !== undefined) out.inactivityTimeoutMs = c.inactivity_timeout_s * 1000;
  const prompt = line(c.inactivity_prompt);
  if (prompt) out.inactivityPrompt = prompt;
  const wrap = line(c.wrap_up_line);
  if (wrap) out.wrapUpLine = wrap;
  const apology = line(c.apology_line);
  if (apology) out.apologyLine = apology;
  if (c.filler !== undefined) out.filler = c.filler === null ? null : { afterMs: c.filler.after_ms, phrases: c.filler.phrases.map((p) => fillTemplate(p, vars)) };
  return out;
}

/** A call's machine_detection and voicemail (as stored, defaults filled) in the worker's terms; undefined when off. */
export function machineSpecFor(
  md: StoredMachineDetection,
  vm: StoredVoicemail | null | undefined,
  vars: Record<string, string>,
): MachineSpec | undefined {
  if (md.mode === 'disabled') return undefined;
  const message = vm?.message !== undefined ? fillTemplate(vm.message, vars).trim() : undefined;
  const screeningResponse = md.screening_response !== undefined ? fillTemplate(md.screening_response, vars).trim() : undefined;
  return {
    settings: {
      mode: md.mode,
      totalAnalysisMs: md.total_analysis_ms,
      initialSilenceMs: md.initial_silence_ms,
      greetingMaxMs: md.greeting_max_ms,
      afterGreetingSilenceMs: md.after_greeting_silence_ms,
      beepTimeoutMs: md.beep_timeout_ms,
    },
    action: vm?.action ?? 'continue',
    ...(message ? { message } : {}),
    ...(screeningResponse ? { screeningResponse } : {}),
    ...(md.gate_greeting === true ? { gateGreeting: true } : {}),
  };
}
