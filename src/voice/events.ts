/**
 * What the voice pipeline reports, as one discriminated union flowing one way (session -> listener).
 * Times are ms on the session's injected clock, so tests in virtual time see exact values.
 */
import type { EndReason } from '../contract/status.js';
import type { AmdCue, AnsweredBy } from '../amd/types.js';
import type { ProviderFallbackEvent } from '../providers/settings.js';

/** The end reasons the voice runtime itself decides (a subset of src/contract/status.ts END_REASONS). */
export type VoiceEndReason = Extract<
  EndReason,
  | 'agent_hangup'
  | 'callee_hangup'
  | 'max_duration_reached'
  | 'inactivity_timeout'
  | 'transferred'
  | 'machine_detected'
  | 'voicemail_left'
  | 'number_unreachable'
  | 'fax_detected'
  | 'error_stt'
  | 'error_llm'
  | 'error_tts'
>;

export const VOICE_END_REASONS: readonly VoiceEndReason[] = [
  'agent_hangup',
  'callee_hangup',
  'max_duration_reached',
  'inactivity_timeout',
  'transferred',
  'machine_detected',
  'voicemail_left',
  'number_unreachable',
  'fax_detected',
  'error_stt',
  'error_llm',
  'error_tts',
];

export interface ToolCallRecord {
  id: string;
  name: string;
  arguments: unknown;
  ok?: boolean;
  result?: unknown;
}

/**
 * One line of the transcript, its times in ms since the answer. `text` of an interrupted agent turn
 * is only what the callee heard.
 */
export interface TranscriptTurn {
  speaker: 'agent' | 'callee';
  text: string;
  startMs: number;
  endMs: number;
  interrupted: boolean;
  toolCalls?: ToolCallRecord[];
}

/**
 * Latency of one agent reply, each measured from the callee's speech end (the moment a human starts
 * waiting). Absent fields were not reached (e.g. a reply that needed no LLM).
 */
export interface TurnLatency {
  turnId: number;
  /** Callee speech end -> STT final. */
  sttFinalMs?: number;
  /** Callee speech end -> first LLM text delta. */
  llmFirstTokenMs?: number;
  /** Callee speech end -> first TTS audio chunk. */
  ttsFirstAudioMs?: number;
  /** Callee speech end -> first agent frame written to the leg. */
  endToEndMs?: number;
}

export type VoiceEvent =
  | { type: 'callee_speech_started'; atMs: number }
  | { type: 'callee_speech_ended'; atMs: number }
  | { type: 'transcript_partial'; text: string; atMs: number }
  | { type: 'transcript_final'; text: string; atMs: number }
  | { type: 'dtmf'; digit: string; atMs: number }
  | { type: 'agent_turn_started'; turnId: number; atMs: number }
  | { type: 'agent_first_audio'; turnId: number; atMs: number }
  | { type: 'agent_turn_finished'; turnId: number; text: string; atMs: number }
  | { type: 'agent_turn_interrupted'; turnId: number; heardText: string; playedMs: number; atMs: number }
  | { type: 'tool_call_started'; id: string; name: string; arguments: unknown; atMs: number }
  | { type: 'tool_call_finished'; id: string; name: string; ok: boolean; result?: unknown; atMs: number }
  | { type: 'turn_latency'; latency: TurnLatency }
  /** A line was added to the transcript (what the callee said, or what of the agent's reply was heard). */
  | { type: 'turn'; turn: TranscriptTurn }
  | { type: 'end_requested'; reason: VoiceEndReason; atMs: number }
  | { type: 'error'; source: 'stt' | 'llm' | 'tts' | 'vad'; code: string; message: string; endReason: VoiceEndReason; atMs: number }
  /**
   * A provider chain switched to its next provider (the call keeps going; recorded in its metrics).
   * Reported by the providers, not the session, so the media worker stamps its time.
   */
  | { type: 'provider_fallback'; fallback: ProviderFallbackEvent }
  /** The answering-machine verdict (once), and for a machine the end of its greeting (at most once). atMs: audio ms since the answer. */
  | { type: 'machine_detection'; answeredBy: AnsweredBy; atMs: number; cues: AmdCue[] }
  | { type: 'machine_detection_ended'; answeredBy: AnsweredBy; atMs: number; cues: AmdCue[]; beepHz?: number }
  /** A machine verdict on sound alone taken back by the words that followed (src/amd: 'revised'). */
  | { type: 'machine_detection_revised'; answeredBy: 'screening' | 'human'; atMs: number; cues: AmdCue[] }
  /** Always last, exactly once: the leg was hung up (or had already ended). */
  | { type: 'ended'; reason: VoiceEndReason; atMs: number };

export type VoiceEventType = VoiceEvent['type'];
