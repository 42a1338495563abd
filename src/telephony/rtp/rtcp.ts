/**
 * RTCP build/parse (RFC 3550 §6): SR (§6.4.1), RR (§6.4.2), SDES (§6.5, CNAME only on send), BYE (§6.6).
 * Compound packets: every RTCP datagram we send starts with SR or RR and carries an SDES CNAME
 * (§6.1). Parsing returns a typed failure for malformed input and skips unknown packet types.
 */

export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since the last report, 0-255 (8-bit fixed point, §6.4.1). */
  fractionLost: number;
  /** Cumulative packets lost, signed 24-bit. */
  cumulativeLost: number;
  extendedHighestSeq: number;
  /** Interarrival jitter in timestamp units (§6.4.1, A.8). */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from this source, 0 if none. */
  lastSr: number;
  /** Delay since that SR, in 1/65536 s. */
  delaySinceLastSr: number;
}

export type RtcpPacket =
  | { type: 'sr'; ssrc: number; ntpSec: number; ntpFrac: number; rtpTimestamp: number; packetCount: number; octetCount: number; reports: ReportBlock[] }
  | { type: 'rr'; ssrc: number; reports: ReportBlock[] }
  | { type: 'sdes'; chunks: Array<{ ssrc: number; items: Array<{ type: number; text: string }> }> }
  | { type: 'bye'; ssrcs: number[]; reason?: string }
  | { type: 'other'; packetType: number };

export type RtcpParseResult = { ok: true; packets: RtcpPacket[] } | { ok: false; error: string };

const PT_SR = 200;
const PT_RR = 201;
const PT_SDES = 202;
const PT_BYE = 203;
const SDES_CNAME = 1;

function u32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

class Writer {
  private readonly parts: number[] = [];
  u8(v: number): void {
    this.parts.push(v & 0xff);
  }
  u16(v: number): void {
    this.parts.push((v >>> 8) & 0xff, v & 0xff);
  }
  u24(v: number): void {
    this.parts.push((v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  u32(v: number): void {
    this.parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  bytes(b: Uint8Array): void {
    for (const x of b) this.parts.push(x);
  }
  get length(): number {
    return this.parts.length;
  }
  setU16(at: number, v: number): void {
    this.parts[at] = (v >>> 8) & 0xff;
    this.parts[at + 1] = v & 0xff;
  }
  toBuffer(): Buffer {
    return Buffer.from(this.parts);
  }
}

function header(w: Writer, count: number, pt: number): number {
  const start = w.length;
  w.u8(0x80 | (count & 0x1f));
  w.u8(pt);
  w.u16(0); // length in 32-bit words minus one, patched by finish()
  return start;
}

function finish(w: Writer, start: number): void {
  while ((w.length - start) % 4 !== 0) w.u8(0);
  w.setU16(start + 2, (w.length - start) / 4 - 1);
}

function reportBlock(w: Writer, r: ReportBlock): void {
  w.u32(r.ssrc);
  w.u8(r.fractionLost);
  // cumulative lost is a signed 24-bit value (§6.4.1); clamp to its range
  const lost = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost));
  w.u24(lost & 0xffffff);
  w.u32(r.extendedHighestSeq);
  w.u32(r.jitter);
  w.u32(r.lastSr);
  w.u32(r.delaySinceLastSr);
}

export interface SenderInfo {
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

/** Builds a compound RTCP packet: SR (if `sender`) or RR, then SDES CNAME, then optional BYE. */
export function buildRtcpCompound(opts: {
  ssrc: number;
  cname: string;
  sender?: SenderInfo;
  reports?: ReportBlock[];
  bye?: { reason?: string };
}): Buffer {
  const w = new Writer();
  const reports = (opts.reports ?? []).slice(0, 31);
  if (opts.sender) {
    const s = header(w, reports.length, PT_SR);
    w.u32(opts.ssrc);
    w.u32(opts.sender.ntpSec);
    w.u32(opts.sender.ntpFrac);
    w.u32(opts.sender.rtpTimestamp);
    w.u32(opts.sender.packetCount);
    w.u32(opts.sender.octetCount);
    for (const r of reports) reportBlock(w, r);
    finish(w, s);
  } else {
    const s = header(w, reports.length, PT_RR);
    w.u32(opts.ssrc);
    for (const r of reports) reportBlock(w, r);
    finish(w, s);
  }
  const sd = header(w, 1, PT_SDES);
  w.u32(opts.ssrc);
  const cname = new TextEncoder().encode(opts.cname).subarray(0, 255);
  w.u8(SDES_CNAME);
  w.u8(cname.length);
  w.bytes(cname);
  w.u8(0); // end of item list; finish() pads the chunk to a 32-bit boundary with more zeros (§6.5)
  finish(w, sd);
  if (opts.bye) {
    const b = header(w, 1, PT_BYE);
    w.u32(opts.ssrc);
    if (opts.bye.reason) {
      const reason = new TextEncoder().encode(opts.bye.reason).subarray(0, 255);
      w.u8(reason.length);
      w.bytes(reason);
    }
    finish(w, b);
  }
  return w.toBuffer();
}

function parseReports(b: Uint8Array, off: number, count: number, end: number): ReportBlock[] | undefined {
  const out: ReportBlock[] = [];
  for (let i = 0; i < count; i++, off += 24) {
    if (off + 24 > end) return undefined;
    let lost = ((b[off + 5] as number) << 16) | ((b[off + 6] as number) << 8) | (b[off + 7] as number);
    if (lost & 0x800000) lost -= 0x1000000;
    out.push({
      ssrc: u32(b, off),
      fractionLost: b[off + 4] as number,
      cumulativeLost: lost,
      extendedHighestSeq: u32(b, off + 8),
      jitter: u32(b, off + 12),
      lastSr: u32(b, off + 16),
      delaySinceLastSr: u32(b, off + 20),
    });
  }
  return out;
}

/** Parses a compound RTCP datagram (RFC 3550 §6.1). Never throws. */
export function parseRtcp(buf: Uint8Array): RtcpParseResult {
  const packets: RtcpPacket[] = [];
  let off = 0;
  if (buf.length < 4) return { ok: false, error: 'too-short' };
  const decoder = new TextDecoder('utf-8', { fatal: false });
  while (off < buf.length) {
    if (off + 4 > buf.length) return { ok: false, error: 'truncated-header' };
    const b0 = buf[off] as number;
    if (b0 >> 6 !== 2) return { ok: false, error: 'bad-version' };
    const count = b0 & 0x1f;
    const pt = buf[off + 1] as number;
    const words = ((buf[off + 2] as number) << 8) | (buf[off + 3] as number);
    let end = off + (words + 1) * 4;
    if (end > buf.length) return { ok: false, error: 'bad-length' };
    if (b0 & 0x20) {
      // padding is only valid on the last packet of a compound (§6.4.1)
      const pad = buf[end - 1] as number;
      if (end !== buf.length || pad === 0 || pad > end - off - 4) return { ok: false, error: 'bad-padding' };
      end -= pad;
    }
    const body = off + 4;
    if (pt === PT_SR) {
      if (body + 24 > end) return { ok: false, error: 'short-sr' };
      const reports = parseReports(buf, body + 24, count, end);
      if (!reports) return { ok: false, error: 'short-report' };
      packets.push({
        type: 'sr',
        ssrc: u32(buf, body),
        ntpSec: u32(buf, body + 4),
        ntpFrac: u32(buf, body + 8),
        rtpTimestamp: u32(buf, body + 12),
        packetCount: u32(buf, body + 16),
        octetCount: u32(buf, body + 20),
        reports,
      });
    } else if (pt === PT_RR) {
      if (body + 4 > end) return { ok: false, error: 'short-rr' };
      const reports = parseReports(buf, body + 4, count, end);
      if (!reports) return { ok: false, error: 'short-report' };
      packets.push({ type: 'rr', ssrc: u32(buf, body), reports });
    } else if (pt === PT_SDES) {
      const chunks: Array<{ ssrc: number; items: Array<{ type: number; text: string }> }> = [];
      let p = body;
      for (let c = 0; c < count; c++) {
        if (p + 4 > end) return { ok: false, error: 'short-sdes' };
        const chunk = { ssrc: u32(buf, p), items: [] as Array<{ type: number; text: string }> };
        p += 4;
        for (;;) {
          if (p >= end) return { ok: false, error: 'short-sdes-item' };
          const itemType = buf[p] as number;
          if (itemType === 0) {
            p = (p + 4) & ~3; // skip the terminating null and pad to the next 32-bit boundary
            break;
          }
          if (p + 2 > end) return { ok: false, error: 'short-sdes-item' };
          const len = buf[p + 1] as number;
          if (p + 2 + len > end) return { ok: false, error: 'short-sdes-item' };
          chunk.items.push({ type: itemType, text: decoder.decode(buf.subarray(p + 2, p + 2 + len)) });
          p += 2 + len;
        }
        chunks.push(chunk);
      }
      packets.push({ type: 'sdes', chunks });
    } else if (pt === PT_BYE) {
      if (body + count * 4 > end) return { ok: false, error: 'short-bye' };
      const ssrcs: number[] = [];
      for (let i = 0; i < count; i++) ssrcs.push(u32(buf, body + i * 4));
      const rp = body + count * 4;
      const pkt: RtcpPacket = { type: 'bye', ssrcs };
      if (rp < end) {
        const len = buf[rp] as number;
        if (rp + 1 + len > end) return { ok: false, error: 'short-bye-reason' };
        pkt.reason = decoder.decode(buf.subarray(rp + 1, rp + 1 + len));
      }
      packets.push(pkt);
    } else {
      packets.push({ type: 'other', packetType: pt });
    }
    off += (words + 1) * 4;
  }
  // §6.1 / A.2 validity: the first packet of a compound must be SR or RR.
  const first = packets[0];
  if (!first || (first.type !== 'sr' && first.type !== 'rr')) return { ok: false, error: 'first-not-sr-rr' };
  return { ok: true, packets };
}

const NTP_EPOCH_OFFSET = 2208988800; // seconds from 1900-01-01 to 1970-01-01

/** Wall-clock ms since 1970 → NTP 64-bit timestamp (RFC 3550 §4). */
export function toNtp(unixMs: number): { ntpSec: number; ntpFrac: number } {
  const sec = Math.floor(unixMs / 1000);
  const frac = ((unixMs - sec * 1000) / 1000) * 0x100000000;
  return { ntpSec: (sec + NTP_EPOCH_OFFSET) >>> 0, ntpFrac: Math.floor(frac) >>> 0 };
}

/** Middle 32 bits of an NTP timestamp, the LSR field of a report block (§6.4.1). */
export function ntpMiddle(ntpSec: number, ntpFrac: number): number {
  return (((ntpSec & 0xffff) << 16) | (ntpFrac >>> 16)) >>> 0;
}
