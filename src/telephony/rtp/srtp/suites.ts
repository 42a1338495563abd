/**
 * The SRTP crypto suites we offer and accept over SDES (RFC 4568 §6.2): both are AES-128 in counter
 * mode with HMAC-SHA1 (RFC 3711 §4.1.1, §4.2), a 128-bit master key and a 112-bit master salt
 * (RFC 3711 §8.2 defaults), key derivation rate 0 and no MKI. They differ only in the SRTP tag:
 * - AES_CM_128_HMAC_SHA1_80 (RFC 4568 §6.2.1): 80-bit tag on SRTP and SRTCP;
 * - AES_CM_128_HMAC_SHA1_32 (RFC 4568 §6.2.2): 32-bit tag on SRTP only. SRTCP keeps the 80-bit tag,
 *   because RFC 3711 §5.2 makes 80 bits the minimum for SRTCP whatever the SRTP tag (RTCP carries
 *   control, not 20 ms of audio a forger could at best replace).
 */

export type SrtpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

export interface SrtpSuiteParams {
  /** Master key length in bytes (AES-128). */
  keyLength: 16;
  /** Master salt length in bytes (112 bits). */
  saltLength: 14;
  /** Bytes of the HMAC-SHA1 output appended to each SRTP packet (RFC 3711 §4.2: the leftmost n_tag bits). */
  rtpTagLength: number;
  /** Bytes of the HMAC-SHA1 output appended to each SRTCP packet. */
  rtcpTagLength: number;
}

export const SRTP_SUITES: Readonly<Record<SrtpSuite, SrtpSuiteParams>> = Object.freeze({
  AES_CM_128_HMAC_SHA1_80: Object.freeze({ keyLength: 16, saltLength: 14, rtpTagLength: 10, rtcpTagLength: 10 }),
  AES_CM_128_HMAC_SHA1_32: Object.freeze({ keyLength: 16, saltLength: 14, rtpTagLength: 4, rtcpTagLength: 10 }),
});

/** True for the suite names we implement (as they appear in an SDP a=crypto line, RFC 4568 §9.1). */
export function isSrtpSuite(s: string): s is SrtpSuite {
  return s === 'AES_CM_128_HMAC_SHA1_80' || s === 'AES_CM_128_HMAC_SHA1_32';
}

/** One direction's keying material as signalled by SDES: the inline key is masterKey || masterSalt. */
export interface SrtpKeys {
  suite: SrtpSuite;
  masterKey: Buffer;
  masterSalt: Buffer;
}
