/** Public types of a CallLeg (one outbound call with its media): options and the event union. */
import type { DialOptions, UserAgent } from './sip/index.js';
import type { CallOutcome, EndedBy } from './sip/index.js';
import type { PacingClock, PortPool } from './rtp/index.js';
import type { OfferCodecToken } from './sdp/index.js';
import type { MediaEncryption } from './sdp/crypto.js';

export interface CallLegOptions {
  readonly ua: UserAgent;
  readonly portPool: PortPool;
  /** Address the RTP socket binds to. */
  readonly localAddress: string;
  /** Address written into our SDP (c=/o=); required when localAddress is a wildcard. */
  readonly advertiseAddress?: string;
  /**
   * Audio codecs in preference order: 'PCMU' | 'PCMA' | 'G722' | 'L16/16000' (or 'L16'). G.722 and L16
   * are wideband: write()/onAudio frames are 16 kHz (G.722's RTP clock is 8000, RFC 3551 §4.5.2). telephone-event
   * (RFC 4733) is always offered, once per audio clock rate. Default ['PCMU', 'PCMA'].
   */
  readonly codecs?: readonly string[];
  /** SRTP (RFC 4568 SDES): the trunk's media_encryption. Default 'disabled'. */
  readonly mediaEncryption?: MediaEncryption;
  /** The process-wide PacingClock.shared() by default; tests inject one on virtual time. */
  readonly pacing?: PacingClock;
  /** End the call when no RTP arrived for this long while we expect to receive. Default 30000; 0 = never. */
  readonly rtpTimeoutMs?: number;
  /** Jitter buffer target depth in ms (MediaSession default 60). */
  readonly jitterTargetMs?: number;
  readonly dial: Omit<DialOptions, 'sdpOffer' | 'onReinvite'>;
}

export type LegOutcome = CallOutcome;

export type LegEvent =
  | { readonly type: 'trying' }
  /**
   * 180/183. earlyMedia: the response carried SDP. earlySampleRate: the early media runs (a CallLeg
   * receives it, never sends) and onEarlyAudio delivers its frames at this rate.
   */
  | { readonly type: 'ringing'; readonly earlyMedia: boolean; readonly earlySampleRate?: number }
  /** The callee answered and media is started: write() is allowed from now on. */
  | { readonly type: 'answered'; readonly codec: string; readonly sampleRate: number }
  /** An RFC 4733 digit the callee pressed. */
  | { readonly type: 'dtmf'; readonly digit: string; readonly durationMs: number }
  /** The outgoing audio queue ran empty by playing out (not by clear()). */
  | { readonly type: 'drained' }
  /** A NOTIFY about our REFER: the transfer's progress as a SIP status (RFC 3515 §2.4.5). */
  | { readonly type: 'transfer-progress'; readonly statusCode: number; readonly final: boolean }
  | {
      readonly type: 'ended';
      readonly sipStatusCode: number;
      readonly reason: string;
      readonly by: EndedBy;
      readonly outcome: LegOutcome;
    };

export type LegEnded = Extract<LegEvent, { type: 'ended' }>;

const TOKENS: ReadonlySet<string> = new Set(['PCMU', 'PCMA', 'G722', 'L16', 'L16/16000']);

/**
 * Validates the codec preference and appends telephone-event: DTMF is always offered (RFC 4733 §7.1.1
 * needs one PT per audio clock rate; sdp/localFormats writes them).
 */
export function offerTokens(codecs: readonly string[] | undefined): OfferCodecToken[] {
  const list = codecs ?? ['PCMU', 'PCMA'];
  const out: OfferCodecToken[] = [];
  for (const c of list) {
    if (c === 'telephone-event') continue;
    if (!TOKENS.has(c)) throw new TypeError(`unsupported codec ${c} (use PCMU, PCMA, G722, L16/16000)`);
    out.push(c as OfferCodecToken);
  }
  if (out.length === 0) throw new TypeError('codecs must name at least one audio codec');
  out.push('telephone-event');
  return out;
}
