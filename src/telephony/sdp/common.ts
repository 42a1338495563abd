/** Parsing helpers shared by negotiate() and answerOffer(): robust extraction from sdp-transform output. */
import { isIP } from 'node:net';
import * as sdpTransform from 'sdp-transform';
import { findCodecByRtpmap, getCodec, staticCodecForPayloadType, DYNAMIC_PT, type Codec } from '../../media/codecs.js';
import { SdpError, type Direction, type OfferCodecToken } from './types.js';

export type ParsedSdp = sdpTransform.SessionDescription;
export type ParsedMedia = sdpTransform.MediaDescription;

/** One payload format listed on an m= line, resolved through a=rtpmap or the static table. */
export interface Format {
  pt: number;
  encodingName: string; // upper-case
  clockRate: number;
  fmtp?: string;
}

export function parseSdp(text: string): ParsedSdp {
  if (typeof text !== 'string' || text.length === 0) throw new SdpError('MALFORMED', 'empty SDP');
  if (text.length > 65536) throw new SdpError('MALFORMED', 'SDP larger than 64 KiB');
  let parsed: ParsedSdp;
  try {
    parsed = sdpTransform.parse(text);
  } catch (err) {
    throw new SdpError('MALFORMED', `unparseable SDP: ${String(err)}`);
  }
  // RFC 4566 §5: v=0 and o= are mandatory and come first.
  if (parsed.version !== 0 || !parsed.origin) throw new SdpError('MALFORMED', 'missing v=0 or o= line');
  if (!Array.isArray(parsed.media)) throw new SdpError('MALFORMED', 'no m= lines');
  return parsed;
}

export function isAudioRtp(m: ParsedMedia): boolean {
  return m.type === 'audio';
}

/** First audio m= line (we only ever negotiate one audio stream). */
export function findAudio(sdp: ParsedSdp): { media: ParsedMedia; index: number } {
  const index = sdp.media.findIndex(isAudioRtp);
  const media = sdp.media[index];
  if (index < 0 || !media) throw new SdpError('NO_AUDIO', 'no m=audio line');
  return { media, index };
}

export function checkTransport(m: ParsedMedia): void {
  // RFC 3551 RTP/AVP (or AVPF, which is compatible for our purposes), and their SRTP twins RTP/SAVP
  // and RTP/SAVPF, whose keys sdp/crypto.ts settles. DTLS-SRTP (UDP/TLS/RTP/SAVP) is not supported.
  const proto = String(m.protocol ?? '').toUpperCase();
  if (proto !== 'RTP/AVP' && proto !== 'RTP/AVPF' && proto !== 'RTP/SAVP' && proto !== 'RTP/SAVPF') {
    throw new SdpError('UNSUPPORTED_TRANSPORT', `unsupported media transport ${m.protocol}`);
  }
}

export function checkPort(m: ParsedMedia): number {
  const port = Number(m.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SdpError('MALFORMED', `bad media port ${m.port}`);
  if (port === 0) throw new SdpError('PORT_ZERO', 'audio stream rejected (port 0, RFC 3264 §6)');
  return port;
}

/** The media's connection address (media-level c= overrides session-level, RFC 4566 §5.7). */
export function connectionAddress(sdp: ParsedSdp, m: ParsedMedia): string {
  const ip = m.connection?.ip ?? sdp.connection?.ip;
  if (typeof ip !== 'string' || ip.length === 0) throw new SdpError('MALFORMED', 'no c= line for audio');
  // c= may carry a multicast TTL suffix ("224.2.1.1/127"); we do not do multicast.
  const addr = ip.split('/')[0] ?? '';
  if (isIP(addr) === 0) throw new SdpError('BAD_ADDRESS', `connection address is not an IP: ${ip}`);
  return addr;
}

export function isNullAddress(addr: string): boolean {
  return addr === '0.0.0.0' || addr === '::';
}

export function mediaDirection(sdp: ParsedSdp, m: ParsedMedia): Direction {
  // media-level attribute wins over session-level; default sendrecv (RFC 3264 §5.1)
  return m.direction ?? sdp.direction ?? 'sendrecv';
}

/** Payload formats on the m= line in listed order, skipping ones we cannot identify. */
export function listFormats(m: ParsedMedia): Format[] {
  const pts = String(m.payloads ?? '')
    .trim()
    .split(/\s+/)
    .filter((s) => /^\d{1,3}$/.test(s))
    .map(Number)
    .filter((n) => n <= 127);
  const out: Format[] = [];
  for (const pt of pts) {
    const map = (m.rtp ?? []).find((r) => Number(r.payload) === pt);
    const fmtp = (m.fmtp ?? []).find((f) => Number(f.payload) === pt)?.config;
    const rate = Number(map?.rate ?? 0);
    if (map && typeof map.codec === 'string' && Number.isInteger(rate) && rate > 0) {
      out.push({ pt, encodingName: map.codec.toUpperCase(), clockRate: rate, ...(fmtp !== undefined ? { fmtp } : {}) });
      continue;
    }
    // RFC 3551 Table 4: static payload types may appear without (or with a broken) a=rtpmap.
    const c = staticCodecForPayloadType(pt);
    if (c) out.push({ pt, encodingName: c.encodingName, clockRate: c.clockRate });
    else if (pt === 9) out.push({ pt, encodingName: 'G722', clockRate: 8000 });
  }
  return out;
}

export function codecForFormat(f: Format): Codec | undefined {
  return findCodecByRtpmap(f.encodingName, f.clockRate);
}

export function rtcpPortOf(m: ParsedMedia, rtpPort: number, mux: boolean): number {
  if (mux) return rtpPort;
  const p = Number(m.rtcp?.port);
  return Number.isInteger(p) && p > 0 && p <= 65535 ? p : rtpPort + 1;
}

export function ptimeOf(m: ParsedMedia): number {
  const p = Number(m.ptime);
  return Number.isFinite(p) && p >= 10 && p <= 200 ? p : 20;
}

/** Our codec tokens resolved to formats with the payload types we use in offers. */
export interface LocalFormat {
  pt: number;
  encodingName: string;
  clockRate: number;
  codec?: Codec;
  fmtp?: string;
}

export function localFormats(tokens: readonly OfferCodecToken[]): LocalFormat[] {
  const audio: LocalFormat[] = [];
  let wantDtmf = false;
  for (const t of tokens) {
    if (t === 'telephone-event') {
      wantDtmf = true;
      continue;
    }
    const name = t === 'L16/16000' ? 'L16' : t;
    const codec = getCodec(name);
    if (!codec) throw new SdpError('UNSUPPORTED_CODEC', `codec ${t} is not implemented`);
    if (!audio.some((f) => f.codec === codec)) {
      audio.push({ pt: codec.payloadType, encodingName: codec.encodingName, clockRate: codec.clockRate, codec });
    }
  }
  if (audio.length === 0) throw new SdpError('NO_COMMON_CODEC', 'no audio codec to offer');
  const out = [...audio];
  if (wantDtmf) {
    // RFC 4733 §7.1.1: telephone-event's clock rate must match the audio codec it accompanies, so
    // offer one per distinct audio clock rate.
    const rates = [...new Set(audio.map((f) => f.clockRate))];
    for (const rate of rates) {
      const pt = rate === 16000 ? DYNAMIC_PT.TELEPHONE_EVENT_16000 : DYNAMIC_PT.TELEPHONE_EVENT_8000;
      if (rate !== 8000 && rate !== 16000) continue;
      out.push({ pt, encodingName: 'TELEPHONE-EVENT', clockRate: rate, fmtp: '0-16' });
    }
  }
  return out;
}

export function newSessionId(): string {
  // RFC 4566 §5.2 suggests an NTP timestamp; any numeric string unique per host works.
  return String(Math.floor(Date.now() / 1000) * 1000 + Math.floor(Math.random() * 1000));
}
