/**
 * L16: uncompressed 16-bit linear PCM in network byte order (RFC 3551 §4.5.11). We use it at
 * 16000 Hz mono with a dynamic payload type, the simplest wideband option for trunks that allow it.
 */

/** PCM16 (host order) → big-endian bytes, two per sample. */
export function encodeL16(pcm: Int16Array, out?: Uint8Array): Uint8Array {
  const dst = out ?? new Uint8Array(pcm.length * 2);
  for (let i = 0, j = 0; i < pcm.length; i++, j += 2) {
    const s = pcm[i] as number;
    dst[j] = (s >> 8) & 0xff;
    dst[j + 1] = s & 0xff;
  }
  return dst;
}

/** Big-endian bytes → PCM16. An odd trailing byte (malformed payload) is ignored. */
export function decodeL16(bytes: Uint8Array, out?: Int16Array): Int16Array {
  const n = bytes.length >> 1;
  const dst = out ?? new Int16Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    // (hi << 8 | lo) then sign-extend from 16 bits
    dst[i] = (((bytes[j] as number) << 24) >> 16) | (bytes[j + 1] as number);
  }
  return dst;
}
