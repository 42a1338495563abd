/** Shared SDP types and the typed error every SDP function throws on bad input. */
import type { CodecName } from '../../media/codecs.js';
import type { SrtpSuite } from '../rtp/srtp/suites.js';

/** Media direction (RFC 3264 §5.1, §6.1), always from OUR point of view in NegotiatedMedia. */
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** A trunk's media_encryption (sdp/crypto.ts says what each mode offers and accepts). */
export type MediaEncryption = 'disabled' | 'optional' | 'required';

/** One of our keys: a suite and its inline key (base64 of master key || master salt). */
export interface LocalCrypto {
  readonly suite: SrtpSuite;
  readonly inline: string;
}

/** SRTP as negotiated for a stream: plain data (it crosses worker threads), base64 keys. */
export interface NegotiatedSrtp {
  readonly suite: SrtpSuite;
  /** Ours: we encrypt what we send with it. */
  readonly sendInline: string;
  /** Theirs: we decrypt what we receive with it. */
  readonly recvInline: string;
}

/** Codec tokens accepted in an offer, in preference order. 'L16' means L16/16000. */
export type OfferCodecToken = 'PCMU' | 'PCMA' | 'L16' | 'L16/16000' | 'G722' | 'telephone-event';

export interface OfferSpec {
  /** Address we receive RTP on (c= line). */
  address: string;
  /** Our even RTP port (m= line); RTCP is on port + 1 unless rtcp-mux is negotiated. */
  port: number;
  codecs: readonly OfferCodecToken[];
  /** o= session id; keep it for the whole dialog (RFC 4566 §5.2). Default: derived from the clock. */
  sessionId?: string;
  /** o= version; +1 each time the SDP we send changes (RFC 3264 §8). Default 1. */
  sessionVersion?: number;
  /** Offer RFC 5761 rtcp-mux. Default false: most trunks do not support it. */
  rtcpMux?: boolean;
  /** Default 'sendrecv'. 'sendonly'/'inactive' put the remote on hold (RFC 3264 §8.4). */
  direction?: Direction;
  /** o= username. Default 'outcall'. */
  username?: string;
  /** SRTP (sdp/crypto.ts). Default 'disabled'; otherwise `crypto` holds our keys, one per suite. */
  encryption?: MediaEncryption;
  crypto?: readonly LocalCrypto[];
}

/**
 * Result of an offer/answer exchange: everything a MediaSession needs, as plain data (it crosses
 * worker-thread boundaries).
 */
export interface NegotiatedMedia {
  remoteAddress: string;
  remotePort: number;
  /** Where to send RTCP: a=rtcp (RFC 3605) if present, else remotePort + 1, or remotePort with mux. */
  rtcpPort: number;
  rtcpMux: boolean;
  codec: CodecName;
  clockRate: number;
  sampleRate: number;
  /** PT we put on packets we send: the number the remote listed for the codec (RFC 3264 §5.1). */
  payloadType: number;
  /** PTs we accept for the codec on receive (ours from our SDP and theirs, normally equal). */
  recvPayloadTypes: number[];
  /** PT for RFC 4733 telephone-event at the codec's clock rate when both sides listed it, else null. */
  dtmfPayloadType: number | null;
  dtmfRecvPayloadTypes: number[];
  /** What WE may do: send only if this includes 'send'. */
  direction: Direction;
  /** The remote's packetisation time in ms (a=ptime), default 20. */
  ptime: number;
  /** True when the remote signalled hold (sendonly/inactive or c=0.0.0.0, RFC 3264 §8.4). */
  remoteHold: boolean;
  /** SRTP keys when the stream is encrypted (RFC 4568 SDES), null for plain RTP. */
  srtp: NegotiatedSrtp | null;
}

export type SdpErrorCode =
  | 'MALFORMED'
  | 'NO_AUDIO'
  | 'PORT_ZERO'
  | 'NO_COMMON_CODEC'
  | 'UNSUPPORTED_TRANSPORT'
  | 'UNSUPPORTED_CODEC'
  | 'BAD_ADDRESS'
  /** SRTP is required (by us, or by an RTP/SAVP offer) and no key could be agreed: 488. */
  | 'NO_COMMON_CRYPTO';

/** Typed SDP failure. SIP maps NO_COMMON_CODEC/NO_COMMON_CRYPTO/UNSUPPORTED_TRANSPORT to 488, the rest to 400/488. */
export class SdpError extends Error {
  readonly code: SdpErrorCode;
  constructor(code: SdpErrorCode, message: string) {
    super(message);
    this.name = 'SdpError';
    this.code = code;
  }
}

export function canSend(d: Direction): boolean {
  return d === 'sendrecv' || d === 'sendonly';
}

export function canReceive(d: Direction): boolean {
  return d === 'sendrecv' || d === 'recvonly';
}

export function makeDirection(send: boolean, recv: boolean): Direction {
  return send ? (recv ? 'sendrecv' : 'sendonly') : recv ? 'recvonly' : 'inactive';
}

/** The direction the other side's attribute implies for us (RFC 3264 §6.1 table). */
export function mirror(d: Direction): Direction {
  return d === 'sendonly' ? 'recvonly' : d === 'recvonly' ? 'sendonly' : d;
}
