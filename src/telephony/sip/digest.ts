/**
 * HTTP Digest for SIP (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760): parse a WWW-/Proxy-Authenticate
 * challenge and build the Authorization / Proxy-Authorization answer. MD5, MD5-sess, SHA-256,
 * SHA-256-sess (and SHA-512-256 per RFC 8760), qop=auth, auth-int, or the legacy no-qop form (RFC 2069).
 */
import { createHash } from 'node:crypto';
import { fail, ok, type Result } from './errors.js';
import { newCnonce } from './ids.js';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

const ALGORITHMS: Record<string, DigestAlgorithm> = {
  md5: 'MD5', 'md5-sess': 'MD5-sess', 'sha-256': 'SHA-256', 'sha-256-sess': 'SHA-256-sess',
  'sha-512-256': 'SHA-512-256', 'sha-512-256-sess': 'SHA-512-256-sess',
};

export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | undefined;
  readonly algorithm: DigestAlgorithm;
  /** qop options offered; empty = legacy RFC 2069 computation. */
  readonly qop: readonly string[];
  /** RFC 2617 §3.2.1: stale=true means the nonce expired but the credentials were right. */
  readonly stale: boolean;
}

export interface DigestCredentials {
  readonly username: string;
  readonly password: string;
}

/** Parses `Digest k=v, k="quoted, value"` auth-params (RFC 7616 §3.3). */
export function parseAuthParams(value: string): Result<{ scheme: string; params: Map<string, string> }> {
  const m = /^\s*([A-Za-z0-9-]+)\s+(.*)$/s.exec(value);
  if (!m) return fail('bad-header', 'challenge without scheme');
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/gy;
  const rest = m[2] ?? '';
  let last = 0;
  for (let mm = re.exec(rest); mm !== null && mm[0] !== ''; mm = re.exec(rest)) {
    const v = mm[2] !== undefined ? mm[2].replace(/\\(.)/g, '$1') : (mm[3] ?? '');
    params.set((mm[1] ?? '').toLowerCase(), v);
    last = re.lastIndex;
  }
  if (rest.slice(last).trim() !== '') return fail('bad-header', `bad auth-params near: ${rest.slice(last, last + 40)}`);
  return ok({ scheme: m[1] ?? '', params });
}

export function parseChallenge(value: string): Result<DigestChallenge> {
  const parsed = parseAuthParams(value);
  if (!parsed.ok) return parsed;
  if (parsed.value.scheme.toLowerCase() !== 'digest') return fail('bad-header', `unsupported auth scheme ${parsed.value.scheme}`);
  const p = parsed.value.params;
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  if (realm === undefined || nonce === undefined) return fail('bad-header', 'challenge lacks realm or nonce');
  const algorithm = ALGORITHMS[(p.get('algorithm') ?? 'MD5').toLowerCase()];
  if (algorithm === undefined) return fail('bad-header', `unsupported digest algorithm ${p.get('algorithm') ?? ''}`);
  const qop = (p.get('qop') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  return ok({ realm, nonce, opaque: p.get('opaque'), algorithm, qop, stale: (p.get('stale') ?? '').toLowerCase() === 'true' });
}

function hashName(alg: DigestAlgorithm): string {
  if (alg.startsWith('MD5')) return 'md5';
  if (alg.startsWith('SHA-512-256')) return 'sha512-256';
  return 'sha256';
}

export function digestHash(alg: DigestAlgorithm, text: string): string {
  return createHash(hashName(alg)).update(text, 'utf8').digest('hex');
}

export interface DigestInput {
  readonly algorithm: DigestAlgorithm;
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  readonly nonce: string;
  readonly method: string;
  readonly uri: string;
  /** 'auth' | 'auth-int' | undefined (legacy). */
  readonly qop: string | undefined;
  readonly nc: string;
  readonly cnonce: string;
  readonly body?: string;
}

/** RFC 7616 §3.4.1-3.4.3 response computation (RFC 2617 §3.2.2.1 for the legacy no-qop form). */
export function computeDigestResponse(i: DigestInput): string {
  const H = (s: string): string => digestHash(i.algorithm, s);
  let ha1 = H(`${i.username}:${i.realm}:${i.password}`);
  // -sess: A1 = H(user:realm:pass):nonce:cnonce (RFC 7616 §3.4.2).
  if (i.algorithm.endsWith('-sess')) ha1 = H(`${ha1}:${i.nonce}:${i.cnonce}`);
  const a2 = i.qop === 'auth-int' ? `${i.method}:${i.uri}:${H(i.body ?? '')}` : `${i.method}:${i.uri}`;
  const ha2 = H(a2);
  if (i.qop === undefined) return H(`${ha1}:${i.nonce}:${ha2}`);
  return H(`${ha1}:${i.nonce}:${i.nc}:${i.cnonce}:${i.qop}:${ha2}`);
}

/** Builds the credentials header value and keeps nonce counts (nc) per nonce (RFC 7616 §3.4). */
export class DigestClient {
  private readonly counts = new Map<string, number>();

  constructor(private readonly cnonce: () => string = newCnonce) {}

  authorize(ch: DigestChallenge, creds: DigestCredentials, method: string, uri: string, body = ''): string {
    const qop = ch.qop.includes('auth') ? 'auth' : ch.qop.includes('auth-int') ? 'auth-int' : undefined;
    const n = (this.counts.get(ch.nonce) ?? 0) + 1;
    this.counts.set(ch.nonce, n);
    const nc = n.toString(16).padStart(8, '0');
    const cnonce = this.cnonce();
    const response = computeDigestResponse({
      algorithm: ch.algorithm, username: creds.username, realm: ch.realm, password: creds.password,
      nonce: ch.nonce, method, uri, qop, nc, cnonce, body,
    });
    const q = (s: string): string => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    const parts = [
      `username=${q(creds.username)}`, `realm=${q(ch.realm)}`, `nonce=${q(ch.nonce)}`, `uri=${q(uri)}`,
      `response=${q(response)}`, `algorithm=${ch.algorithm}`,
    ];
    if (qop !== undefined) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${q(cnonce)}`);
    if (ch.opaque !== undefined) parts.push(`opaque=${q(ch.opaque)}`);
    return `Digest ${parts.join(', ')}`;
  }
}
