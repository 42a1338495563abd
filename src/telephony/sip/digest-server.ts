/**
 * The server's side of SIP digest (RFC 3261 §22.4, RFC 7616, RFC 8760): challenge a request and check
 * the answer. Nonces are stateless (a timestamp and an HMAC of it under a key of this process, so any
 * of our nonces can be checked without having been stored) and expire after NONCE_TTL_MS; an expired
 * one with right credentials is answered stale=true (RFC 7616 §3.3), so the caller retries at once.
 * Replays are refused: the nonce count (nc) must rise for each nonce (RFC 7616 §3.4.5).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { computeDigestResponse, parseAuthParams, type DigestAlgorithm, type DigestCredentials } from './digest.js';
import { parseUri } from './uri.js';

/** How long a nonce of ours may be answered (then stale). */
export const NONCE_TTL_MS = 300_000;
/** Nonces whose counts we remember (a bounded map: the oldest go first). */
const MAX_TRACKED_NONCES = 10_000;

export type DigestVerdict =
  /** The answer proves the credentials. */
  | { readonly kind: 'ok' }
  /** No answer to our challenge (or none for our realm): challenge. */
  | { readonly kind: 'absent' }
  /** Right credentials on an expired nonce of ours: challenge again with stale=true. */
  | { readonly kind: 'stale' }
  /** Wrong credentials, a forged or replayed nonce, another user, a bad answer. */
  | { readonly kind: 'bad'; readonly why: string };

const ALGORITHMS: Record<string, DigestAlgorithm> = { md5: 'MD5', 'sha-256': 'SHA-256' };

export class DigestVerifier {
  readonly #key: Buffer;
  readonly #counts = new Map<string, number>();

  constructor(
    readonly realm: string,
    private readonly now: () => number = Date.now,
    key: Buffer = randomBytes(32),
  ) {
    this.#key = key;
  }

  /**
   * WWW-Authenticate values for a 401, one per algorithm (RFC 8760 §2.4), qop=auth: MD5 first, then
   * SHA-256. Many deployed UACs read only the first challenge and know only MD5 (SIPp 3.6, kamailio
   * 5.6's uac module, baresip 1.0 here: each gives up on an SHA-256 challenge placed first), and a
   * PBX that cannot answer cannot call. UACs that pick the strongest algorithm offered (ours does,
   * digest-retry.ts) still answer SHA-256.
   */
  challenge(stale = false): string[] {
    const nonce = this.#nonce(this.now());
    const tail = `qop="auth"${stale ? ', stale=true' : ''}`;
    return ['MD5', 'SHA-256'].map((a) => `Digest realm="${this.realm}", nonce="${nonce}", algorithm=${a}, ${tail}`);
  }

  /**
   * Checks the Authorization values of a request (method, Request-URI) against `credentials`. Only
   * an answer for our realm counts. The response is computed over the uri the answer names (RFC
   * 7616 §3.4.1), which must be a SIP URI; it need not be the Request-URI: deployed UACs put other
   * forms there (SIPp sends sip:<host>:<port>, as kamailio and Asterisk accept). A captured answer
   * still cannot be used again: each nonce's count must rise, and only the password makes a new one.
   */
  verify(authorization: readonly string[], method: string, credentials: DigestCredentials): DigestVerdict {
    for (const value of authorization) {
      const parsed = parseAuthParams(value);
      if (!parsed.ok || parsed.value.scheme.toLowerCase() !== 'digest') continue;
      const p = parsed.value.params;
      if (p.get('realm') !== this.realm) continue;
      const nonce = p.get('nonce') ?? '';
      const issued = this.#issuedAt(nonce);
      if (issued === undefined) return { kind: 'bad', why: 'not a nonce of ours' };
      const algorithm = ALGORITHMS[(p.get('algorithm') ?? 'MD5').toLowerCase()];
      if (!algorithm) return { kind: 'bad', why: `algorithm ${p.get('algorithm') ?? ''} not offered` };
      if (p.get('username') !== credentials.username) return { kind: 'bad', why: 'another username' };
      const uri = p.get('uri') ?? '';
      if (!parseUri(uri).ok || !/^sips?:/i.test(uri)) return { kind: 'bad', why: 'the digest uri is not a SIP URI' };
      const qop = p.get('qop');
      if (qop !== 'auth') return { kind: 'bad', why: 'qop=auth was asked' };
      const nc = p.get('nc') ?? '';
      const cnonce = p.get('cnonce') ?? '';
      if (!/^[0-9a-fA-F]{8}$/.test(nc) || cnonce === '') return { kind: 'bad', why: 'nc or cnonce missing' };
      const expected = computeDigestResponse({ algorithm, username: credentials.username, realm: this.realm, password: credentials.password, nonce, method, uri, qop, nc, cnonce });
      const got = (p.get('response') ?? '').toLowerCase();
      if (got.length !== expected.length || !timingSafeEqual(Buffer.from(got), Buffer.from(expected))) return { kind: 'bad', why: 'wrong credentials' };
      if (this.now() - issued > NONCE_TTL_MS) return { kind: 'stale' };
      const count = Number.parseInt(nc, 16);
      if (count <= (this.#counts.get(nonce) ?? 0)) return { kind: 'bad', why: 'replayed (nc did not rise)' };
      this.#counts.delete(nonce);
      this.#counts.set(nonce, count);
      if (this.#counts.size > MAX_TRACKED_NONCES) this.#counts.delete(this.#counts.keys().next().value as string);
      return { kind: 'ok' };
    }
    return { kind: 'absent' };
  }

  #nonce(at: number): string {
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(Math.floor(at)));
    return Buffer.concat([ts, this.#mac(ts)]).toString('base64url');
  }

  /** When the nonce was issued, if it is one of ours. */
  #issuedAt(nonce: string): number | undefined {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 24) return undefined;
    const ts = raw.subarray(0, 8);
    const mac = raw.subarray(8);
    if (!timingSafeEqual(mac, this.#mac(ts))) return undefined;
    return Number(ts.readBigUInt64BE());
  }

  #mac(ts: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(this.realm).update(ts).digest().subarray(0, 16);
  }
}
