/**
 * A call whose agent speaks through a speech-to-speech model (VoiceCallSpec.speechToSpeech): the
 * OpenAI Realtime session instead of VAD + STT + LLM + TTS, with the agent's prompt, call context,
 * greeting, tools and conversation limits. Settings that cannot work fail the call before dialing.
 */
import { modelToolsFromAgent } from '../../providers/llm/index.js';
import type { TtsProvider } from '../../providers/tts/types.js';
import type { Clock } from '../../time/clock.js';
import type { ToolRunner } from '../../voice/brain.js';
import type { VoiceEvent } from '../../voice/events.js';
import { callFacts, languageInstruction } from '../../voice/instructions.js';
import { realtimeConfigFrom, type RealtimeConfig } from '../../voice/realtime/config.js';
import { RealtimeSession } from '../../voice/realtime/session.js';
import type { VoiceSessionOptions } from '../../voice/policy.js';
import { VoicePrepareError } from './media-runtime.js';
import type { AnswerCommand, DialCommand } from '../protocol.js';
import { callControl, type CallControl } from './tools/index.js';
import type { Leg } from '../../voice/leg.js';
import type { VoiceCallSpec } from '../../voice/spec.js';

export interface RealtimeCallDeps {
  clock: Clock;
  options: VoiceSessionOptions;
  /** The call's tools, run against the live call once attached (`control`). */
  runTool: (control: () => CallControl | undefined) => ToolRunner;
  /** The agent's TTS (or the default engine) in the call's language: the apology and filler voice. */
  localTts?: TtsProvider;
}

/**
 * The model's instructions: the agent's prompt ({{variables}} filled), the language to speak, then
 * this call's facts (as the cascaded LLM brain gives them).
 */
export function realtimeInstructions(spec: VoiceCallSpec): string {
  const language = spec.language ? `${languageInstruction(spec.language)}\n\n` : '';
  return `${spec.systemPrompt}\n\n${language}call_context: ${JSON.stringify(callFacts(spec.dynamicVariables, spec.callContext))}`;
}

export function prepareRealtimeCall(cmd: DialCommand | AnswerCommand, spec: VoiceCallSpec, d: RealtimeCallDeps): (leg: Leg, onEvent: (e: VoiceEvent) => void) => RealtimeSession {
  const s2s = spec.speechToSpeech;
  if (!s2s) throw new Error('not a speech-to-speech call');
  let config: RealtimeConfig;
  let tools: ReturnType<typeof modelToolsFromAgent>;
  try {
    // The agent's voice is the model's unless speech_to_speech names one.
    config = realtimeConfigFrom({ ...(spec.voice && !s2s.voice && isRealtimeVoice(spec.voice) ? { voice: spec.voice } : {}), ...s2s });
    tools = modelToolsFromAgent(spec.tools ?? []);
  } catch (err) {
    throw new VoicePrepareError('error_llm', (err as Error).message);
  }
  let control: CallControl | undefined;
  const runTool = d.runTool(() => control);
  return (leg, onEvent) => {
    const session = new RealtimeSession({
      leg,
      clock: d.clock,
      config,
      instructions: realtimeInstructions(spec),
      tools: tools.tools,
      endCall: tools.endCall,
      runTool,
      options: d.options,
      ...(cmd.codecs ? { offeredCodecs: cmd.codecs } : {}),
      ...(d.localTts ? { localTts: d.localTts } : {}),
      emit: onEvent,
    });
    control = callControl(leg, session);
    return session;
  };
}

/** The Realtime API's voices; an agent voice meant for a TTS engine (e.g. espeak's en-us) is not one. */
const REALTIME_VOICES = new Set(['alloy', 'ash', 'ballad', 'cedar', 'coral', 'echo', 'marin', 'sage', 'shimmer', 'verse']);
function isRealtimeVoice(v: string): boolean {
  return REALTIME_VOICES.has(v);
}
