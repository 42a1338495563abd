/** Builds our SDP offer (RFC 3264 §5, RFC 4566) for the single audio stream of an outbound call. */
import { isIP } from 'node:net';
import * as sdpTransform from 'sdp-transform';
import { localFormats, newSessionId, type LocalFormat } from './common.js';
import { offerLines, offerProfile, type CryptoLine } from './crypto.js';
import { SdpError, type Direction, type OfferSpec } from './types.js';

export function validateLocal(address: string, port: number): void {
  if (isIP(address) === 0) throw new SdpError('BAD_ADDRESS', `local address is not an IP: ${address}`);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new SdpError('MALFORMED', `bad local port ${port}`);
}

/** Writes one audio SDP body (shared by createOffer and answerOffer). */
export function writeAudioSdp(opts: {
  address: string;
  port: number;
  formats: LocalFormat[];
  sessionId: string;
  sessionVersion: number;
  direction: Direction;
  rtcpMux: boolean;
  username: string;
  /** The m= line's profile (RTP/AVP unless SRTP is required or answered in RTP/SAVP). */
  protocol?: string;
  /** a=crypto lines (RFC 4568 §9.1). */
  crypto?: readonly CryptoLine[];
  /** Extra rejected m= lines to mirror the offer's m= count (RFC 3264 §6). */
  rejected?: Array<{ type: string; protocol: string; payloads: string; index: number }>;
  audioIndex?: number;
}): string {
  const ipVer = isIP(opts.address) === 6 ? 6 : 4;
  const audio: sdpTransform.MediaDescription = {
    type: 'audio',
    port: opts.port,
    protocol: opts.protocol ?? 'RTP/AVP',
    payloads: opts.formats.map((f) => f.pt).join(' '),
    rtp: opts.formats.map((f) => ({ payload: f.pt, codec: f.encodingName === 'TELEPHONE-EVENT' ? 'telephone-event' : f.encodingName, rate: f.clockRate })),
    fmtp: opts.formats.filter((f) => f.fmtp !== undefined).map((f) => ({ payload: f.pt, config: f.fmtp as string })),
    ptime: 20, // RFC 3551 §4.5: 20 ms default packetisation; our pacing clock is built on it
    direction: opts.direction,
  };
  if (opts.rtcpMux) audio.rtcpMux = 'rtcp-mux';
  if (opts.crypto && opts.crypto.length > 0) audio.crypto = opts.crypto.map((c) => ({ id: c.tag, suite: c.suite, config: `inline:${c.inline}` }));
  const media: sdpTransform.MediaDescription[] = [];
  const rejected = opts.rejected ?? [];
  const total = rejected.length + 1;
  const audioIndex = opts.audioIndex ?? 0;
  for (let i = 0, r = 0; i < total; i++) {
    if (i === audioIndex) media.push(audio);
    else {
      const rej = rejected[r++];
      if (rej) media.push({ type: rej.type, port: 0, protocol: rej.protocol, payloads: rej.payloads, rtp: [], fmtp: [] });
    }
  }
  const desc: sdpTransform.SessionDescription = {
    version: 0,
    origin: { username: opts.username, sessionId: opts.sessionId, sessionVersion: opts.sessionVersion, netType: 'IN', ipVer, address: opts.address },
    name: '-',
    connection: { version: ipVer, ip: opts.address },
    timing: { start: 0, stop: 0 },
    media,
  };
  return sdpTransform.write(desc);
}

/**
 * Our offer: one m=audio with payload types in preference order, a=rtpmap for each (even static
 * ones, for peers that ignore RFC 3551's table), telephone-event 0-16 per clock rate, a=ptime:20;
 * with SRTP, one a=crypto line per suite (sdp/crypto.ts).
 */
export function createOffer(spec: OfferSpec): string {
  validateLocal(spec.address, spec.port);
  const formats = localFormats(spec.codecs);
  const encryption = spec.encryption ?? 'disabled';
  if (encryption !== 'disabled' && !spec.crypto?.length) throw new RangeError(`media encryption ${encryption} without keys`);
  return writeAudioSdp({
    protocol: offerProfile(encryption),
    ...(encryption !== 'disabled' && spec.crypto ? { crypto: offerLines(spec.crypto) } : {}),
    address: spec.address,
    port: spec.port,
    formats,
    sessionId: spec.sessionId ?? newSessionId(),
    sessionVersion: spec.sessionVersion ?? 1,
    direction: spec.direction ?? 'sendrecv',
    rtcpMux: spec.rtcpMux ?? false,
    username: spec.username ?? 'outcall',
  });
}
