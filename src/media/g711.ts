/**
 * ITU-T G.711 mu-law (PCMU, RFC 3551 §4.5.14) and A-law (PCMA) over Int16Array frames.
 *
 * Written from the G.711 segment tables rather than imported: the npm `alawmulaw` package ships a
 * UMD bundle whose default export is undefined under Node ESM. Encoding uses one 64 Ki-entry lookup
 * table per law (built once, 128 KiB total), so a 20 ms frame costs 160 array reads. The tables are
 * proven bit-exact against sox in test/media/g711.test.ts.
 */

const MULAW_BIAS = 0x84; // 132 = 33 << 2: G.711 mu-law bias expressed on a 16-bit scale
const MULAW_CLIP = 32635;

function muLawEncodeSample(pcm: number): number {
  // G.711 mu-law works on 14-bit linear samples. Reduce 16 → 14 bits by rounding to nearest (add half
  // an LSB, then arithmetic shift), saturating at the top, exactly as sox does, so that output is
  // bit-exact with sox (see the test).
  let v = pcm > 32767 - 2 ? 8191 : (pcm + 2) >> 2;
  let mask: number;
  if (v < 0) {
    v = -v;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  if (v > MULAW_CLIP >> 2) v = MULAW_CLIP >> 2;
  v += MULAW_BIAS >> 2;
  // segment = index of the highest set bit above bit 5 (value range 33..8191 → segments 0..7)
  let seg = 0;
  for (let t = v >> 6; t !== 0 && seg < 7; t >>= 1) seg++;
  const mantissa = (v >> (seg + 1)) & 0x0f;
  return ((seg << 4) | mantissa) ^ mask;
}

function muLawDecodeSample(byte: number): number {
  const u = ~byte & 0xff;
  let t = ((u & 0x0f) << 3) + MULAW_BIAS;
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? MULAW_BIAS - t : t - MULAW_BIAS;
}

const ALAW_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function aLawEncodeSample(pcm: number): number {
  // A-law quantises 13 bits; even bits are inverted on the wire (XOR 0x55, G.711 Table 1a note).
  // 16 → 13 bits by round-to-nearest with saturation (same reduction as sox, see the test).
  let v = pcm > 32767 - 4 ? 4095 : (pcm + 4) >> 3;
  let mask: number;
  if (v >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    v = -v - 1;
  }
  let seg = 0;
  while (seg < 8 && v > (ALAW_SEG_END[seg] as number)) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let a = seg << 4;
  a |= seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return a ^ mask;
}

function aLawDecodeSample(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

function buildEncodeTable(fn: (s: number) => number): Uint8Array {
  const table = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) table[i] = fn(i - 32768 /* index = sample + 32768 */);
  return table;
}

function buildDecodeTable(fn: (b: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let i = 0; i < 256; i++) table[i] = fn(i);
  return table;
}

const MULAW_ENC = buildEncodeTable(muLawEncodeSample);
const MULAW_DEC = buildDecodeTable(muLawDecodeSample);
const ALAW_ENC = buildEncodeTable(aLawEncodeSample);
const ALAW_DEC = buildDecodeTable(aLawDecodeSample);

function encodeWith(table: Uint8Array, pcm: Int16Array, out?: Uint8Array): Uint8Array {
  const dst = out ?? new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) dst[i] = table[(pcm[i] as number) + 32768] as number;
  return dst;
}

function decodeWith(table: Int16Array, bytes: Uint8Array, out?: Int16Array): Int16Array {
  const dst = out ?? new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) dst[i] = table[bytes[i] as number] as number;
  return dst;
}

/** PCM16 → mu-law bytes (one byte per sample). */
export function encodeMuLaw(pcm: Int16Array, out?: Uint8Array): Uint8Array {
  return encodeWith(MULAW_ENC, pcm, out);
}
/** mu-law bytes → PCM16. */
export function decodeMuLaw(bytes: Uint8Array, out?: Int16Array): Int16Array {
  return decodeWith(MULAW_DEC, bytes, out);
}
/** PCM16 → A-law bytes (one byte per sample). */
export function encodeALaw(pcm: Int16Array, out?: Uint8Array): Uint8Array {
  return encodeWith(ALAW_ENC, pcm, out);
}
/** A-law bytes → PCM16. */
export function decodeALaw(bytes: Uint8Array, out?: Int16Array): Int16Array {
  return decodeWith(ALAW_DEC, bytes, out);
}

/** The byte a silent (all-zero) sample encodes to; used to prebuild silence packets. */
export const MULAW_SILENCE = MULAW_ENC[32768] as number;
export const ALAW_SILENCE = ALAW_ENC[32768] as number;
