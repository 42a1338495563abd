/**
 * Opening an authenticated TLS connection to a SIP server (RFC 3261 §26.2.1, RFC 5922): the
 * certificate must chain to a trusted CA (the ones Node trusts by default, plus the hop's own PEM
 * bundle) and name the host we dialed; SNI carries that name (RFC 6066 §3). A handshake or
 * verification failure becomes an error whose message says what was wrong with the certificate.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { HostPort, TlsPeer } from './transport.js';

/** A handshake that has not finished in this time fails the send (then the transaction: 503, §8.1.3.1). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Codes Node/OpenSSL give when the server's certificate is not acceptable (rather than the network). */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The name to send as SNI and verify: a DNS name; never an IP literal (RFC 6066 §3). */
export function sniFor(host: string): string | undefined {
  const bare = host.replace(/^\[|\]$/g, '');
  return net.isIP(bare) === 0 ? bare : undefined;
}

/** Identifies a set of trust anchors: connections verified under one set are not reused under another. */
export function trustId(ca: string | undefined): string {
  return ca === undefined ? 'default' : createHash('sha256').update(ca).digest('hex').slice(0, 16);
}

/** Node's SecureContext exposes its native context; addCACert adds one PEM certificate to its store. */
interface NativeContext {
  addCACert(pem: string): void;
}

export interface TlsClientIdentity {
  /** A client certificate and key presented when the server asks (mutual TLS). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** Default true; only tests of the transport itself turn it off. */
  readonly rejectUnauthorized?: boolean;
}

const contexts = new Map<string, tls.SecureContext>();
/** Distinct trust sets kept (one per trunk bundle in practice); the oldest goes first past this. */
const MAX_CONTEXTS = 256;

/**
 * The default trust store (Node's bundled roots, NODE_EXTRA_CA_CERTS, the OS store under
 * --use-openssl-ca) plus the given PEM certificates, with our client certificate if any. `ca` as a
 * tls.connect option would replace the defaults instead; adding to a default context copies its
 * store first (Node copies the shared root store on the first addition), so other connections keep
 * the defaults alone. Contexts are cached per trust set and identity.
 */
export function secureContextFor(ca: string | undefined, own: TlsClientIdentity = {}): tls.SecureContext {
  const idKey = own.cert === undefined ? '' : createHash('sha256').update(own.cert).digest('hex').slice(0, 16);
  const id = `${trustId(ca)}/${idKey}`;
  let ctx = contexts.get(id);
  if (!ctx) {
    ctx = tls.createSecureContext(own.cert !== undefined ? { cert: own.cert, ...(own.key !== undefined ? { key: own.key } : {}) } : {});
    const native = (ctx as unknown as { context: NativeContext }).context;
    for (const pem of ca?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) native.addCACert(pem);
    contexts.set(id, ctx);
    if (contexts.size > MAX_CONTEXTS) contexts.delete(contexts.keys().next().value as string);
  }
  return ctx;
}

/** The error a failed handshake rejects with: the certificate's fault said plainly. */
export function handshakeError(err: Error & { code?: string }, dest: HostPort, peer: TlsPeer): Error {
  const where = `${peer.servername ?? dest.host}:${dest.port}`;
  if (err.code !== undefined && CERTIFICATE_CODES.has(err.code)) {
    return Object.assign(new Error(`TLS certificate verification failed for ${where}: ${err.message} (${err.code})`), { code: err.code });
  }
  return Object.assign(new Error(`TLS handshake with ${where} failed: ${err.message}`), err.code !== undefined ? { code: err.code } : {});
}

/** Connects and completes the handshake, or rejects with handshakeError's message. */
export function connectTls(dest: HostPort, peer: TlsPeer, own: TlsClientIdentity = {}, timeoutMs = TLS_HANDSHAKE_TIMEOUT_MS): Promise<tls.TLSSocket> {
  const host = dest.host.replace(/^\[|\]$/g, '');
  const secureContext = secureContextFor(peer.ca, own);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: dest.port,
      // An unauthenticated trunk would get the call's audio and its digest credentials.
      rejectUnauthorized: own.rejectUnauthorized ?? true,
      ...(peer.servername !== undefined ? { servername: peer.servername } : {}),
      secureContext,
    });
    const fail = (err: Error & { code?: string }): void => {
      socket.destroy();
      reject(handshakeError(err, dest, peer));
    };
    socket.once('error', fail);
    socket.setTimeout(timeoutMs, () => fail(Object.assign(new Error(`no handshake within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    socket.once('secureConnect', () => {
      socket.off('error', fail);
      socket.setTimeout(0);
      // The connection outlives calls (reused per destination): TCP keep-alives find a peer that vanished.
      socket.setKeepAlive(true, 30_000);
      resolve(socket);
    });
  });
}
