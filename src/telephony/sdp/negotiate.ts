/**
 * Offerer side of RFC 3264: reads the answer to our offer and decides the media parameters.
 */
import {
  checkPort,
  checkTransport,
  codecForFormat,
  connectionAddress,
  findAudio,
  isNullAddress,
  listFormats,
  localFormats,
  mediaDirection,
  parseSdp,
  ptimeOf,
  rtcpPortOf,
  type Format,
  type LocalFormat,
  type ParsedMedia,
  type ParsedSdp,
} from './common.js';
import { offerLines, settleAnswerCrypto } from './crypto.js';
import { canReceive, canSend, makeDirection, mirror, SdpError, type Direction, type NegotiatedMedia, type OfferSpec } from './types.js';

/**
 * Builds NegotiatedMedia from the remote SDP (offer or answer) and the formats we listed.
 * `remoteOrder` true: the first of the remote's formats that we also listed wins (RFC 3264 §7: the
 * answer's first codec is the one to use); `preferCodec` keeps a codec already in use.
 */
export function buildNegotiated(
  sdp: ParsedSdp,
  m: ParsedMedia,
  ours: LocalFormat[],
  ourDirection: Direction,
  ourMux: boolean,
  preferCodec?: string,
): { media: NegotiatedMedia; chosen: Format; dtmf: Format | undefined } {
  checkTransport(m);
  const port = checkPort(m);
  const address = connectionAddress(sdp, m);
  const theirs = listFormats(m);
  const common = theirs.filter((f) => {
    const c = codecForFormat(f);
    return c !== undefined && ours.some((o) => o.codec === c);
  });
  const chosen = (preferCodec !== undefined ? common.find((f) => codecForFormat(f)?.name === preferCodec) : undefined) ?? common[0];
  const codec = chosen ? codecForFormat(chosen) : undefined;
  if (!chosen || !codec) throw new SdpError('NO_COMMON_CODEC', 'no audio codec in common');
  const mine = ours.find((o) => o.codec === codec) as LocalFormat;
  // RFC 4733 §7.1.1: telephone-event at the same clock rate as the chosen audio codec.
  const dtmf = theirs.find((f) => f.encodingName === 'TELEPHONE-EVENT' && f.clockRate === codec.clockRate);
  const myDtmf = ours.find((o) => o.encodingName === 'TELEPHONE-EVENT' && o.clockRate === codec.clockRate);
  const useDtmf = dtmf !== undefined && myDtmf !== undefined;
  const nullAddr = isNullAddress(address);
  const theirDir = mediaDirection(sdp, m);
  // What the remote's attribute allows us to do, mirrored; c=0.0.0.0 means "do not send to me"
  // (RFC 3264 §8.4, legacy RFC 2543 hold).
  const allowed = mirror(theirDir);
  const send = canSend(ourDirection) && canSend(allowed) && !nullAddr;
  const recv = canReceive(ourDirection) && canReceive(allowed);
  const rtcpMux = ourMux && m.rtcpMux === 'rtcp-mux';
  const media: NegotiatedMedia = {
    remoteAddress: address,
    remotePort: port,
    rtcpPort: rtcpPortOf(m, port, rtcpMux),
    rtcpMux,
    codec: codec.name,
    clockRate: codec.clockRate,
    sampleRate: codec.sampleRate,
    payloadType: chosen.pt,
    recvPayloadTypes: [...new Set([mine.pt, chosen.pt])],
    dtmfPayloadType: useDtmf ? dtmf.pt : null,
    dtmfRecvPayloadTypes: useDtmf ? [...new Set([myDtmf.pt, dtmf.pt])] : [],
    direction: makeDirection(send, recv),
    ptime: ptimeOf(m),
    remoteHold: nullAddr || theirDir === 'sendonly' || theirDir === 'inactive',
    // Set by the caller (negotiate/answerOffer), which knows our keys and the trunk's mode.
    srtp: null,
  };
  return { media, chosen, dtmf: useDtmf ? dtmf : undefined };
}

/**
 * Processes the answer to an offer made with `offer` (the same spec given to createOffer).
 * Throws SdpError: PORT_ZERO if the audio stream was rejected, NO_COMMON_CODEC if the answer lists
 * nothing we offered, NO_COMMON_CRYPTO if SRTP is required and the answer accepts none of our keys,
 * MALFORMED/BAD_ADDRESS/UNSUPPORTED_TRANSPORT for broken SDP.
 */
export function negotiate(offer: OfferSpec, answerSdp: string): NegotiatedMedia {
  const sdp = parseSdp(answerSdp);
  const { media: m } = findAudio(sdp);
  const ours = localFormats(offer.codecs);
  const { media } = buildNegotiated(sdp, m, ours, offer.direction ?? 'sendrecv', offer.rtcpMux ?? false);
  media.srtp = settleAnswerCrypto(offer.encryption ?? 'disabled', offerLines(offer.crypto ?? []), m);
  return media;
}
