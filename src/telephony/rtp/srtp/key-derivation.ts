/**
 * SRTP session key derivation (RFC 3711 §4.3) with the AES-CM PRF (§4.3.3) and key derivation rate 0,
 * the only rate SDES uses by default (RFC 4568 §6.2: KDR omitted means 0). With kdr 0 the derivation
 * runs once per master key (§4.3.1: "index DIV kdr" is taken as 0), so a context derives its six
 * session keys in its constructor and never again.
 */
import { createCipheriv } from 'node:crypto';
import { isSrtpSuite, SRTP_SUITES, type SrtpKeys } from './suites.js';

export interface SrtpSessionKeys {
  /** k_e: AES-128 session encryption key (n_e = 128 bits, §8.2). */
  encKey: Buffer;
  /** k_a: HMAC-SHA1 session authentication key (n_a = 160 bits, §8.2). */
  authKey: Buffer;
  /** k_s: session salting key (n_s = 112 bits, §8.2), XORed into every packet's IV (§4.1.1). */
  salt: Buffer;
}

/**
 * Labels of RFC 3711 §4.3.1 (SRTP) and §4.3.2 (SRTCP): encryption, authentication, salt.
 */
const LABELS = {
  rtp: { enc: 0x00, auth: 0x01, salt: 0x02 },
  rtcp: { enc: 0x03, auth: 0x04, salt: 0x05 },
} as const;

/**
 * The AES-CM PRF of §4.3.3: the first `length` bytes of the AES-128 counter-mode keystream under the
 * master key, starting at IV = x * 2^16 where x = key_id XOR master_salt and key_id = label || r
 * (§4.3.1). With kdr 0, r is zero, so key_id is the label followed by six zero bytes; right-aligned
 * against the 14-byte salt that puts the label at salt byte 7 (RFC 3711 B.3 shows label 0x02 turning
 * ...FEEB... into ...FEE9...).
 *
 * For SRTCP, §4.3.2 writes r with the 32-bit SRTCP index, which would move the label to byte 9; RFC
 * 3711 erratum 3712 widens it to 48 bits as for SRTP, so the label stays at byte 7. That is what
 * deployed stacks derive (the libsrtp SRTCP reference packet in our tests only authenticates this way),
 * and with kdr 0 it is the only difference the two readings could make.
 */
function prf(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, 14);
  iv[7] = (iv[7] as number) ^ label;
  // Bytes 14-15 stay zero: the "* 2^16" that leaves room for the block counter.
  const cipher = createCipheriv('aes-128-ctr', masterKey, iv);
  // AES-CM keystream = encryption of zeros; a CTR stream cipher emits every byte from update().
  return cipher.update(Buffer.alloc(length));
}

/**
 * Derives k_e (16 bytes), k_a (20 bytes) and k_s (14 bytes) for SRTP (`kind` 'rtp', labels 0/1/2) or
 * SRTCP ('rtcp', labels 3/4/5) from the SDES master key and salt. Throws RangeError on an unknown
 * suite or a key or salt of the wrong length: those come from our own SDP parsing, never straight
 * from a packet, so a throw here is a caller bug or a bad offer that must fail the negotiation.
 */
export function deriveSessionKeys(keys: SrtpKeys, kind: 'rtp' | 'rtcp'): SrtpSessionKeys {
  if (!isSrtpSuite(keys.suite)) throw new RangeError(`unknown SRTP suite ${String(keys.suite)}`);
  const params = SRTP_SUITES[keys.suite];
  if (!Buffer.isBuffer(keys.masterKey) || keys.masterKey.length !== params.keyLength) {
    throw new RangeError(`SRTP master key must be ${params.keyLength} bytes`);
  }
  if (!Buffer.isBuffer(keys.masterSalt) || keys.masterSalt.length !== params.saltLength) {
    throw new RangeError(`SRTP master salt must be ${params.saltLength} bytes`);
  }
  if (kind !== 'rtp' && kind !== 'rtcp') throw new RangeError(`unknown key kind ${String(kind)}`);
  const l = LABELS[kind];
  return {
    encKey: prf(keys.masterKey, keys.masterSalt, l.enc, 16),
    authKey: prf(keys.masterKey, keys.masterSalt, l.auth, 20),
    salt: prf(keys.masterKey, keys.masterSalt, l.salt, 14),
  };
}
