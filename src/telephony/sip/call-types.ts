/** Public types of an outbound call: dial options and the discriminated-union event stream. */
import type { Clock } from '../../time/clock.js';
import type { DigestCredentials } from './digest.js';
import type { Logger } from './logger.js';
import type { CallOutcome } from './outcome.js';
import type { TimerConfig } from './timers.js';
import type { TransactionLayer } from './transaction-layer.js';
import type { HostPort, SipTransport, TransportProtocol } from './transport.js';

/** Methods we accept inside a dialog (Allow header, §20.5). */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY';

export type TransportName = 'udp' | 'tcp' | 'tls';

export interface SipTarget {
  readonly host: string;
  /** Default 5060 (5061 for TLS). */
  readonly port?: number;
  /** Default udp. */
  readonly transport?: TransportName;
}

export interface CustomHeader {
  /** Must be a token, e.g. X-Campaign-Id; core headers are refused. */
  readonly name: string;
  readonly value: string;
}

/** Answers a re-INVITE's offer (hold/unhold/session refresh). undefined = the re-INVITE carried no SDP. */
export type ReinviteHook = (remoteOffer: string | undefined) => string | Promise<string>;

export interface DialOptions {
  /** sip:/sips:/tel: URI, or an E.164 number / user part dialed as sip:<to>@<trunk.host>. */
  readonly to: string;
  /** sip: URI, or a user part / number sent as sip:<from>@<trunk.host>. */
  readonly from: string;
  readonly callerIdName?: string;
  readonly customHeaders?: readonly CustomHeader[];
  /** Opaque SDP offer carried in the INVITE (Content-Type application/sdp). */
  readonly sdpOffer: string;
  /** CANCEL when nobody answered within this time (outcome no_answer). */
  readonly ringTimeoutMs: number;
  readonly credentials?: DigestCredentials;
  /** Where requests go when there is no outbound proxy; also the host of a bare number. */
  readonly trunk: SipTarget;
  /** Preloaded loose route (RFC 3261 §8.1.2): requests go here with Route: <sip:host:port;lr>. */
  readonly outboundProxy?: SipTarget;
  readonly onReinvite?: ReinviteHook;
  /**
   * TLS hops of this call: PEM trust anchors added to the default CAs (a trunk's own CA). The server's
   * certificate must also name the host dialed (sent as SNI).
   */
  readonly tls?: { readonly ca?: string };
  /**
   * A specific transport of this user agent for the call (one transport per trunk); by default the first
   * transport of the trunk's protocol is shared by all calls.
   */
  readonly localTransport?: SipTransport;
}

export type EndedBy = 'local' | 'remote' | 'timeout' | 'error';

export type CallEvent =
  | { readonly type: 'trying' }
  | { readonly type: 'ringing'; readonly statusCode: number; readonly earlyMedia: boolean; readonly remoteSdp?: string }
  | { readonly type: 'answered'; readonly remoteSdp: string }
  /**
   * A re-INVITE completed (hold/unhold/refresh). With an offer: remoteSdp = their offer, localSdp = our
   * answer from onReinvite. Offerless (§14.2): localSdp = our offer, remoteSdp = the answer from their ACK.
   */
  | { readonly type: 'reinvited'; readonly remoteSdp: string | undefined; readonly localSdp: string }
  | { readonly type: 'info'; readonly contentType: string | undefined; readonly body: string }
  /** NOTIFY with a message/sipfrag body about a REFER we sent (RFC 3515 §2.4.5). */
  | { readonly type: 'transfer-progress'; readonly statusCode: number; readonly final: boolean }
  | {
      readonly type: 'ended';
      /** Final INVITE status (200 for connected calls; 408 Timer B; 503 transport error). */
      readonly sipStatusCode: number;
      readonly reason: string;
      readonly by: EndedBy;
      readonly outcome: CallOutcome;
    };

export type EndedEvent = Extract<CallEvent, { type: 'ended' }>;

/** What an OutboundCall needs from its user agent. */
export interface CallHost {
  readonly clock: Clock;
  readonly timers: TimerConfig;
  readonly logger: Logger;
  readonly layer: TransactionLayer;
  readonly userAgentName: string;
  transportFor(protocol: TransportProtocol): SipTransport | undefined;
  /** Forget a call that ended (after its linger): only if `owner` is still the call under that Call-ID. */
  release(callId: string, owner: object): void;
  /**
   * Where a peer at `host` sees us on `transport`, when a registration with it learned that this is
   * not our own address (received/rport behind a NAT): our Contact towards that peer.
   */
  seenAs(host: string, transport: SipTransport): HostPort | undefined;
  /** A registration learned (or confirmed, undefined) where the peer at `host` sees us. */
  learnSeenAs(host: string, transport: SipTransport, address: HostPort | undefined): void;
}
