/**
 * RTP fixed header parse/serialize (RFC 3550 §5.1), hand-written: this runs for every packet of every
 * leg (50 pkt/s each way per call), so it must not allocate beyond the result object and a subarray.
 * Parsing never throws: malformed input yields a typed failure the caller counts and drops.
 */

export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Contributing sources (RFC 3550 §5.1 CC/CSRC list); empty for a plain endpoint. */
  csrc?: readonly number[];
  /** Header extension (RFC 3550 §5.3.1): 16-bit profile + data whose length is a multiple of 4. */
  extension?: { profile: number; data: Uint8Array };
}

export interface RtpPacket extends RtpHeader {
  csrc: readonly number[];
  /** True if the P bit was set (the padding itself is already stripped from `payload`). */
  padding: boolean;
  payload: Uint8Array;
}

export type RtpParseError =
  | 'too-short'
  | 'bad-version'
  | 'bad-csrc-length'
  | 'bad-extension-length'
  | 'bad-padding'
  | 'rtcp-payload-type';

export type RtpParseResult = { ok: true; packet: RtpPacket } | { ok: false; error: RtpParseError };

const EMPTY: readonly number[] = Object.freeze([]);

/** Parses one RTP packet. `buf` is not copied: `payload` is a view into it. */
export function parseRtp(buf: Uint8Array): RtpParseResult {
  const len = buf.length;
  if (len < 12) return { ok: false, error: 'too-short' };
  const b0 = buf[0] as number;
  if (b0 >> 6 !== 2) return { ok: false, error: 'bad-version' }; // RFC 3550 §5.1: V=2
  const b1 = buf[1] as number;
  const pt = b1 & 0x7f;
  // RFC 5761 §4: with rtcp-mux, PT 64-95 (marker bit folded in → 192-223) are RTCP, not RTP.
  if (pt >= 72 && pt <= 76) return { ok: false, error: 'rtcp-payload-type' };
  const cc = b0 & 0x0f;
  let off = 12 + cc * 4;
  if (off > len) return { ok: false, error: 'bad-csrc-length' };
  let csrc: readonly number[] = EMPTY;
  if (cc > 0) {
    const list: number[] = [];
    for (let i = 0; i < cc; i++) list.push(readU32(buf, 12 + i * 4));
    csrc = list;
  }
  let extension: RtpPacket['extension'];
  if (b0 & 0x10) {
    if (off + 4 > len) return { ok: false, error: 'bad-extension-length' };
    const profile = ((buf[off] as number) << 8) | (buf[off + 1] as number);
    const words = ((buf[off + 2] as number) << 8) | (buf[off + 3] as number);
    const end = off + 4 + words * 4;
    if (end > len) return { ok: false, error: 'bad-extension-length' };
    extension = { profile, data: buf.subarray(off + 4, end) };
    off = end;
  }
  let end = len;
  const padding = (b0 & 0x20) !== 0;
  if (padding) {
    // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
    const pad = buf[len - 1] as number;
    if (pad === 0 || off + pad > len) return { ok: false, error: 'bad-padding' };
    end = len - pad;
  }
  const packet: RtpPacket = {
    marker: (b1 & 0x80) !== 0,
    payloadType: pt,
    sequenceNumber: ((buf[2] as number) << 8) | (buf[3] as number),
    timestamp: readU32(buf, 4),
    ssrc: readU32(buf, 8),
    csrc,
    padding,
    payload: buf.subarray(off, end),
  };
  if (extension) packet.extension = extension;
  return { ok: true, packet };
}

function readU32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Size in bytes of the serialized packet. */
export function rtpPacketSize(h: RtpHeader, payloadLength: number, paddingBytes = 0): number {
  const cc = h.csrc?.length ?? 0;
  const ext = h.extension ? 4 + h.extension.data.length : 0;
  return 12 + cc * 4 + ext + payloadLength + paddingBytes;
}

/**
 * Serializes header + payload into `out` (or a new Buffer). Throws RangeError only on caller bugs
 * (out-of-range fields), never on network input. `paddingBytes` (1-255) appends RFC 3550 padding.
 */
export function serializeRtp(h: RtpHeader, payload: Uint8Array, paddingBytes = 0, out?: Uint8Array): Uint8Array {
  const cc = h.csrc?.length ?? 0;
  if (cc > 15) throw new RangeError('at most 15 CSRCs');
  if (h.payloadType < 0 || h.payloadType > 127) throw new RangeError(`bad payload type ${h.payloadType}`);
  if (paddingBytes < 0 || paddingBytes > 255) throw new RangeError('padding must be 0-255');
  if (h.extension && h.extension.data.length % 4 !== 0) throw new RangeError('extension data must be 32-bit aligned');
  const size = rtpPacketSize(h, payload.length, paddingBytes);
  const b = out ?? Buffer.allocUnsafe(size);
  if (b.length < size) throw new RangeError('output buffer too small');
  b[0] = 0x80 | (paddingBytes > 0 ? 0x20 : 0) | (h.extension ? 0x10 : 0) | cc;
  b[1] = (h.marker ? 0x80 : 0) | h.payloadType;
  b[2] = (h.sequenceNumber >> 8) & 0xff;
  b[3] = h.sequenceNumber & 0xff;
  writeU32(b, 4, h.timestamp >>> 0);
  writeU32(b, 8, h.ssrc >>> 0);
  let off = 12;
  for (let i = 0; i < cc; i++, off += 4) writeU32(b, off, (h.csrc as readonly number[])[i] as number);
  if (h.extension) {
    const { profile, data } = h.extension;
    b[off] = (profile >> 8) & 0xff;
    b[off + 1] = profile & 0xff;
    const words = data.length / 4;
    b[off + 2] = (words >> 8) & 0xff;
    b[off + 3] = words & 0xff;
    b.set(data, off + 4);
    off += 4 + data.length;
  }
  b.set(payload, off);
  off += payload.length;
  if (paddingBytes > 0) {
    b.fill(0, off, off + paddingBytes - 1);
    b[off + paddingBytes - 1] = paddingBytes;
  }
  return out ? b.subarray(0, size) : b;
}

/**
 * Fast path for a leg's outgoing media: 12-byte header (no CSRC/extension) + payload in one
 * allocation. Buffer.allocUnsafe draws from Node's pool, so this is one memcpy and 12 byte writes.
 */
export function buildRtp(pt: number, marker: boolean, seq: number, ts: number, ssrc: number, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(12 + payload.length);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | pt;
  b[2] = (seq >> 8) & 0xff;
  b[3] = seq & 0xff;
  writeU32(b, 4, ts >>> 0);
  writeU32(b, 8, ssrc >>> 0);
  b.set(payload, 12);
  return b;
}

/**
 * Allocates a packet with the 12-byte header written and `payloadLength` uninitialised bytes after
 * it, so a codec can encode straight into the packet (one allocation, no payload copy).
 */
export function allocRtp(pt: number, marker: boolean, seq: number, ts: number, ssrc: number, payloadLength: number): Buffer {
  const b = Buffer.allocUnsafe(12 + payloadLength);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | pt;
  b[2] = (seq >> 8) & 0xff;
  b[3] = seq & 0xff;
  writeU32(b, 4, ts >>> 0);
  writeU32(b, 8, ssrc >>> 0);
  return b;
}

/** True if the first bytes look like RTCP (RFC 5761 §4: second byte 192-223), for rtcp-mux demux. */
export function looksLikeRtcp(buf: Uint8Array): boolean {
  if (buf.length < 2) return false;
  const pt = buf[1] as number;
  return pt >= 192 && pt <= 223;
}
