/**
 * SDES (RFC 4568): SRTP keys exchanged in the SDP's a=crypto attributes, and which profile an m=audio
 * line uses. A trunk's `media_encryption` decides what we offer and what we accept:
 *
 * - disabled: plain RTP/AVP; an offer of RTP/SAVP is refused (488), crypto lines on RTP/AVP are ignored.
 * - optional: "best effort" SRTP: our offers are RTP/AVP with a=crypto lines (what Asterisk, FreeSWITCH
 *   and baresip's `srtp` mode send and accept); encrypted when the other side answers with a key, plain
 *   otherwise. As answerer we accept both, encrypted whenever the offer carries a usable key.
 * - required: our offers are RTP/SAVP (RFC 3711 §1); an answer without a usable key fails the call, an
 *   offer without one is refused (488).
 *
 * Each side encrypts with the key it put in its own SDP and decrypts with the other's (RFC 4568 §6.1).
 * We generate a fresh master key and salt per suite per media session; they never leave the process
 * except in our SDP, so they are only as secret as the signaling (use the trunk's tls transport).
 */
import { randomBytes } from 'node:crypto';
import { isSrtpSuite, SRTP_SUITES, type SrtpSuite } from '../rtp/srtp/suites.js';
import type { ParsedMedia } from './common.js';
import { SdpError, type LocalCrypto, type MediaEncryption, type NegotiatedSrtp } from './types.js';

export type { LocalCrypto, MediaEncryption, NegotiatedSrtp };

/** The crypto line we write: tag, suite, key. */
export interface CryptoLine {
  readonly tag: number;
  readonly suite: SrtpSuite;
  readonly inline: string;
}

/** Our suites in preference order: the 80-bit tag first (RFC 4568 §6.2.1 makes it the default). */
export const OFFERED_SUITES: readonly SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

/** Fresh keys for one media session, one per offered suite. */
export function newLocalCrypto(): LocalCrypto[] {
  return OFFERED_SUITES.map((suite) => {
    const s = SRTP_SUITES[suite];
    return { suite, inline: randomBytes(s.keyLength + s.saltLength).toString('base64') };
  });
}

/** Splits an inline key into master key and salt (lengths per suite). */
export function splitInline(suite: SrtpSuite, inline: string): { masterKey: Buffer; masterSalt: Buffer } {
  const s = SRTP_SUITES[suite];
  const raw = Buffer.from(inline, 'base64');
  if (raw.length !== s.keyLength + s.saltLength) throw new SdpError('MALFORMED', `SRTP key of ${raw.length} bytes for ${suite}`);
  return { masterKey: raw.subarray(0, s.keyLength), masterSalt: raw.subarray(s.keyLength) };
}

export function isSecureProfile(protocol: unknown): boolean {
  const p = String(protocol ?? '').toUpperCase();
  return p === 'RTP/SAVP' || p === 'RTP/SAVPF';
}

/** The profile of our m= line: SAVP only when encryption is required (RFC 4568 §9.1 best effort otherwise). */
export function offerProfile(mode: MediaEncryption): string {
  return mode === 'required' ? 'RTP/SAVP' : 'RTP/AVP';
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The a=crypto lines of an m= line that we can use, in the order listed. A line is usable when its
 * suite is one of ours and it has exactly one inline key of the right length, with or without a
 * lifetime, without MKI (RFC 4568 §6.1: `inline:<key||salt>[|lifetime][|MKI:length]`) and no session
 * parameters (KDR, UNENCRYPTED_SRTP, ... would change the packet format; §6.3). Others are skipped,
 * as §7.1.2 lets an answerer do; a malformed one never throws.
 */
export function usableCryptoLines(m: ParsedMedia): CryptoLine[] {
  const out: CryptoLine[] = [];
  for (const c of m.crypto ?? []) {
    const tag = Number(c.id);
    if (!Number.isInteger(tag) || tag < 0 || tag > 999999999) continue;
    if (!isSrtpSuite(String(c.suite))) continue;
    const suite = c.suite as SrtpSuite;
    if (c.sessionConfig !== undefined && c.sessionConfig !== '') continue;
    const params = String(c.config ?? '');
    // One key only: several keys (';'-separated) need an MKI to tell packets apart.
    if (!params.startsWith('inline:') || params.includes(';')) continue;
    const [key, ...rest] = params.slice('inline:'.length).split('|');
    if (key === undefined || !BASE64.test(key)) continue;
    if (!rest.every(isLifetime)) continue;
    const s = SRTP_SUITES[suite];
    if (Buffer.from(key, 'base64').length !== s.keyLength + s.saltLength) continue;
    out.push({ tag, suite, inline: key });
  }
  return out;
}

/**
 * A key parameter we accept: a lifetime (2^n or decimal). It bounds how long the key's owner may use it
 * (§6.1), so it is theirs to honour (by re-keying in a re-INVITE). An MKI such as `1:4` is refused:
 * its packets would carry a key index we do not parse.
 */
function isLifetime(p: string): boolean {
  return /^2\^\d{1,2}$/.test(p) || /^\d{1,20}$/.test(p);
}

/**
 * As offerer: what the answer's m= line means for the media. `offered` are the lines of our offer
 * (tags 1..n); null means plain RTP. Throws SdpError when the answer cannot be accepted.
 */
export function settleAnswerCrypto(mode: MediaEncryption, offered: readonly CryptoLine[], answer: ParsedMedia): NegotiatedSrtp | null {
  const secure = isSecureProfile(answer.protocol);
  if (mode === 'disabled') {
    if (secure) throw new SdpError('UNSUPPORTED_TRANSPORT', `the answer uses ${String(answer.protocol)} but we offered plain RTP`);
    return null;
  }
  // RFC 4568 §7.1.3: the answer's one crypto line names the tag of the offered line it accepts, with
  // the same suite, and carries the answerer's own key.
  for (const line of usableCryptoLines(answer)) {
    const ours = offered.find((o) => o.tag === line.tag && o.suite === line.suite);
    if (ours) return { suite: ours.suite, sendInline: ours.inline, recvInline: line.inline };
  }
  if (secure || mode === 'required') {
    throw new SdpError('NO_COMMON_CRYPTO', 'the answer accepts none of our SRTP keys (media_encryption requires SRTP)');
  }
  return null;
}

/**
 * As answerer: the crypto line to answer with (the offer's tag, our key) and the SRTP it sets up, or
 * null for plain RTP. `prefer`: the suite in use, kept on a re-offer that still lists it.
 */
export function settleOfferCrypto(
  mode: MediaEncryption,
  ours: readonly LocalCrypto[],
  offer: ParsedMedia,
  prefer?: SrtpSuite,
): { line: CryptoLine; srtp: NegotiatedSrtp } | null {
  const secure = isSecureProfile(offer.protocol);
  if (mode === 'disabled') {
    if (secure) throw new SdpError('UNSUPPORTED_TRANSPORT', `${String(offer.protocol)} offered, but this trunk's media_encryption is disabled`);
    return null;
  }
  const lines = usableCryptoLines(offer).filter((l) => ours.some((o) => o.suite === l.suite));
  const pick = lines.find((l) => l.suite === prefer) ?? lines[0];
  if (!pick) {
    if (secure || mode === 'required') throw new SdpError('NO_COMMON_CRYPTO', 'the offer has no SRTP key we can use (media_encryption requires SRTP)');
    return null;
  }
  const mine = ours.find((o) => o.suite === pick.suite) as LocalCrypto;
  return { line: { tag: pick.tag, suite: pick.suite, inline: mine.inline }, srtp: { suite: pick.suite, sendInline: mine.inline, recvInline: pick.inline } };
}

/** Our offer's crypto lines: tags 1..n in preference order (RFC 4568 §5.1 tags are the offerer's). */
export function offerLines(ours: readonly LocalCrypto[]): CryptoLine[] {
  return ours.map((o, i) => ({ tag: i + 1, suite: o.suite, inline: o.inline }));
}
