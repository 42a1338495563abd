/**
 * Messages between the control side (store, dispatcher, call controller) and a media worker (SIP
 * user agent, RTP legs, greeting playout). They cross a thread boundary (postMessage), so they are
 * plain data, and both directions are discriminated unions.
 */
import type { EndReason } from '../calls/status.js';

export interface DialCommand {
  type: 'dial';
  callId: string;
  to: string;
  from: string;
  callerIdName?: string;
  customHeaders: Array<{ name: string; value: string }>;
  trunk: { host: string; port: number; transport: 'udp' | 'tcp' | 'tls' };
  credentials?: { username: string; password: string };
  ringTimeoutMs: number;
  maxDurationMs: number;
  /** Spoken the moment the callee answers, then the call ends (until the voice agent takes over). */
  greeting: { text: string; voice?: string } | null;
  codecs?: string[];
}

export type WorkerCommand = DialCommand | { type: 'cancel'; callId: string } | { type: 'shutdown' };

export type CallOutcomeStatus = 'completed' | 'busy' | 'no_answer' | 'canceled' | 'failed';

export type WorkerEvent =
  | { type: 'ready'; sipPort: number }
  | { type: 'ringing'; callId: string; earlyMedia: boolean }
  | { type: 'answered'; callId: string; codec: string; sampleRate: number; at: number }
  | { type: 'greeting-started'; callId: string; at: number }
  | {
      type: 'ended';
      callId: string;
      status: CallOutcomeStatus;
      sipStatusCode: number;
      endReason: EndReason;
      reason: string;
      at: number;
    }
  | { type: 'log'; level: 'warn' | 'error'; message: string; callId?: string };
