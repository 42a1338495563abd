import type { Tool } from '../contract/agent.js';
import type { AmdSettings } from '../amd/types.js';
import type { SpeechChoice } from '../providers/registry.js';
import type { ProviderChain, ResolvedProviderSettings } from '../providers/settings.js';

/**
 * What the voice runtime needs to run an agent on a call (VoiceSession, or the speech-to-speech
 * session) instead of the greeting-only playout. A scripted flow, or LLM settings (with the decrypted key) and the prompt, or a
 * speech-to-speech model; built from the agent and the call by src/agents/voice-spec.ts.
 */
export interface VoiceCallSpec {
  /** A scripted flow (validated again in the worker with validateFlow). Wins over `llm`. */
  flow?: unknown;
  /** The agent's model, with its fallbacks (keys resolved). */
  llm?: ProviderChain;
  /** A speech-to-speech model that hears and speaks itself: the call runs it instead of stt + llm + tts. */
  speechToSpeech?: ResolvedProviderSettings;
  systemPrompt: string;
  /** The call's call_context (appended to the prompt for this call). */
  callContext?: string;
  dynamicVariables: Record<string, string>;
  /** Opening line (dynamic variables filled); a flow speaks its own start nodes instead. */
  greeting?: string;
  /** The call's one language (src/agents/voice-spec.ts callLanguage): heard, spoken, and what the model is told to speak. */
  language?: string;
  voice?: string;
  /** The agent's tools as declared: offered to the model, run by name for the model and the flow's tool nodes. */
  tools?: Tool[];
  /** What the tools need beyond the dial command (present when there are tools). */
  toolContext?: {
    agentId: string;
    /** The call's metadata (parsed). */
    metadata: unknown;
    /** The call's metadata as the client sent it: what http tools send, byte for byte, when present. */
    metadataJson?: string | null;
    /** The organization's valid webhook signing secrets (decrypted), newest first: http tool requests are signed like webhooks. */
    signingSecrets: string[];
    allowPrivateUrls: boolean;
  };
  /** The agent's speech engines (tts, stt, conversation.vad); absent ones are the worker's defaults. */
  speech?: SpeechChoice;
  /** The agent's conversation settings, as given (the session fills the defaults). */
  conversation?: VoiceConversation;
  /** Answering-machine detection and what to do on a machine (absent: off). */
  machine?: MachineSpec;
}

/** The call's machine_detection and voicemail in the worker's terms. */
export interface MachineSpec {
  settings: AmdSettings;
  /** What happens on a machine verdict. */
  action: 'hangup' | 'leave_message' | 'continue';
  /** leave_message: said after the greeting's end, {{variables}} filled. */
  message?: string;
  /** Said to a call-screening assistant, {{variables}} filled; absent: the agent's opening. */
  screeningResponse?: string;
  /** The opening waits for the verdict (at most GATE_MAX_MS after the callee stops speaking). */
  gateGreeting?: boolean;
}

/** The agent's `conversation` field in the worker's terms (ms, camelCase); lines have {{variables}} filled. */
export interface VoiceConversation {
  firstSpeaker?: 'agent' | 'callee';
  bargeIn?: { enabled?: boolean; minSpeechMs?: number; minWords?: number };
  inactivityTimeoutMs?: number;
  inactivityPrompt?: string;
  wrapUpLine?: string;
  apologyLine?: string;
  filler?: { afterMs: number; phrases: string[] } | null;
}

/** What a greeting-only agent says the moment the callee answers (then the call ends). */
export interface GreetingSpec {
  /** The agent's greeting, {{variables}} filled. */
  text: string;
  /** The call's language: a TTS without a voice speaks it with that language's voice. */
  language?: string;
  voice?: string;
  /** The agent's own TTS and its fallbacks; absent: the worker's default voice. */
  tts?: ProviderChain;
}
