/**
 * HMAC-SHA1 (RFC 2104 over FIPS 180-4 SHA-1) for one fixed key, computed in JS from two precomputed
 * midstates: the hash state after the key XOR ipad block and after the key XOR opad block. node:crypto
 * has no reusable HMAC context, so createHmac() sets up both pads again for every packet; for a
 * 172-byte RTP packet that set-up costs more than the four compression rounds left to do here
 * (bench/srtp.ts). Used by the SRTP transforms (RFC 3711 §4.2), which need one MAC per packet.
 */

const BLOCK = 64;

export class HmacSha1 {
  private readonly inner = new Int32Array(5);
  private readonly outer = new Int32Array(5);
  /** Working state and message schedule, reused by every call. */
  private readonly h = new Int32Array(5);
  private readonly w = new Int32Array(80);
  /** The tail block(s): the message's last partial block, then the padding and the length. */
  private readonly tail = Buffer.alloc(2 * BLOCK);
  private readonly digestOut = Buffer.alloc(20);

  constructor(key: Buffer) {
    if (key.length > BLOCK) throw new RangeError('HMAC keys longer than 64 bytes must be hashed first (not needed for SRTP)');
    const pad = Buffer.alloc(BLOCK);
    for (const [state, fill] of [[this.inner, 0x36], [this.outer, 0x5c]] as const) {
      pad.fill(fill);
      for (let i = 0; i < key.length; i++) pad[i] = (pad[i] as number) ^ (key[i] as number);
      this.h.set([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0]);
      this.block(pad, 0);
      state.set(this.h);
    }
  }

  /**
   * HMAC of data[0, end) followed by `suffix` (0-8 bytes; SRTP's ROC word), as a 20-byte Buffer that
   * the next call overwrites: copy what you keep.
   */
  mac(data: Buffer, end: number, suffix?: Buffer): Buffer {
    const extra = suffix?.length ?? 0;
    this.h.set(this.inner);
    const total = end + extra;
    // Whole blocks straight from the data, then the rest (data tail + suffix + padding) from `tail`.
    const whole = Math.floor(end / BLOCK) * BLOCK;
    for (let off = 0; off < whole; off += BLOCK) this.block(data, off);
    const tail = this.tail;
    tail.fill(0);
    const rest = end - whole;
    data.copy(tail, 0, whole, end);
    if (suffix) suffix.copy(tail, rest);
    const used = rest + extra;
    this.finish(used, BLOCK + total);
    for (let i = 0; i < 5; i++) this.digestOut.writeInt32BE(this.h[i] as number, i * 4);
    // Outer hash over the inner digest.
    this.h.set(this.outer);
    tail.fill(0);
    this.digestOut.copy(tail, 0);
    this.finish(20, BLOCK + 20);
    for (let i = 0; i < 5; i++) this.digestOut.writeInt32BE(this.h[i] as number, i * 4);
    return this.digestOut;
  }

  /** Pads `used` bytes at the start of `tail` (FIPS 180-4 §5.1.1; `hashedBytes` counts the pad block too) and runs the last block(s). */
  private finish(used: number, hashedBytes: number): void {
    const tail = this.tail;
    tail[used] = 0x80;
    const blocks = used + 9 > BLOCK ? 2 : 1;
    const bits = hashedBytes * 8;
    const at = blocks * BLOCK - 8;
    tail.writeUInt32BE(Math.floor(bits / 0x100000000), at);
    tail.writeUInt32BE(bits >>> 0, at + 4);
    this.block(tail, 0);
    if (blocks === 2) this.block(tail, BLOCK);
  }

  /** One SHA-1 compression of p[off, off + 64) into this.h (FIPS 180-4 §6.1.2). */
  private block(p: Buffer, off: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i++) w[i] = p.readInt32BE(off + i * 4);
    for (let i = 16; i < 80; i++) {
      const x = (w[i - 3] as number) ^ (w[i - 8] as number) ^ (w[i - 14] as number) ^ (w[i - 16] as number);
      w[i] = (x << 1) | (x >>> 31);
    }
    const h = this.h;
    let a = h[0] as number;
    let b = h[1] as number;
    let c = h[2] as number;
    let d = h[3] as number;
    let e = h[4] as number;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc | 0;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6 | 0;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + (w[i] as number)) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h[0] = ((h[0] as number) + a) | 0;
    h[1] = ((h[1] as number) + b) | 0;
    h[2] = ((h[2] as number) + c) | 0;
    h[3] = ((h[3] as number) + d) | 0;
    h[4] = ((h[4] as number) + e) | 0;
  }
}
