/** Transport layer contract (RFC 3261 §18). Implementations: udp-transport.ts, stream-transport.ts (TCP, TLS). */
import type { SipParseError } from './errors.js';
import type { SipMessage } from './message.js';

export type TransportProtocol = 'UDP' | 'TCP' | 'TLS';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * How a TLS hop's server is authenticated: its certificate must chain to a trusted CA and name the
 * host we dialed (RFC 5922 §7.2 / RFC 6125). UDP and TCP ignore it.
 */
export interface TlsPeer {
  /**
   * The name sent as SNI (RFC 6066 §3) and matched against the certificate. Undefined for an IP
   * literal: SNI carries host names only, and the certificate must then name the address.
   */
  readonly servername: string | undefined;
  /** PEM trust anchors added to the default ones (the CAs Node trusts) for this hop. */
  readonly ca?: string;
}

/** Where a message goes: the address, and for TLS how to authenticate the server there. */
export interface SendTarget extends HostPort {
  readonly tls?: TlsPeer;
}

export interface TransportListener {
  onMessage(message: SipMessage, source: HostPort, transport: SipTransport): void;
  /** An unparsable datagram or stream message was dropped (already counted in stats). */
  onDrop?(error: SipParseError, source: HostPort): void;
}

export interface TransportStats {
  received: number;
  sent: number;
  /** Unparsable datagrams / messages dropped (RFC 3261 §18.3: discarded, never answered). */
  dropped: number;
}

export interface SipTransport {
  readonly protocol: TransportProtocol;
  /** Reliable transports (TCP/TLS) switch retransmission timers off (§17.1.1.2, §17.1.2.2). */
  readonly reliable: boolean;
  /** Address written in Via sent-by and Contact. */
  readonly local: HostPort;
  readonly stats: TransportStats;
  attach(listener: TransportListener): void;
  /** Rejects on a transport error; callers map it to a transaction transport error (§17.1.4). */
  send(data: Buffer, dest: SendTarget): Promise<void>;
  close(): Promise<void>;
}

export function hostPortKey(hp: HostPort): string {
  return `${hp.host.replace(/^\[|\]$/g, '').toLowerCase()}:${hp.port}`;
}

/** Default port per transport (§19.1.2). */
/** A transport name as trunks and dial options spell it (udp, tcp, tls) as the Via spells it. */
export function toProtocol(t: string): TransportProtocol {
  return t === 'tcp' ? 'TCP' : t === 'tls' ? 'TLS' : 'UDP';
}

export function defaultPort(protocol: TransportProtocol): number {
  return protocol === 'TLS' ? 5061 : 5060;
}

/**
 * The address we write in Via and Contact must be reachable by the far end: a wildcard bind address
 * (0.0.0.0, ::) says nothing, so it needs an explicit advertised host.
 */
export function advertisedHost(bindHost: string, advertised: string | undefined): string {
  if (advertised !== undefined) return advertised;
  if (bindHost === '0.0.0.0' || bindHost === '::' || bindHost === '[::]') {
    throw new TypeError(`binding ${bindHost} needs advertisedHost (the address written in Via and Contact)`);
  }
  return bindHost;
}
