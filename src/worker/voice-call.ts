/**
 * Composes a call's voice agent in the media worker: the brain (scripted flow, else LLM) and the
 * providers (TTS, VAD, STT) around a VoiceSession on the dialed leg. The session subscribes to the
 * leg before answer and starts on 'answered'.
 */
import { createLlmProvider, llmToolsFromAgent } from '../providers/llm/index.js';
import type { SttProvider } from '../providers/stt/types.js';
import type { TtsProvider } from '../providers/tts/types.js';
import type { VadProvider } from '../providers/vad/types.js';
import type { Clock } from '../telephony/clock.js';
import { FlowAgentBrain, type AgentBrain, type ToolRunner } from '../voice/brain.js';
import { FlowBrain } from '../voice/flow/index.js';
import { LlmAgentBrain } from '../voice/llm-brain.js';
import { VoiceSession, type VoiceSessionOptions } from '../voice/session.js';
import type { PrepareVoice } from './media-runtime.js';
import type { DialCommand, VoiceCallSpec } from './protocol.js';
import { createToolRunner, type CallControl } from './tools/index.js';

export interface VoiceProviders {
  tts: TtsProvider;
  vad: VadProvider;
  stt: SttProvider;
  clock: Clock;
  /** Runs a flow's or the model's tools; by default the agent's own tools (src/worker/tools) run. */
  runTool?: ToolRunner;
  /** Session defaults (inactivity, barge-in); max duration always comes from the call. */
  options?: Partial<Omit<VoiceSessionOptions, 'maxDurationMs'>>;
}

const noTools: ToolRunner = async (name) => {
  throw new Error(`tool "${name}" is not available on this worker`);
};

/** Said while a slow tool runs, unless the agent's settings say otherwise. */
export const DEFAULT_FILLER = { afterMs: 1500, phrases: ['One moment please.'] };

/** The call's tools, run against the live call once it is attached (`control`). */
function toolRunnerFor(cmd: DialCommand, spec: VoiceCallSpec, clock: Clock, control: () => CallControl | undefined): ToolRunner {
  const tools = spec.tools ?? [];
  if (tools.length === 0) return noTools;
  const tc = spec.toolContext;
  return createToolRunner({
    tools,
    clock,
    control,
    context: {
      callId: cmd.callId,
      agentId: tc?.agentId ?? '',
      metadata: tc?.metadata ?? null,
      signingSecrets: tc?.signingSecrets ?? [],
      allowPrivateUrls: tc?.allowPrivateUrls ?? false,
      trunk: { host: cmd.trunk.host, port: cmd.trunk.port },
    },
  });
}

/** The agent's brain for a call: the flow when there is one, else the LLM. Throws when neither can run. */
export function brainFor(spec: VoiceCallSpec, runTool: ToolRunner = noTools): AgentBrain {
  if (spec.flow !== undefined && spec.flow !== null) {
    return new FlowAgentBrain(new FlowBrain(spec.flow, spec.dynamicVariables), runTool);
  }
  if (spec.llm) {
    const context: Record<string, unknown> = { dynamic_variables: spec.dynamicVariables };
    if (spec.callContext) context.call_context = spec.callContext;
    return new LlmAgentBrain({
      llm: createLlmProvider(spec.llm),
      systemPrompt: spec.systemPrompt,
      callContext: context,
      runTool,
      // end_call is the brain's own tool (it hangs up politely); the rest are the agent's as declared.
      tools: llmToolsFromAgent((spec.tools ?? []).filter((t) => t.type !== 'end_call')),
      ...(spec.greeting ? { greeting: spec.greeting } : {}),
    });
  }
  throw new Error('the agent has neither a flow nor llm settings');
}

export function voicePreparer(p: VoiceProviders): PrepareVoice {
  return (cmd) => {
    const spec = cmd.voice;
    if (!spec) throw new Error('not a voice call');
    let control: CallControl | undefined;
    const brain = brainFor(spec, p.runTool ?? toolRunnerFor(cmd, spec, p.clock, () => control));
    const isFlow = spec.flow !== undefined && spec.flow !== null;
    const options: VoiceSessionOptions = {
      firstSpeaker: 'agent',
      bargeIn: { minSpeechMs: 300 },
      inactivityTimeoutMs: 10_000,
      filler: DEFAULT_FILLER,
      ...p.options,
      maxDurationMs: cmd.maxDurationMs,
      // A flow speaks its own opening nodes; an LLM agent opens with the configured greeting.
      ...(!isFlow && spec.greeting ? { greeting: spec.greeting } : {}),
      ...(spec.language ? { language: spec.language } : {}),
    };
    const tts = spec.voice ? withVoice(p.tts, spec.voice) : p.tts;
    return (leg, onEvent) => {
      const session = new VoiceSession({ leg, tts, vad: p.vad, stt: p.stt, brain, clock: p.clock, options, emit: onEvent });
      control = {
        leg,
        untilSpoken: () => session.untilSpoken(),
        endAfterTurn: (reason) => session.endAfterTurn(reason),
        expectRemoteEnd: (reason) => session.expectRemoteEnd(reason),
      };
      return session;
    };
  };
}

/** The agent's voice on every request that names none. */
function withVoice(tts: TtsProvider, voice: string): TtsProvider {
  return {
    name: tts.name,
    capabilities: tts.capabilities,
    synthesize: (req) => tts.synthesize(req.voice === undefined ? { ...req, voice } : req),
  };
}
