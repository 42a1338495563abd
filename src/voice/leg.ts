/**
 * What the voice runtime needs of a call leg. The runtime owns this contract and its host supplies
 * legs that meet it: telephony's CallLeg on a real call, a fake in tests, a recording wrapper
 * around either. Events are telephony's own (LegEvent), not a copy of them.
 */
import type { LegEvent } from '../telephony/leg-events.js';
import type { MediaQuality } from '../telephony/rtp/media-quality.js';

export type { LegEvent, MediaQuality };

export interface Leg {
  on(listener: (e: LegEvent) => void): () => void;
  write(frame: Int16Array): void;
  readonly queuedMs: number;
  cancel(): Promise<unknown>;
  hangup(): Promise<unknown>;
  /** Decoded 20 ms frames of the callee's audio after answer (voice calls need it). */
  onAudio?(listener: (frame: Int16Array) => void): () => void;
  /** Early media (a 183 with SDP) before the answer, at the 'ringing' event's earlySampleRate: the network's tones and announcements. */
  onEarlyAudio?(listener: (frame: Int16Array) => void): () => void;
  /** Blind transfer (REFER); resolves with the REFER's final status (the transfer_call tool). */
  transfer?(target: string): Promise<number>;
  /** RFC 4733 digits to the callee (the send_dtmf tool); throws on a bad digit or a dead call. */
  sendDtmf?(digits: string): void;
  /** How the call's audio fared on this leg (loss, late packets, concealment, jitter); undefined without media. */
  mediaQuality?(): MediaQuality | undefined;
}
