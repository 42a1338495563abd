/**
 * SRTP and SRTCP packet protection (RFC 3711) for the SDES suites of ./suites.ts: AES-128 counter mode
 * (§4.1.1) and HMAC-SHA1 (§4.2), key derivation rate 0, no MKI.
 *
 * SrtpProtector is our sending side (one crypto context per direction, §3.2), SrtpUnprotector the
 * receiving side keyed with what the peer signalled. Both run for every 20 ms packet of every leg, so:
 * - session keys are derived once, in the constructor (kdr 0: §4.3.1 never re-derives);
 * - one AES-128-ECB cipher per session turns counter blocks into the AES-CM keystream (§4.1.1 is AES
 *   in counter mode): no cipher is created per packet, which node:crypto's
 *   createCipheriv('aes-128-ctr') would need (about 3.4 µs of a ~7.5 µs packet, bench/srtp.ts);
 * - an SRTP keystream depends only on the SSRC and the packet index (§4.1.1), not on the packet, so
 *   it is made for KEYSTREAM_PACKETS indices at once, from the packet's on: node:crypto's cost is
 *   mostly per call (1.6 µs for one packet's 10 blocks, 3.8 µs for 32 packets' 320), and the next
 *   packets of a stream, sent or received, take the indices that follow;
 * - HMAC-SHA1 from precomputed pad midstates (hmac-sha1.ts), not createHmac per packet (1.6 against
 *   3.5 µs for a 172-byte packet);
 * - the counter and ROC scratch buffers are preallocated and reused.
 *
 * Receiving never throws on what arrives from the network: every failure is an { ok: false, reason }.
 * Sending throws RangeError only on packets our own code built wrong.
 */
import { createCipheriv, type Cipher } from 'node:crypto';
import { HmacSha1 } from './hmac-sha1.js';
import { deriveSessionKeys, type SrtpSessionKeys } from './key-derivation.js';
import { SRTP_SUITES, type SrtpKeys } from './suites.js';

export type UnprotectResult = { ok: true; packet: Buffer } | { ok: false; reason: 'short' | 'auth' | 'replay' | 'malformed' };

export interface SrtpUnprotectorOptions {
  /**
   * SRTP-WINDOW-SIZE of RFC 3711 §3.3.2, in packets: an index this far or farther behind the highest
   * authenticated one is refused as a replay. The RFC makes 64 the minimum; 64-1024 accepted.
   */
  replayWindow?: number;
}

const SHORT: UnprotectResult = Object.freeze({ ok: false, reason: 'short' });
const AUTH: UnprotectResult = Object.freeze({ ok: false, reason: 'auth' });
const REPLAY: UnprotectResult = Object.freeze({ ok: false, reason: 'replay' });
const MALFORMED: UnprotectResult = Object.freeze({ ok: false, reason: 'malformed' });

/**
 * Streams (SSRCs) whose state one context remembers. A peer that restarts its stream (a re-INVITE)
 * gets fresh state under the new SSRC; the old state is kept a while so that late or replayed packets
 * of the old SSRC still meet its replay window instead of a fresh one. Only authenticated packets
 * create state, so nobody without the key can fill this.
 */
const MAX_STREAMS = 4;

/**
 * SRTP packets whose keystream one AES call makes (see the header): 32 packets of 20 ms are 640 ms,
 * 5 KB of keystream per direction for a PCMU leg. Packets behind the batch (late, reordered) get their
 * own; a packet beyond it, or a new SSRC, starts the next batch at its index.
 */
const KEYSTREAM_PACKETS = 32;
/** The counter blocks of a batch, input to one AES call: one buffer for every context of this thread. */
let batchCounters = Buffer.alloc(0);

/**
 * Session keys of one kind (SRTP or SRTCP) of one direction, and the per-packet transforms. Exported
 * only so that the tests can drive the very code the contexts use with the raw session keys of RFC
 * 3711 Appendix B.2; the contexts below are the API.
 */
export class SessionTransform {
  /** AES-128 in ECB mode, no padding: one cipher for the session, turning counter blocks into keystream. */
  private readonly ecb: Cipher;
  private readonly hmac: HmacSha1;
  /** The counter blocks of one packet (grown when a packet needs more). */
  private counters = Buffer.alloc(16 * 16);
  /** k_s * 2^16 (§4.1.1) as four big-endian words: the salt followed by two zero bytes. */
  private readonly s0: number;
  private readonly s1: number;
  private readonly s2: number;
  private readonly s3: number;
  private readonly rocWord = Buffer.alloc(4);
  /** The keystream batch: `ksBlocks` blocks for each index from `ksFirst`, under `ksSsrc`. */
  private ks: Buffer = Buffer.alloc(0);
  private ksSsrc = -1;
  private ksFirst = -1;
  private ksBlocks = 0;

  constructor(k: SrtpSessionKeys) {
    this.ecb = createCipheriv('aes-128-ecb', k.encKey, null);
    this.ecb.setAutoPadding(false);
    this.hmac = new HmacSha1(k.authKey);
    const shifted = Buffer.alloc(16);
    k.salt.copy(shifted, 0);
    this.s0 = shifted.readUInt32BE(0);
    this.s1 = shifted.readUInt32BE(4);
    this.s2 = shifted.readUInt32BE(8);
    this.s3 = shifted.readUInt32BE(12);
  }

  /**
   * AES-CM (§4.1.1) of src[start, end) written to dst at dstOffset. The IV is
   * (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), with the 48-bit index i = hi * 2^16 + lo: for SRTP
   * hi is the ROC and lo the sequence number, for SRTCP (§3.4) i is the 31-bit SRTCP index. In bytes:
   * SSRC lands on IV bytes 4-7, i on bytes 8-13, and bytes 14-15 are the block counter. AES-CM is then
   * exactly AES-128-CTR from that IV (the counter is the whole 128-bit block, incremented mod 2^128;
   * a packet never needs 2^16 blocks, so only the last two bytes ever move).
   */
  crypt(src: Buffer, start: number, end: number, dst: Buffer, dstOffset: number, ssrc: number, hi: number, lo: number): void {
    const n = end - start;
    if (n <= 0) return;
    const blocks = Math.ceil(n / 16);
    if (this.counters.length < blocks * 16) this.counters = Buffer.alloc(blocks * 16);
    const c = this.counters;
    const w1 = (this.s1 ^ ssrc) >>> 0;
    const w2 = (this.s2 ^ hi) >>> 0;
    // Bytes 14-15 of k_s * 2^16 are zero, so the block counter is the low 16 bits as they are.
    const w3 = (this.s3 ^ (lo << 16)) >>> 0;
    for (let b = 0, off = 0; b < blocks; b++, off += 16) {
      c.writeUInt32BE(this.s0, off);
      c.writeUInt32BE(w1, off + 4);
      c.writeUInt32BE(w2, off + 8);
      c.writeUInt32BE((w3 | b) >>> 0, off + 12);
    }
    // One long-lived ECB cipher over the counter blocks is AES-CTR's keystream without creating a
    // cipher per packet (bench/srtp.ts: about 2 µs against 3.4 µs for createCipheriv per packet).
    const ks = this.ecb.update(c.subarray(0, blocks * 16));
    for (let i = 0; i < n; i++) dst[dstOffset + i] = (src[start + i] as number) ^ (ks[i] as number);
  }

  /**
   * AES-CM of an SRTP payload at packet index `index` (ROC * 2^16 + SEQ), from the keystream batch:
   * the same bytes crypt() makes, one AES call per KEYSTREAM_PACKETS packets instead of one per packet.
   */
  cryptRtp(src: Buffer, start: number, end: number, dst: Buffer, dstOffset: number, ssrc: number, index: number): void {
    const n = end - start;
    if (n <= 0) return;
    const blocks = Math.ceil(n / 16);
    let at = index - this.ksFirst;
    if (ssrc !== this.ksSsrc || blocks > this.ksBlocks || at < 0 || at >= KEYSTREAM_PACKETS) {
      if (ssrc === this.ksSsrc && blocks <= this.ksBlocks && at < 0) {
        // Late or reordered behind the batch: its own keystream, and the batch stays for the packets ahead.
        const roc = Math.floor(index / 65536);
        this.crypt(src, start, end, dst, dstOffset, ssrc, roc, index - roc * 65536);
        return;
      }
      this.fillKeystream(ssrc, index, blocks);
      at = 0;
    }
    const ks = this.ks;
    const base = at * this.ksBlocks * 16;
    for (let i = 0; i < n; i++) dst[dstOffset + i] = (src[start + i] as number) ^ (ks[base + i] as number);
  }

  /** The keystream of KEYSTREAM_PACKETS indices from `first`, `blocks` blocks each (IV layout: crypt()). */
  private fillKeystream(ssrc: number, first: number, blocks: number): void {
    const bytes = KEYSTREAM_PACKETS * blocks * 16;
    if (batchCounters.length < bytes) batchCounters = Buffer.alloc(bytes);
    const c = batchCounters;
    const v = new DataView(c.buffer, c.byteOffset, bytes);
    const s0 = this.s0;
    const w1 = this.s1 ^ ssrc;
    let off = 0;
    for (let p = 0; p < KEYSTREAM_PACKETS; p++) {
      const index = first + p;
      const hi = Math.floor(index / 65536);
      const w2 = this.s2 ^ hi;
      const w3 = this.s3 ^ ((index - hi * 65536) << 16);
      for (let b = 0; b < blocks; b++, off += 16) {
        v.setInt32(off, s0);
        v.setInt32(off + 4, w1);
        v.setInt32(off + 8, w2);
        v.setInt32(off + 12, w3 | b);
      }
    }
    this.ks = this.ecb.update(c.subarray(0, bytes));
    this.ksSsrc = ssrc;
    this.ksFirst = first;
    this.ksBlocks = blocks;
  }

  /**
   * The full HMAC-SHA1 (§4.2) of data[0, end), followed for SRTP by the ROC as a 32-bit big-endian word
   * (§4.2: the authenticated portion || ROC); SRTCP passes no ROC (its E || index word is already
   * inside the authenticated portion, §3.4). The caller keeps the leftmost tag-length bytes.
   */
  mac(data: Buffer, end: number, roc: number | undefined): Buffer {
    if (roc === undefined) return this.hmac.mac(data, end);
    this.rocWord.writeUInt32BE(roc >>> 0, 0);
    return this.hmac.mac(data, end, this.rocWord);
  }
}

/**
 * The packet index estimate of RFC 3711 §3.3.1 / Appendix A: given the highest index so far
 * (ROC * 2^16 + s_l), the index of sequence number `seq` is the one closest to it among ROC-1, ROC and
 * ROC+1. ROC-1 below zero (a sequence number just "behind" the very first ones of the stream, which can
 * only happen around the first packet) is taken as ROC 0, on both sides alike, so sender and receiver
 * still agree on the index.
 */
function estimateIndex(highest: number, seq: number): number {
  const roc = Math.floor(highest / 65536);
  const sl = highest - roc * 65536;
  let v = roc;
  if (sl < 32768) {
    if (seq - sl > 32768 && roc > 0) v = roc - 1;
  } else if (sl - 32768 > seq) {
    v = roc + 1;
  }
  return v * 65536 + seq;
}

/**
 * Whether the first tagLen bytes of `mac` equal packet[end, end + tagLen), in time independent of
 * where they differ (RFC 3711 §3.3 step 5 compares tags; an early exit would tell a forger how many
 * leading bytes were right). A loop over 4 or 10 bytes instead of crypto.timingSafeEqual, which needs
 * two views and a native call per packet.
 */
function tagMatches(mac: Buffer, packet: Buffer, end: number, tagLen: number): boolean {
  let diff = 0;
  for (let i = 0; i < tagLen; i++) diff |= (mac[i] as number) ^ (packet[end + i] as number);
  return diff === 0;
}

/** RTP header length (RFC 3550 §5.1, §5.3.1): 12 + 4*CC, plus the extension when X is set; -1 if it overruns `end`. */
function rtpHeaderLength(p: Buffer, end: number): number {
  const b0 = p[0] as number;
  let n = 12 + (b0 & 0x0f) * 4;
  if (b0 & 0x10) {
    if (n + 4 > end) return -1;
    n += 4 + p.readUInt16BE(n + 2) * 4;
  }
  return n > end ? -1 : n;
}

/** The sender's view of one of its SSRCs: the highest index sent (RFC 3711 §3.3.1 ROC and s_l). */
interface SendStream {
  ssrc: number;
  highest: number;
}

/**
 * Our sending side. protectRtp keeps the rollover counter itself from the sequence numbers it sees
 * (§3.3.1), so the RTP sender only has to number its packets; protectRtcp keeps the SRTCP index (§3.4).
 */
export class SrtpProtector {
  private readonly rtp: SessionTransform;
  private readonly rtcp: SessionTransform;
  private readonly rtpTagLength: number;
  private readonly rtcpTagLength: number;
  private current: SendStream | undefined;
  private readonly streams = new Map<number, SendStream>();
  /** Next SRTCP index: 0 for the first packet, +1 per packet, mod 2^31 (§3.4). */
  private srtcpIndex = 0;

  constructor(keys: SrtpKeys) {
    this.rtp = new SessionTransform(deriveSessionKeys(keys, 'rtp'));
    this.rtcp = new SessionTransform(deriveSessionKeys(keys, 'rtcp'));
    this.rtpTagLength = SRTP_SUITES[keys.suite].rtpTagLength;
    this.rtcpTagLength = SRTP_SUITES[keys.suite].rtcpTagLength;
  }

  /** Bytes protectRtp appends to an RTP packet: the authentication tag (RFC 3711 §4.2; 10 or 4). */
  get rtpOverhead(): number {
    return this.rtpTagLength;
  }

  /**
   * Returns a new Buffer: the header as it is, the payload (everything after the header, CSRCs and
   * header extension, RFC 3711 §3.1) encrypted, then the tag. A sequence number at or behind the
   * highest sent (a retransmission) keeps the index it had, so the ROC only moves on a real wrap.
   */
  protectRtp(packet: Buffer): Buffer {
    const out = Buffer.allocUnsafe(packet.length + this.rtpTagLength);
    packet.copy(out, 0);
    return this.protectRtpInPlace(out, packet.length);
  }

  /**
   * protectRtp without a copy, for a sender that builds its packets with rtpOverhead bytes of room:
   * buf[0, len) is the RTP packet, encrypted where it is, and the tag is written after it. Returns the
   * SRTP packet (buf itself when it is exactly len + rtpOverhead long).
   */
  protectRtpInPlace(buf: Buffer, len: number): Buffer {
    const tagLen = this.rtpTagLength;
    if (len < 12) throw new RangeError('RTP packet shorter than its 12-byte header');
    if (buf.length < len + tagLen) throw new RangeError(`no room for the ${tagLen}-byte SRTP tag after the packet`);
    if ((buf[0] as number) >> 6 !== 2) throw new RangeError('not an RTP version 2 packet');
    const hdr = rtpHeaderLength(buf, len);
    if (hdr < 0) throw new RangeError('RTP header (CSRCs/extension) longer than the packet');
    const seq = ((buf[2] as number) << 8) | (buf[3] as number);
    const ssrc = buf.readUInt32BE(8);
    const stream = this.stream(ssrc);
    const index = stream.highest < 0 ? seq : estimateIndex(stream.highest, seq);
    const roc = Math.floor(index / 65536);
    this.rtp.cryptRtp(buf, hdr, len, buf, hdr, ssrc, index);
    const tag = this.rtp.mac(buf, len, roc);
    for (let i = 0; i < tagLen; i++) buf[len + i] = tag[i] as number;
    if (index > stream.highest) stream.highest = index;
    return buf.length === len + tagLen ? buf : buf.subarray(0, len + tagLen);
  }

  /**
   * Returns a new Buffer per RFC 3711 §3.4: the first 8 bytes (header and sender SSRC) in clear, the
   * rest encrypted under the SRTCP index, then E=1 || the 31-bit index, then the 80-bit tag over all
   * of that.
   */
  protectRtcp(packet: Buffer): Buffer {
    const len = packet.length;
    if (len < 8) throw new RangeError('RTCP packet shorter than its 8-byte header');
    if ((packet[0] as number) >> 6 !== 2) throw new RangeError('not an RTCP version 2 packet');
    const index = this.srtcpIndex;
    this.srtcpIndex = (index + 1) & 0x7fffffff;
    const ssrc = packet.readUInt32BE(4);
    const tagLen = this.rtcpTagLength;
    const out = Buffer.allocUnsafe(len + 4 + tagLen);
    packet.copy(out, 0, 0, 8);
    this.rtcp.crypt(packet, 8, len, out, 8, ssrc, index >>> 16, index & 0xffff);
    out.writeUInt32BE((0x80000000 | index) >>> 0, len);
    this.rtcp.mac(out, len + 4, undefined).copy(out, len + 4, 0, tagLen);
    return out;
  }

  /**
   * The state of `ssrc`. A new SSRC (our stream restarted) starts a fresh ROC; a previous SSRC resumes
   * its own, so switching back never reuses an index, and with it a keystream, under that SSRC
   * (§9.1, the two-time pad).
   */
  private stream(ssrc: number): SendStream {
    const cur = this.current;
    if (cur !== undefined && cur.ssrc === ssrc) return cur;
    let s = this.streams.get(ssrc);
    if (s === undefined) {
      s = { ssrc, highest: -1 };
      this.streams.set(ssrc, s);
      // Our own SSRCs change once per stream restart; the bound only guards against a caller bug.
      if (this.streams.size > 64) this.streams.delete(this.streams.keys().next().value as number);
    }
    this.current = s;
    return s;
  }
}

/** The receiver's state for one SSRC: the highest authenticated index and the replay bitmap (§3.3.2). */
interface RecvStream {
  ssrc: number;
  highest: number;
  /** Bit (index mod window) is set once that index has been accepted; covers (highest - window, highest]. */
  seen: Uint32Array;
}

/** Replay-window bookkeeping shared by SRTP (48-bit index) and SRTCP (31-bit index), §3.3.2 and §3.4. */
class ReplayTracker {
  private current: RecvStream | undefined;
  private readonly streams = new Map<number, RecvStream>();

  constructor(private readonly window: number) {}

  find(ssrc: number): RecvStream | undefined {
    const cur = this.current;
    if (cur !== undefined && cur.ssrc === ssrc) return cur;
    return this.streams.get(ssrc);
  }

  /** False for an index already accepted or older than the window (both count as replays). */
  fresh(s: RecvStream | undefined, index: number): boolean {
    if (s === undefined || index > s.highest) return true;
    if (s.highest - index >= this.window) return false;
    const pos = index % this.window;
    return ((s.seen[pos >>> 5] as number) & (1 << (pos & 31))) === 0;
  }

  /** Records an authenticated, fresh index: moves the window ahead if needed, then marks it. */
  accept(ssrc: number, s: RecvStream | undefined, index: number): void {
    const w = this.window;
    if (s === undefined) {
      s = { ssrc, highest: index, seen: new Uint32Array((w + 31) >>> 5) };
      this.streams.set(ssrc, s);
      if (this.streams.size > MAX_STREAMS) this.streams.delete(this.streams.keys().next().value as number);
    } else if (index > s.highest) {
      // The slots of the indices now entering the window held those leaving it: clear them.
      if (index - s.highest >= w) s.seen.fill(0);
      else {
        for (let i = s.highest + 1; i < index; i++) {
          const pos = i % w;
          s.seen[pos >>> 5] = (s.seen[pos >>> 5] as number) & ~(1 << (pos & 31));
        }
      }
      s.highest = index;
    }
    const pos = index % w;
    s.seen[pos >>> 5] = (s.seen[pos >>> 5] as number) | (1 << (pos & 31));
    if (this.current !== s) {
      // Most recently used last, so the first key of the map is the one to forget.
      this.streams.delete(ssrc);
      this.streams.set(ssrc, s);
      this.current = s;
    }
  }
}

/**
 * Our receiving side for the peer's streams, keyed with the peer's SDES keys. Order per packet: length,
 * index estimate (§3.3.1, from the fixed-offset SEQ and SSRC), tag verification in constant time
 * (§3.3 step 5; before anything else is parsed, so any altered bit reads as 'auth'), header structure,
 * replay window (§3.3.2), decryption, and only then the update of ROC / highest index / window, so a
 * forged, replayed or malformed packet changes nothing. The RFC checks the replay list before the tag;
 * either order is safe as long as state moves only after both, and this one gives a tampered packet
 * one answer whatever bit was changed.
 */
export class SrtpUnprotector {
  private readonly rtp: SessionTransform;
  private readonly rtcp: SessionTransform;
  private readonly rtpTagLength: number;
  private readonly rtcpTagLength: number;
  private readonly rtpReplay: ReplayTracker;
  private readonly rtcpReplay: ReplayTracker;

  constructor(keys: SrtpKeys, options: SrtpUnprotectorOptions = {}) {
    const window = options.replayWindow ?? 64;
    if (!Number.isInteger(window) || window < 64 || window > 1024) {
      throw new RangeError('replayWindow must be an integer from 64 (RFC 3711 §3.3.2 minimum) to 1024');
    }
    this.rtp = new SessionTransform(deriveSessionKeys(keys, 'rtp'));
    this.rtcp = new SessionTransform(deriveSessionKeys(keys, 'rtcp'));
    this.rtpTagLength = SRTP_SUITES[keys.suite].rtpTagLength;
    this.rtcpTagLength = SRTP_SUITES[keys.suite].rtcpTagLength;
    this.rtpReplay = new ReplayTracker(window);
    this.rtcpReplay = new ReplayTracker(window);
  }

  /**
   * SRTP → RTP (header + decrypted payload, tag removed). Never throws. inPlace: decrypted where it is
   * and returned as a view of `packet` (for a receiver that owns the datagram and is done with its
   * SRTP form); otherwise `packet` is left as it was.
   */
  unprotectRtp(packet: Buffer, inPlace = false): UnprotectResult {
    if (!Buffer.isBuffer(packet)) return MALFORMED;
    try {
      return this.rtpIn(packet, inPlace);
    } catch {
      // Every read is bounds-checked first; this is a last guard for the "never throws" promise.
      return MALFORMED;
    }
  }

  /** SRTCP → RTCP (header + decrypted rest, E||index and tag removed). Never throws. */
  unprotectRtcp(packet: Buffer): UnprotectResult {
    if (!Buffer.isBuffer(packet)) return MALFORMED;
    try {
      return this.rtcpIn(packet);
    } catch {
      return MALFORMED;
    }
  }

  private rtpIn(p: Buffer, inPlace: boolean): UnprotectResult {
    const len = p.length;
    const tagLen = this.rtpTagLength;
    if (len < 12 + tagLen) return SHORT;
    const end = len - tagLen;
    const seq = p.readUInt16BE(2);
    const ssrc = p.readUInt32BE(8);
    const stream = this.rtpReplay.find(ssrc);
    // §3.3.1: the first packet of a stream is taken at ROC 0, its sequence number as s_l.
    const index = stream === undefined ? seq : estimateIndex(stream.highest, seq);
    const roc = Math.floor(index / 65536);
    const tag = this.rtp.mac(p, end, roc);
    if (!tagMatches(tag, p, end, tagLen)) return AUTH;
    // The header is parsed only once it is known to be the peer's: anything else altered is 'auth'.
    if ((p[0] as number) >> 6 !== 2) return MALFORMED;
    const hdr = rtpHeaderLength(p, end);
    if (hdr < 0) return MALFORMED;
    if (!this.rtpReplay.fresh(stream, index)) return REPLAY;
    let out = p;
    if (!inPlace) {
      out = Buffer.allocUnsafe(end);
      p.copy(out, 0, 0, hdr);
    }
    this.rtp.cryptRtp(p, hdr, end, out, hdr, ssrc, index);
    this.rtpReplay.accept(ssrc, stream, index);
    return { ok: true, packet: inPlace ? p.subarray(0, end) : out };
  }

  private rtcpIn(p: Buffer): UnprotectResult {
    const len = p.length;
    const tagLen = this.rtcpTagLength;
    // 8 bytes of header and sender SSRC, the E || SRTCP index word, the tag (§3.4).
    if (len < 8 + 4 + tagLen) return SHORT;
    const end = len - tagLen;
    const word = p.readUInt32BE(end - 4);
    const encrypted = word >>> 31 === 1;
    const index = word & 0x7fffffff;
    const tag = this.rtcp.mac(p, end, undefined);
    if (!tagMatches(tag, p, end, tagLen)) return AUTH;
    if ((p[0] as number) >> 6 !== 2) return MALFORMED;
    const ssrc = p.readUInt32BE(4);
    const stream = this.rtcpReplay.find(ssrc);
    if (!this.rtcpReplay.fresh(stream, index)) return REPLAY;
    const plainEnd = end - 4;
    const out = Buffer.allocUnsafe(plainEnd);
    p.copy(out, 0, 0, 8);
    // E=0: the sender chose not to encrypt this one (§3.4); it is still authenticated.
    if (encrypted) this.rtcp.crypt(p, 8, plainEnd, out, 8, ssrc, index >>> 16, index & 0xffff);
    else p.copy(out, 8, 8, plainEnd);
    this.rtcpReplay.accept(ssrc, stream, index);
    return { ok: true, packet: out };
  }
}
