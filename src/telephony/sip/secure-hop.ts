/**
 * TLS and sips: for one outbound call. A sips: target asks for TLS on every hop to it (RFC 3261
 * §26.2.2): the first hop must be TLS, the Contact is a sips: URI (§8.1.1.8), and every request in
 * the resulting dialog goes over TLS too, whatever its route says (§12.1.2: the dialog is "secure").
 * A TLS hop carries how to authenticate the server there: the host's name for SNI and verification,
 * and the call's extra trust anchors (the trunk's CA bundle).
 */
import { sniFor } from './tls-connect.js';
import type { HostPort, SendTarget, SipTransport, TransportProtocol } from './transport.js';
import type { SipUri } from './uri.js';

/** Whether a URI (text) is a sips: URI (§19.1). */
export function isSips(uri: string): boolean {
  return /^sips:/i.test(uri);
}

/**
 * The transport protocol of a hop to `uri`: TLS in a secure call and for a sips: URI (§26.2.2);
 * otherwise its transport parameter (§19.1.1), else the call's own.
 */
export function hopProtocol(uri: SipUri, secure: boolean, current: TransportProtocol): TransportProtocol {
  if (secure || uri.scheme === 'sips') return 'TLS';
  const param = uri.params.get('transport')?.toUpperCase();
  return param === 'UDP' || param === 'TCP' || param === 'TLS' ? param : current;
}

/** The destination of a hop: for TLS with the name to verify (SNI) and the call's CA bundle. */
export function targetFor(dest: HostPort, protocol: TransportProtocol, ca: string | undefined): SendTarget {
  if (protocol !== 'TLS') return dest;
  return { ...dest, tls: { servername: sniFor(dest.host), ...(ca !== undefined ? { ca } : {}) } };
}

/**
 * Stands in for the TLS transport a hop needs when the user agent has none: every send fails, so the
 * request ends the way any transport failure does (503, §8.1.3.1) instead of leaving over a transport
 * that breaks the "TLS on every hop" promise of a sips: target.
 */
export function refusingTlsTransport(local: SipTransport['local']): SipTransport {
  return {
    protocol: 'TLS',
    reliable: true,
    local,
    stats: { received: 0, sent: 0, dropped: 0 },
    attach: () => undefined,
    send: () => Promise.reject(new Error('this hop needs TLS (sips:, RFC 3261 §26.2.2) and the user agent has no TLS transport')),
    close: () => Promise.resolve(),
  };
}
