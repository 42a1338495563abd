/**
 * Messages between the control side (store, dispatcher, call controller) and a media worker (SIP
 * user agent, RTP legs, greeting playout). They cross a thread boundary (postMessage), so they are
 * plain data, and both directions are discriminated unions.
 */
import type { AmdCue, AnsweredBy } from '../amd/types.js';
import type { EndReason } from '../contract/status.js';
import type { ProviderFallbackEvent } from '../providers/settings.js';
import type { Recording, RecordingOptions } from '../media/wav-recorder.js';
import type { TranscriptTurn, TurnLatency } from '../voice/events.js';
import type { MediaQuality } from '../voice/leg.js';
import type { GreetingSpec, VoiceCallSpec } from '../voice/spec.js';

export interface DialCommand {
  type: 'dial';
  callId: string;
  to: string;
  from: string;
  callerIdName?: string;
  customHeaders: Array<{ name: string; value: string }>;
  /** tlsCaPem: the trunk's own PEM trust anchors, added to the default CAs for its TLS hops. */
  trunk: { host: string; port: number; transport: 'udp' | 'tcp' | 'tls'; tlsCaPem?: string };
  credentials?: { username: string; password: string };
  ringTimeoutMs: number;
  maxDurationMs: number;
  /** Spoken the moment the callee answers, then the call ends (until the voice agent takes over). */
  greeting: GreetingSpec | null;
  codecs?: string[];
  /** SRTP with SDES keys (the trunk's media_encryption); absent: disabled. */
  mediaEncryption?: 'optional' | 'required';
  /** Present: the call runs a voice agent (greeting is then ignored; the session owns max_duration). */
  voice?: VoiceCallSpec;
  /** Present: the call is recorded from answer to end (capped at maxDurationMs), one side or both. */
  record?: RecordingOptions;
}

/**
 * Answer an inbound call (its INVITE, `inviteId`, is held by the media thread that reported it as
 * `incoming`) with an agent, as a dial command places an outbound one: the same greeting, voice,
 * limits and recording. `to` is our number, `from` the caller; trunk, customHeaders and
 * ringTimeoutMs are not used.
 */
export interface AnswerCommand extends Omit<DialCommand, 'type'> {
  type: 'answer';
  inviteId: string;
}

/** Refuse an inbound call before anything is recorded (no such number, a caller not allowed, over a limit). */
export interface RejectCommand {
  type: 'reject';
  inviteId: string;
  status: number;
  reason?: string;
  /** Header fields of the response: WWW-Authenticate with a 401, Retry-After with a 503. */
  headers?: Array<{ name: string; value: string }>;
  /** The refusal counts toward the source's block at the edge (source-guard.ts); every 403 does. */
  strike?: boolean;
}

/**
 * Keep a registration for a trunk (RFC 3261 §10) on this thread's SIP port, so the registrar sends
 * the trunk's calls here; a second one for the same trunk replaces the first (its settings changed).
 */
export interface RegisterCommand {
  type: 'register';
  trunkId: string;
  registrar: { host: string; port: number; transport: 'udp' | 'tcp' };
  /** The address-of-record's user (the trunk's username). */
  user: string;
  credentials?: { username: string; password: string };
  expiresS: number;
}

/** Timings of an answered call, measured in the media worker. */
export interface CallTimings {
  /** Answer -> the first greeting frame written to the leg (it leaves on the next 20 ms tick). */
  answerToGreetingMs?: number;
  /** One per agent reply of a voice call (VoiceSession's turn_latency). */
  turns: TurnLatency[];
  /** Each switch of a provider chain to its next provider, in order. */
  providerFallbacks?: ProviderFallbackRecord[];
  /** How the call's audio fared on its leg, read at the end. */
  media?: MediaQuality;
}

/** A provider switch as the call records it: ms from answer (the session's clock). */
export type ProviderFallbackRecord = ProviderFallbackEvent & { atMs: number };

/** shutdown: no new calls; live ones may go on for drainMs (default 0), then are ended worker_shutdown. */
export type WorkerCommand =
  | DialCommand
  | AnswerCommand
  | RejectCommand
  | RegisterCommand
  /** Remove the trunk's binding (Expires: 0) and stop refreshing it. */
  | { type: 'unregister'; trunkId: string }
  | { type: 'cancel'; callId: string }
  | { type: 'shutdown'; drainMs?: number };

export type CallOutcomeStatus = 'completed' | 'busy' | 'no_answer' | 'canceled' | 'failed';

export type WorkerEvent =
  | { type: 'ready'; sipPort: number }
  /**
   * An INVITE from outside (180 Ringing already sent): the control side finds the number's agent
   * and answers it (AnswerCommand) or refuses it (RejectCommand). dialed: the Request-URI's user;
   * toUser: the To header's; source: where the request came from (the trunk's address, or not).
   */
  /** INVITEs refused 403 on the media thread since the last report (sources blocked by source-guard.ts). */
  | { type: 'refused-at-edge'; count: number }
  /**
   * A trunk's registration changed state (wall-clock ms for the times). gone: it no longer exists on
   * any thread (the thread holding it died), so the control side must register it again.
   */
  | { type: 'registration'; trunkId: string; state: 'registering' | 'registered' | 'failed' | 'unregistered'; expiresAt?: number; lastError?: string; lastSuccessAt?: number; at: number; gone?: true }
  | {
      type: 'incoming';
      inviteId: string;
      dialed: string;
      toUser: string;
      from: string;
      callerName?: string;
      source: { address: string; port: number };
      transport: string;
      /** The Authorization values (a digest answer to our challenge), for digest checks. */
      authorization: string[];
      at: number;
    }
  | { type: 'ringing'; callId: string; earlyMedia: boolean }
  /** conversation: someone talks on the call (a voice agent, or a greeting): its conversation starts now. */
  | { type: 'answered'; callId: string; codec: string; sampleRate: number; at: number; conversation: boolean }
  | { type: 'greeting-started'; callId: string; at: number }
  /** Live: a transcript line as it happens (the whole transcript still comes with 'ended'). */
  | { type: 'turn'; callId: string; turn: TranscriptTurn }
  | { type: 'latency'; callId: string; latency: TurnLatency }
  /**
   * Who answered (machine_detection): the verdict, then for a machine the end of its greeting
   * (stage 'ended') or the verdict taken back by words (stage 'revised': screening or human).
   * atMs: ms of the callee's audio since the answer; at: the worker's clock.
   */
  | { type: 'amd'; callId: string; stage: 'verdict' | 'ended' | 'revised'; answeredBy: AnsweredBy; atMs: number; cues: AmdCue[]; beepHz?: number; at: number }
  | {
      type: 'ended';
      callId: string;
      status: CallOutcomeStatus;
      sipStatusCode: number;
      endReason: EndReason;
      reason: string;
      at: number;
      /** Voice calls only: the conversation, in order. */
      transcript?: TranscriptTurn[];
      /** Answered calls only. */
      timings?: CallTimings;
      /** Answered calls with record on: the WAV (its ArrayBuffer is transferred, not copied). */
      recording?: Recording;
    }
  | { type: 'log'; level: 'warn' | 'error'; message: string; callId?: string };

/** What postMessage should transfer rather than copy with an event (a recording's WAV bytes). */
export function transferablesOf(e: WorkerEvent): ArrayBuffer[] {
  return e.type === 'ended' && e.recording ? [e.recording.wav] : [];
}
