/**
 * HMAC-SHA1 (RFC 2104 over FIPS 180-4 SHA-1) for one fixed key, computed in JS from two precomputed
 * midstates: the hash state after the key XOR ipad block and after the key XOR opad block. node:crypto
 * has no reusable HMAC context, so createHmac() sets up both pads again for every packet; for a
 * 172-byte RTP packet that set-up costs more than the four compression rounds left to do here
 * (bench/srtp.ts). Used by the SRTP transforms (RFC 3711 §4.2), which need one MAC per packet.
 */

const BLOCK = 64;

const SCRATCH = { h: new Int32Array(5), w: new Int32Array(80), tail: Buffer.alloc(2 * BLOCK), digest: Buffer.alloc(20) };

export class HmacSha1 {
  private readonly inner = new Int32Array(5);
  private readonly outer = new Int32Array(5);
  /**
   * Working state, message schedule, tail block(s) and digest: one set for every instance of this
   * thread (a mac() runs start to end without yielding). Per instance they would be 500 bytes of each
   * of a thousand legs' two directions to pull through the cache on every packet.
   */
  private readonly h = SCRATCH.h;
  private readonly w = SCRATCH.w;
  /** The tail block(s): the message's last partial block, then the padding and the length. */
  private readonly tail = SCRATCH.tail;
  private readonly digestOut = SCRATCH.digest;

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
   * the next call of any HmacSha1 of this thread overwrites: copy what you keep.
   */
  mac(data: Buffer, end: number, suffix?: Buffer): Buffer {
    const extra = suffix?.length ?? 0;
    const h = this.h;
    const inner = this.inner;
    for (let i = 0; i < 5; i++) h[i] = inner[i] as number;
    // Whole blocks straight from the data, then the rest (data tail + suffix + padding) from `tail`.
    // Byte loops, not Buffer.copy/fill: they move at most 72 bytes, less than a native call costs.
    const whole = end - (end % BLOCK);
    for (let off = 0; off < whole; off += BLOCK) this.block(data, off);
    const tail = this.tail;
    let used = 0;
    for (let i = whole; i < end; i++) tail[used++] = data[i] as number;
    for (let i = 0; i < extra; i++) tail[used++] = (suffix as Buffer)[i] as number;
    this.finish(used, BLOCK + end + extra);
    // Outer hash over the inner digest.
    this.putDigest(tail);
    const outer = this.outer;
    for (let i = 0; i < 5; i++) h[i] = outer[i] as number;
    this.finish(20, BLOCK + 20);
    this.putDigest(this.digestOut);
    return this.digestOut;
  }

  /** The state this.h as 20 big-endian bytes at the start of `to`. */
  private putDigest(to: Buffer): void {
    const h = this.h;
    for (let i = 0, o = 0; i < 5; i++, o += 4) {
      const v = h[i] as number;
      to[o] = v >>> 24;
      to[o + 1] = (v >>> 16) & 0xff;
      to[o + 2] = (v >>> 8) & 0xff;
      to[o + 3] = v & 0xff;
    }
  }

  /**
   * Pads the `used` bytes at the start of `tail` (FIPS 180-4 §5.1.1: 0x80, zeros, the 64-bit length in
   * bits; `hashedBytes` counts the pad block too) and runs the last block(s).
   */
  private finish(used: number, hashedBytes: number): void {
    const tail = this.tail;
    tail[used] = 0x80;
    const blocks = used + 9 > BLOCK ? 2 : 1;
    const at = blocks * BLOCK - 8;
    for (let i = used + 1; i < at; i++) tail[i] = 0;
    // The length in bits fits in 53 bits: the high word is bits / 2^32, the low word the rest.
    const bits = hashedBytes * 8;
    const high = Math.floor(bits / 0x100000000);
    const low = bits >>> 0;
    tail[at] = high >>> 24;
    tail[at + 1] = (high >>> 16) & 0xff;
    tail[at + 2] = (high >>> 8) & 0xff;
    tail[at + 3] = high & 0xff;
    tail[at + 4] = low >>> 24;
    tail[at + 5] = (low >>> 16) & 0xff;
    tail[at + 6] = (low >>> 8) & 0xff;
    tail[at + 7] = low & 0xff;
    this.block(tail, 0);
    if (blocks === 2) this.block(tail, BLOCK);
  }

  /**
   * One SHA-1 compression of p[off, off + 64) into this.h (FIPS 180-4 §6.1.2). The four 20-round
   * stages are separate loops, the words are read from bytes directly, and every sum stays a 32-bit
   * integer (the round constants as signed int32: 0x8f1bbcdc is -0x70e44324, 0xca62c1d6 is -0x359d3e2a):
   * this runs four times per packet, and branches, Buffer.readInt32BE and float sums cost half of it.
   */
  private block(p: Uint8Array, off: number): void {
    const w = this.w;
    for (let i = 0, o = off; i < 16; i++, o += 4) {
      w[i] = ((p[o] as number) << 24) | ((p[o + 1] as number) << 16) | ((p[o + 2] as number) << 8) | (p[o + 3] as number);
    }
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
    let t: number;
    let i = 0;
    for (; i < 20; i++) {
      t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d))) | 0;
      t = (t + e + 0x5a827999) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = (t + (w[i] as number)) | 0;
    }
    for (; i < 40; i++) {
      t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d)) | 0;
      t = (t + e + 0x6ed9eba1) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = (t + (w[i] as number)) | 0;
    }
    for (; i < 60; i++) {
      t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d))) | 0;
      t = (t + e + -0x70e44324) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = (t + (w[i] as number)) | 0;
    }
    for (; i < 80; i++) {
      t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d)) | 0;
      t = (t + e + -0x359d3e2a) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = (t + (w[i] as number)) | 0;
    }
    h[0] = ((h[0] as number) + a) | 0;
    h[1] = ((h[1] as number) + b) | 0;
    h[2] = ((h[2] as number) + c) | 0;
    h[3] = ((h[3] as number) + d) | 0;
    h[4] = ((h[4] as number) + e) | 0;
  }
}
