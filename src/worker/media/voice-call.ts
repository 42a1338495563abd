/**
 * Composes a call's voice agent in the media worker: the brain (scripted flow, else LLM) and the
 * providers the agent chose (TTS, VAD, STT) around a VoiceSession on the dialed leg, with the
 * agent's conversation settings. The session subscribes to the leg before answer and starts on
 * 'answered'.
 */
import type { EndReason } from '../../contract/status.js';
import { ProviderError } from '../../providers/errors.js';
import { FallbackLlm } from '../../providers/fallback/index.js';
import { identify, workerCooldowns } from '../../providers/fallback/cooldowns.js';
import { createLlmProvider, modelToolsFromAgent, type LlmProvider } from '../../providers/llm/index.js';
import type { ProviderChain } from '../../providers/settings.js';
import { fallbackEvent, ProviderChoiceError, withVoice, type EngineHooks, type ProviderKind, type SpeechEngines } from '../../providers/registry.js';
import type { Clock } from '../../time/clock.js';
import { offerRate } from '../../telephony/offer-rate.js';
import { FlowAgentBrain, type AgentBrain, type ToolRunner } from '../../voice/brain.js';
import { FlowBrain } from '../../voice/flow/index.js';
import { callFacts } from '../../voice/instructions.js';
import { LlmAgentBrain } from '../../voice/llm-brain.js';
import type { VoiceEvent } from '../../voice/events.js';
import { CONVERSATION_DEFAULTS, type VoiceSessionOptions } from '../../voice/policy.js';
import { VoiceSession } from '../../voice/session.js';
import { VoicePrepareError, type PrepareVoice, type VoiceCall } from './media-runtime.js';
import type { AnswerCommand, DialCommand } from '../protocol.js';
import { callControl, createToolRunner, type CallControl } from './tools/index.js';
import { prepareRealtimeCall } from './realtime-call.js';
import type { VoiceCallSpec, VoiceConversation } from '../../voice/spec.js';
import { watchForMachine, type MachineDetectorFactory, type MachineHost } from '../../voice/answering-machine.js';
import type { Leg } from '../../voice/leg.js';
import { createMachineDetector } from '../../amd/detector.js';
import { createPhraseSpotter } from '../../voice/phrase-spotter.js';
import type { SttProvider } from '../../providers/stt/types.js';

export interface VoiceProviders {
  /** The call's engines: fixed ones, or built per call from the agent's choice (the worker's SpeechRegistry). */
  engines: SpeechEngines | ((spec: VoiceCallSpec, hooks: EngineHooks) => SpeechEngines);
  clock: Clock;
  /** Runs a flow's or the model's tools; by default the agent's own tools (src/worker/media/tools) run. */
  runTool?: ToolRunner;
  /** This worker's session defaults; the agent's conversation settings win over them; max duration comes from the call. */
  options?: Partial<Omit<VoiceSessionOptions, 'maxDurationMs'>>;
  /** Answering-machine detectors for calls with machine_detection (default: src/amd's). */
  machineDetector?: MachineDetectorFactory;
  /** The detector's phrase spotter for speech-to-speech calls (default: one soundswallower spotter per media thread); null: none. */
  phraseSpotter?: SttProvider | null;
}

/** One spotter per media thread: its decoding thread serves every call of the thread. */
let sharedSpotter: SttProvider | undefined;
const defaultSpotter = (): SttProvider => (sharedSpotter ??= createPhraseSpotter());

/** A session the answering-machine policy can act on. */
type MachineAware = VoiceCall & { machineHost(): MachineHost };

/**
 * With machine_detection on, the detector listens beside the session from the answer on and hears
 * the session's transcript as it comes (src/voice/answering-machine.ts).
 */
function withMachineDetection(
  spec: VoiceCallSpec,
  factory: MachineDetectorFactory,
  attach: (leg: Leg, onEvent: (e: VoiceEvent) => void) => MachineAware,
  /** Words for a session without a recognizer of its own (speech-to-speech); `session`: a cascaded session's own transcripts serve. */
  words: SttProvider | 'session' | undefined,
  clock: Clock,
): (leg: Leg, onEvent: (e: VoiceEvent) => void) => MachineAware {
  const machine = spec.machine;
  if (!machine) return attach;
  return (leg, onEvent) => {
    let heard: (e: VoiceEvent) => void = () => undefined;
    const call = attach(leg, (e) => {
      heard(e);
      onEvent(e);
    });
    heard = watchForMachine(leg, machine, factory, call.machineHost(), {
      clock,
      ...(words === 'session' ? { wordsComing: true } : words ? { spotter: words } : {}),
      // Not the call's failure: the detector goes on with sound and the session's words.
      onSpotterError: (err) => process.emitWarning(`machine detection's phrase spotter failed, words come from the session only: ${err instanceof Error ? err.message : String(err)}`, 'OutcallWarning'),
    });
    return call;
  };
}

/** machine_detection.gate_greeting: the opening waits for the answering-machine policy to open the gate. */
const gateOf = (spec: VoiceCallSpec): { gateOpening?: true } => (spec.machine?.gateGreeting === true ? { gateOpening: true } : {});

function spotterOf(p: VoiceProviders): SttProvider | undefined {
  return p.phraseSpotter === null ? undefined : (p.phraseSpotter ?? defaultSpotter());
}

const CHOICE_END: Record<ProviderKind, EndReason> = { tts: 'error_tts', stt: 'error_stt', vad: 'error_stt', llm: 'error_llm', speech_to_speech: 'error_llm' };

/** The agent's conversation settings over the worker's defaults, over the voice policy's (CONVERSATION_DEFAULTS). */
export function sessionOptionsFor(
  c: VoiceConversation | undefined,
  defaults: Partial<Omit<VoiceSessionOptions, 'maxDurationMs'>> = {},
): Omit<VoiceSessionOptions, 'maxDurationMs'> {
  const base = { ...CONVERSATION_DEFAULTS, ...defaults };
  const o: Omit<VoiceSessionOptions, 'maxDurationMs'> = {
    ...base,
    firstSpeaker: c?.firstSpeaker ?? base.firstSpeaker,
    bargeIn: { ...CONVERSATION_DEFAULTS.bargeIn, ...defaults.bargeIn, ...c?.bargeIn },
    inactivityTimeoutMs: c?.inactivityTimeoutMs ?? base.inactivityTimeoutMs,
  };
  if (c?.inactivityPrompt !== undefined) o.inactivityPrompt = c.inactivityPrompt;
  if (c?.wrapUpLine !== undefined) o.wrapUpLine = c.wrapUpLine;
  if (c?.apologyLine !== undefined) o.apologyLine = c.apologyLine;
  if (c?.filler === null) delete o.filler;
  else if (c?.filler !== undefined) o.filler = c.filler;
  return o;
}

const noTools: ToolRunner = async (name) => {
  throw new Error(`tool "${name}" is not available on this worker`);
};

/** The call's tools, run against the live call once it is attached (`control`). */
function toolRunnerFor(cmd: DialCommand | AnswerCommand, spec: VoiceCallSpec, clock: Clock, control: () => CallControl | undefined): ToolRunner {
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
      metadataJson: tc?.metadataJson ?? null,
      signingSecrets: tc?.signingSecrets ?? [],
      allowPrivateUrls: tc?.allowPrivateUrls ?? false,
      trunk: { host: cmd.trunk.host, port: cmd.trunk.port },
    },
  });
}

/** The agent's brain for a call: the flow when there is one, else the LLM. Throws when neither can run. */
export function brainFor(spec: VoiceCallSpec, runTool: ToolRunner = noTools, hooks: EngineHooks = {}): AgentBrain {
  if (spec.flow !== undefined && spec.flow !== null) {
    return new FlowAgentBrain(new FlowBrain(spec.flow, flowVariables(spec)), runTool);
  }
  if (spec.llm) {
    // end_call is the brain's own tool (it hangs up politely), named and described as the agent
    // declared it (or the built-in); the rest are the agent's as declared.
    const { tools, endCall } = modelToolsFromAgent(spec.tools ?? []);
    return new LlmAgentBrain({
      llm: llmChain(spec.llm, hooks),
      systemPrompt: spec.systemPrompt,
      ...(spec.language ? { language: spec.language } : {}),
      callContext: callFacts(spec.dynamicVariables, spec.callContext),
      runTool,
      tools,
      endCall,
      ...(spec.greeting ? { greeting: spec.greeting } : {}),
    });
  }
  throw new Error('the agent has neither a flow nor llm settings');
}

/**
 * What a flow's {{variables}} and branch cases read: the call's dynamic_variables and its
 * call_context as `call_context` (empty when the call gives none; the call's own field wins over a
 * dynamic variable of that name).
 */
export function flowVariables(spec: Pick<VoiceCallSpec, 'dynamicVariables' | 'callContext'>): Record<string, string> {
  return { call_context: '', ...spec.dynamicVariables, ...(spec.callContext ? { call_context: spec.callContext } : {}) };
}

export function voicePreparer(p: VoiceProviders): PrepareVoice {
  return (cmd) => {
    const spec = cmd.voice;
    if (!spec) throw new Error('not a voice call');
    const detectors = p.machineDetector ?? createMachineDetector;
    // Provider switches are reported to the session's listener once the call is attached (before answer).
    let emit: ((e: VoiceEvent) => void) | undefined;
    const hooks: EngineHooks = { onFallback: (fallback) => emit?.({ type: 'provider_fallback', fallback }) };
    let engines: SpeechEngines;
    try {
      engines = typeof p.engines === 'function' ? p.engines(spec, hooks) : p.engines;
    } catch (err) {
      // Refused before dialing: an engine this worker does not run must not become a deaf or mute call.
      if (err instanceof ProviderChoiceError) throw new VoicePrepareError(CHOICE_END[err.kind], err.message);
      throw err;
    }
    if (spec.speechToSpeech) {
      // A speech-to-speech model hears and speaks itself: no brain (src/worker/media/realtime-call.ts).
      // Only the TTS is used, for what the model cannot say: the apology when it fails, and filler.
      const attach = withMachineDetection(spec, detectors, prepareRealtimeCall(cmd, spec, {
        clock: p.clock,
        options: { ...sessionOptionsFor(spec.conversation, p.options), maxDurationMs: cmd.maxDurationMs, ...(spec.greeting ? { greeting: spec.greeting } : {}), ...gateOf(spec) },
        runTool: (control) => p.runTool ?? toolRunnerFor(cmd, spec, p.clock, control),
        localTts: engines.tts,
      }), spotterOf(p), p.clock);
      return (leg, onEvent) => {
        emit = onEvent; // a TTS fallback switch is the call's to record too
        return attach(leg, onEvent);
      };
    }
    let control: CallControl | undefined;
    let brain: AgentBrain;
    try {
      brain = brainFor(spec, p.runTool ?? toolRunnerFor(cmd, spec, p.clock, () => control), hooks);
    } catch (err) {
      // A model without its key (or with a bad option) is refused before dialing.
      if (err instanceof ProviderError) throw new VoicePrepareError('error_llm', `llm: ${err.message}`);
      throw err;
    }
    const isFlow = spec.flow !== undefined && spec.flow !== null;
    const options: VoiceSessionOptions = {
      // No filler unless the agent (or this worker) configures one: the documented default is none.
      ...sessionOptionsFor(spec.conversation, p.options),
      maxDurationMs: cmd.maxDurationMs,
      // A flow speaks its own opening nodes; an LLM agent opens with the configured greeting.
      ...(!isFlow && spec.greeting ? { greeting: spec.greeting } : {}),
      ...(spec.language ? { language: spec.language } : {}),
      expectedSampleRate: offerRate(cmd.codecs),
      ...gateOf(spec),
    };
    // An agent without tts settings speaks the default engine with its `voice`; with them, each
    // provider of the chain already carries its own voice (src/providers/registry.ts).
    const tts = spec.speech?.tts ? engines.tts : withVoice(engines.tts, spec.voice);
    return withMachineDetection(spec, detectors, (leg, onEvent) => {
      emit = onEvent;
      const session = new VoiceSession({ leg, tts, vad: engines.vad, stt: engines.stt, brain, clock: p.clock, options, emit: onEvent });
      control = callControl(leg, session);
      return session;
    }, 'session', p.clock);
  };
}


/** The agent's model, or its chain with fallbacks: a model that fails before its first words is replaced within the turn. */
export function llmChain(chain: ProviderChain, hooks: EngineHooks = {}): LlmProvider {
  const { fallbacks, ...first } = chain;
  const list = [first, ...(fallbacks ?? [])].map((s) => identify(createLlmProvider(s), 'llm', s));
  if (list.length === 1) return list[0] as LlmProvider;
  return new FallbackLlm(list, { onFallback: (s) => hooks.onFallback?.(fallbackEvent(s)), cooldowns: workerCooldowns });
}
