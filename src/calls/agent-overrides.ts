/**
 * A call's agent_overrides applied to its agent: the call's voice and model sampling over the
 * agent's settings, for this call only (its language goes through voice-spec's callLanguage). Checked when the call is created (so a voice the engine
 * does not have is a 422, not a failed call) and applied by the dialer just before dialing.
 */
import type { AgentOverrides } from '../contract/call.js';
import { OutcallError } from '../errors.js';
import { ProviderError } from '../providers/errors.js';
import { checkAnthropicLlmSettings } from '../providers/llm/index.js';
import { checkSpeechChoice, ProviderChoiceError } from '../providers/registry.js';
import { checkOpenAiRealtimeSettings } from '../voice/realtime/config.js';
import { realtimeConversationProblem } from '../voice/realtime/conversation-limits.js';
import type { AgentRow } from '../store/agent-rows.js';

export function applyOverrides(agent: AgentRow, o: AgentOverrides | null | undefined): AgentRow {
  if (!o) return agent;
  const a: AgentRow = { ...agent };
  // The language is not applied here: it is one rule with the agent's own language settings,
  // computed once for the call by callLanguage (src/agents/voice-spec.ts) from agent_overrides.language.
  if (o.voice !== undefined) {
    // The voice belongs to the agent's first TTS (a fallback vendor keeps its own voice names).
    if (a.tts) a.tts = { ...a.tts, voice: o.voice };
    else a.voice = o.voice;
    if (a.speech_to_speech) a.speech_to_speech = { ...a.speech_to_speech, voice: o.voice };
  }
  if (o.llm && a.llm) a.llm = { ...a.llm, ...o.llm };
  // A speech-to-speech agent's model is its language model too.
  if (o.llm && a.speech_to_speech) a.speech_to_speech = { ...a.speech_to_speech, ...o.llm };
  return a;
}

/**
 * Throws a 4xx OutcallError naming the override this agent cannot take, or the setting of the agent
 * this call (with its overrides) could not act on: a speech-to-speech agent stored with a
 * conversation setting its model cannot honour (saved before that was refused) is refused here too.
 */
export function checkOverrides(agent: AgentRow, o: AgentOverrides | undefined): void {
  const problem = agent.speech_to_speech ? realtimeConversationProblem(agent.conversation) : undefined;
  if (problem) throw new OutcallError('setting_not_applicable', `the agent's ${problem.message}`, problem.path);
  if (!o) return;
  if (o.llm && !agent.llm && !agent.speech_to_speech) {
    throw new OutcallError('invalid_request', 'agent_overrides.llm needs an agent with llm or speech_to_speech settings', 'agent_overrides.llm');
  }
  const a = applyOverrides(agent, o);
  if (o.llm && a.speech_to_speech) {
    try {
      checkOpenAiRealtimeSettings(a.speech_to_speech);
    } catch (err) {
      if (err instanceof ProviderError) throw new OutcallError('invalid_request', err.message, 'agent_overrides.llm');
      throw err;
    }
  }
  if (o.llm && a.llm?.provider === 'anthropic') {
    try {
      checkAnthropicLlmSettings(a.llm);
    } catch (err) {
      if (err instanceof ProviderError) throw new OutcallError('invalid_request', err.message, 'agent_overrides.llm');
      throw err;
    }
  }
  if (o.voice !== undefined && a.tts) {
    try {
      checkSpeechChoice({ tts: { provider: a.tts.provider, voice: o.voice } });
    } catch (err) {
      if (err instanceof ProviderChoiceError) throw new OutcallError('unsupported_provider', err.message, 'agent_overrides.voice');
      throw err;
    }
  }
}
