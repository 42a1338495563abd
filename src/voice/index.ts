/** The voice agent runtime's public surface (the media worker composes a VoiceSession per answered call). */
export { VoiceSession, type VoiceSessionDeps, type VoiceSessionOptions } from './session.js';
export { FlowAgentBrain, type AgentBrain, type BrainInput, type BrainOutput, type ToolRunner } from './brain.js';
export { LlmAgentBrain, END_CALL_TOOL, type LlmBrainOptions } from './llm-brain.js';
export { Playout, prorate, type PlayoutEvent, type PlayoutOptions, type UtteranceReport } from './playout.js';
export { SentenceChunker, type SentenceChunkerOptions } from './sentence-chunker.js';
export { CalleeTurns, type CalleeUtterance } from './callee-turns.js';
export {
  VOICE_END_REASONS,
  type ToolCallRecord,
  type TranscriptTurn,
  type TurnLatency,
  type VoiceEndReason,
  type VoiceEvent,
  type VoiceEventType,
} from './events.js';
