/**
 * Answerer side of RFC 3264 (§6), used for offers the remote sends mid-call (re-INVITE): hold,
 * unhold, session refresh, a new remote address. Also usable for an initial inbound offer.
 */
import { findAudio, localFormats, newSessionId, parseSdp, type LocalFormat } from './common.js';
import { isSecureProfile, settleOfferCrypto, type LocalCrypto, type MediaEncryption } from './crypto.js';
import type { SrtpSuite } from '../rtp/srtp/suites.js';
import { buildNegotiated } from './negotiate.js';
import { validateLocal, writeAudioSdp } from './offer.js';
import type { Direction, NegotiatedMedia, OfferCodecToken } from './types.js';

export interface AnswerLocal {
  address: string;
  port: number;
  codecs: readonly OfferCodecToken[];
  /** o= session id of the SDP we sent earlier in this dialog (it must not change, RFC 3264 §8). */
  sessionId?: string;
  /** o= version of the last SDP we sent; incremented only if this answer differs (RFC 3264 §8). */
  sessionVersion?: number;
  /** The last SDP body we sent in this dialog, to detect "no change" (session refresh). */
  previousSdp?: string;
  /** Codec in use: kept if still offered, so a refresh does not switch codecs mid-call. */
  currentCodec?: string;
  /** Our own wish; 'sendrecv' unless we hold the remote. */
  direction?: Direction;
  rtcpMux?: boolean;
  username?: string;
  /** SRTP (sdp/crypto.ts): the trunk's mode (default 'disabled') and our keys, one per suite. */
  encryption?: MediaEncryption;
  crypto?: readonly LocalCrypto[];
  /** The SRTP suite in use: kept on a re-offer that still lists it. */
  currentSuite?: SrtpSuite;
}

export interface AnswerResult {
  sdp: string;
  media: NegotiatedMedia;
  sessionId: string;
  sessionVersion: number;
}

/** Strips the o= line's version so two bodies can be compared for "same session description". */
function withoutVersion(sdp: string): string {
  return sdp.replace(/^o=(\S+) (\S+) (\S+) /m, 'o=$1 $2 * ');
}

export function answerOffer(remoteOfferSdp: string, local: AnswerLocal): AnswerResult {
  validateLocal(local.address, local.port);
  const sdp = parseSdp(remoteOfferSdp);
  const { media: m, index } = findAudio(sdp);
  const ours = localFormats(local.codecs);
  const ourDir = local.direction ?? 'sendrecv';
  const { media, chosen, dtmf } = buildNegotiated(sdp, m, ours, ourDir, local.rtcpMux ?? false, local.currentCodec);
  // SDES (RFC 4568 §7.1.2): answer one of the offer's crypto lines with its tag and our key, in the
  // offer's profile (RTP/SAVP, or RTP/AVP for best-effort SRTP).
  const crypto = settleOfferCrypto(local.encryption ?? 'disabled', local.crypto ?? [], m, local.currentSuite);
  media.srtp = crypto?.srtp ?? null;
  // RFC 3264 §6.1: the answer lists what we accept, using the offer's payload type numbers, so the
  // remote's dynamic numbering is kept. We list just the chosen codec (+ DTMF): one codec answers are
  // the norm for trunks and avoid mid-stream codec switches.
  const formats: LocalFormat[] = [{ pt: chosen.pt, encodingName: chosen.encodingName, clockRate: chosen.clockRate }];
  if (dtmf) formats.push({ pt: dtmf.pt, encodingName: 'TELEPHONE-EVENT', clockRate: dtmf.clockRate, fmtp: dtmf.fmtp ?? '0-16' });
  // Our receive PT is the offer's, so what we accept equals what we send with.
  media.recvPayloadTypes = [chosen.pt];
  media.dtmfRecvPayloadTypes = dtmf ? [dtmf.pt] : [];
  // RFC 3264 §6: the answer has the same number of m= lines; others are rejected with port 0.
  const rejected = sdp.media
    .map((x, i) => ({ type: String(x.type), protocol: String(x.protocol), payloads: String(x.payloads ?? '0'), index: i }))
    .filter((x) => x.index !== index);
  const sessionId = local.sessionId ?? newSessionId();
  const build = (version: number): string =>
    writeAudioSdp({
      address: local.address,
      port: local.port,
      formats,
      sessionId,
      sessionVersion: version,
      direction: media.direction,
      rtcpMux: media.rtcpMux,
      username: local.username ?? 'outcall',
      // An RTP/SAVP(F) offer is answered in kind; anything else in RTP/AVP, as before SRTP.
      protocol: isSecureProfile(m.protocol) ? String(m.protocol).toUpperCase() : 'RTP/AVP',
      ...(crypto ? { crypto: [crypto.line] } : {}),
      rejected,
      audioIndex: index,
    });
  const prevVersion = local.sessionVersion;
  let version = prevVersion ?? 1;
  let body = build(version);
  if (prevVersion !== undefined && (local.previousSdp === undefined || withoutVersion(local.previousSdp) !== withoutVersion(body))) {
    // The description changed (or we cannot tell): RFC 3264 §8 requires a higher version.
    version = prevVersion + 1;
    body = build(version);
  }
  return { sdp: body, media, sessionId, sessionVersion: version };
}

/** Exposed for callers that need to inspect a remote SDP's origin (e.g. detect a refresh). */
export function originOf(sdpText: string): { sessionId: string; sessionVersion: number } {
  const s = parseSdp(sdpText);
  return { sessionId: String(s.origin.sessionId), sessionVersion: Number(s.origin.sessionVersion) };
}

