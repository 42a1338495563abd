/**
 * The user agent: owns transports and the transaction layer, dials outbound calls and dispatches
 * incoming requests and stray responses to them. Out-of-dialog INVITEs are refused with 403 unless
 * an onInvite() handler is set (UAS, inbound-call.ts).
 */
import { realClock, type Clock } from '../../time/clock.js';
import { buildResponse } from './builder.js';
import { OutboundCall } from './call.js';
import { ALLOW, type CallHost, type DialOptions } from './call-types.js';
import { InboundCall } from './inbound-call.js';
import { Registration, type RegistrationOptions } from './registration.js';
import { newTag } from './ids.js';
import { silentLogger, type Logger } from './logger.js';
import { mediaTypeOf } from './headers.js';
import type { SipRequest, SipResponse } from './message.js';
import { StreamTransport, type TcpTransportOptions, type TlsTransportOptions } from './stream-transport.js';
import { DEFAULT_TIMERS, type TimerConfig } from './timers.js';
import { TransactionLayer, type IncomingRequest, type TransactionUser } from './transaction-layer.js';
import type { HostPort, SipTransport, TransportProtocol } from './transport.js';
import { UdpTransport, type UdpTransportOptions } from './udp-transport.js';

export interface UserAgentOptions {
  /** Bound transports, shared by every call (first one of each protocol is used). */
  readonly transports: readonly SipTransport[];
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly timers?: Partial<TimerConfig>;
  /** User-Agent header value. */
  readonly userAgentName?: string;
}

export interface UserAgentListenOptions extends Omit<UserAgentOptions, 'transports'> {
  readonly udp?: Omit<UdpTransportOptions, 'logger'>;
  readonly tcp?: TcpTransportOptions;
  readonly tls?: TlsTransportOptions;
}

export interface UserAgentStats {
  /** Live client + server transactions. */
  readonly transactions: number;
  /** Calls not yet ended. */
  readonly activeCalls: number;
  /** Calls ended but still lingering to absorb retransmissions. */
  readonly lingeringCalls: number;
  /** Unparsable datagrams/messages dropped by the transports. */
  readonly dropped: number;
  /** Handler failures (bugs) caught at the transport boundary and logged. */
  readonly internalErrors: number;
}

/** Methods of RFC 3261 and its common extensions: known, though out of a dialog we allow only some (405 for the rest). */
const KNOWN_METHODS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'UPDATE', 'MESSAGE', 'REFER', 'PUBLISH']);

export class UserAgent implements TransactionUser {
  private readonly calls = new Map<string, OutboundCall>();
  private readonly inbound = new Map<string, InboundCall>();
  private readonly registrations = new Set<Registration>();
  /** Our address as peers behind our NAT see it, learned by registrations: peer host -> per transport. */
  private readonly seen = new Map<string, Map<SipTransport, HostPort>>();
  private inviteHandler: ((call: InboundCall) => void) | undefined;
  private readonly host: CallHost;
  private readonly logger: Logger;
  private internalErrors = 0;
  private closed = false;
  readonly layer: TransactionLayer;

  constructor(private readonly opts: UserAgentOptions) {
    const clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger;
    const timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.layer = new TransactionLayer(clock, timers, this.logger);
    this.layer.setUser(this);
    this.host = {
      clock,
      timers,
      logger: this.logger,
      layer: this.layer,
      userAgentName: opts.userAgentName ?? 'Outcall',
      transportFor: (p) => this.transportFor(p),
      seenAs: (host, transport) => this.seen.get(host.toLowerCase())?.get(transport),
      learnSeenAs: (host, transport, address) => {
        const key = host.toLowerCase();
        const m = this.seen.get(key) ?? new Map<SipTransport, HostPort>();
        if (address) m.set(transport, address);
        else m.delete(transport);
        if (m.size > 0) this.seen.set(key, m);
        else this.seen.delete(key);
      },
      release: (callId, owner) => {
        if (this.calls.get(callId) === owner) this.calls.delete(callId);
        if (this.inbound.get(callId) === owner) this.inbound.delete(callId);
      },
    };
    for (const t of opts.transports) {
      t.attach({
        onMessage: (msg, source, transport) => this.guard(() => this.layer.receive(msg, source, transport)),
        onDrop: (error, source) => this.logger.debug({ error, source }, 'dropped unparsable SIP message'),
      });
    }
  }

  /**
   * Refuses new INVITEs from some sources at once, without a transaction or a question to onInvite
   * (TransactionLayer.setInviteScreen): `screen` returns the status for a source to refuse, or undefined.
   */
  screenInvites(screen: ((source: HostPort) => number | undefined) | undefined): void {
    this.layer.setInviteScreen(screen);
  }

  /** Binds the requested transports and returns a user agent using them. */
  static async listen(o: UserAgentListenOptions): Promise<UserAgent> {
    const transports: SipTransport[] = [];
    try {
      if (o.udp) transports.push(await UdpTransport.bind({ ...o.udp, ...(o.logger ? { logger: o.logger } : {}) }));
      if (o.tcp) transports.push(await StreamTransport.tcp({ ...(o.logger ? { logger: o.logger } : {}), ...o.tcp }));
      if (o.tls) transports.push(await StreamTransport.tls({ ...(o.logger ? { logger: o.logger } : {}), ...o.tls }));
    } catch (err) {
      await Promise.all(transports.map((t) => t.close()));
      throw err;
    }
    return new UserAgent({ ...o, transports });
  }

  get transports(): readonly SipTransport[] {
    return this.opts.transports;
  }

  transportFor(protocol: TransportProtocol): SipTransport | undefined {
    return this.opts.transports.find((t) => t.protocol === protocol);
  }

  /** Starts an outbound call. Throws TypeError on invalid options (bad URI, header injection, no transport). */
  dial(options: DialOptions): OutboundCall {
    if (this.closed) throw new Error('user agent closed');
    if (options.localTransport && !this.opts.transports.includes(options.localTransport)) throw new TypeError('localTransport is not one of this user agent\'s transports');
    const call = new OutboundCall(this.host, options);
    this.calls.set(call.callId, call);
    call.start();
    return call;
  }

  /**
   * Keeps a registration with a registrar (registration.ts) until its stop(); the binding's state
   * changes reach opts.onStatus. Throws TypeError on bad options (no transport for the registrar's protocol).
   */
  register(options: RegistrationOptions): Registration {
    if (this.closed) throw new Error('user agent closed');
    for (const r of this.registrations) if (r.ended) this.registrations.delete(r);
    const reg: Registration = new Registration(this.host, {
      ...options,
      onStatus: (s) => {
        if (s.state === 'unregistered') this.registrations.delete(reg);
        options.onStatus(s);
      },
    });
    this.registrations.add(reg);
    reg.start();
    return reg;
  }

  /**
   * Accept incoming calls: every new out-of-dialog INVITE becomes an InboundCall (100 Trying already
   * sent) handed to `handler`, which rings, answers or rejects it. Without a handler they get 403.
   */
  onInvite(handler: ((call: InboundCall) => void) | undefined): void {
    this.inviteHandler = handler;
  }

  stats(): UserAgentStats {
    let active = 0;
    for (const c of this.calls.values()) if (c.state !== 'ended') active++;
    for (const c of this.inbound.values()) if (c.state !== 'ended') active++;
    return {
      transactions: this.layer.size,
      activeCalls: active,
      lingeringCalls: this.calls.size + this.inbound.size - active,
      dropped: this.opts.transports.reduce((n, t) => n + t.stats.dropped, 0),
      internalErrors: this.internalErrors,
    };
  }

  onRequest(inc: IncomingRequest): void {
    const req = inc.request;
    // §8.2.2.3: an option tag in Require we do not support (we support none) is refused with 420 and
    // the tags in Unsupported, in or out of a dialog; never for ACK (no response) or CANCEL (§9.2).
    if (req.method !== 'ACK' && req.method !== 'CANCEL') {
      const required = req.headers.getAll('Require').map((t) => t.trim()).filter((t) => t !== '');
      if (required.length > 0) {
        inc.serverTx?.respond(buildResponse(req, 420, { extra: [{ name: 'Unsupported', value: required.join(', ') }], toTag: newTag() }));
        return;
      }
    }
    const call = this.calls.get(req.core.callId);
    if (call) {
      call.handleRequest(inc);
      return;
    }
    const incoming = this.inbound.get(req.core.callId);
    if (incoming && !isRetriedInvite(req, incoming)) {
      incoming.handleRequest(inc);
      return;
    }
    if (req.method === 'ACK') return;
    const handler = this.inviteHandler;
    if (req.method === 'INVITE' && handler && req.core.to.params.get('tag') === undefined && !this.closed) {
      const refusal = unservableInvite(req);
      if (refusal) {
        inc.serverTx?.respond(buildResponse(req, refusal.status, { extra: [{ name: 'Accept', value: 'application/sdp' }], toTag: newTag(), reason: refusal.reason }));
        return;
      }
      const call = InboundCall.accept(this.host, inc);
      if (!call) return; // answered 400 (no From tag or Contact)
      this.inbound.set(call.callId, call);
      handler(call);
      return;
    }
    const hasToTag = req.core.to.params.get('tag') !== undefined;
    let status: number;
    const extra: { name: string; value: string }[] = [];
    if (hasToTag) status = 481; // §12.2.2: no such dialog.
    else if (req.method === 'OPTIONS') {
      // §11.2: trunks probe liveness with OPTIONS; answer with our capabilities.
      status = 200;
      extra.push({ name: 'Allow', value: ALLOW }, { name: 'Accept', value: 'application/sdp' });
    } else if (req.method === 'INVITE') status = 403; // no onInvite handler: we accept no incoming calls.
    else if (req.method === 'CANCEL') status = 481; // §9.2: nothing to cancel.
    else if (!KNOWN_METHODS.has(req.method)) {
      // §21.5.2: a method we do not recognize (names are case-sensitive: "invite" is one) is 501.
      status = 501;
      extra.push({ name: 'Allow', value: ALLOW });
    } else {
      status = 405;
      extra.push({ name: 'Allow', value: ALLOW });
    }
    inc.serverTx?.respond(buildResponse(req, status, { extra, toTag: newTag() }));
  }

  onStrayResponse(res: SipResponse, source: HostPort): void {
    const call = this.calls.get(res.core.callId);
    if (call && res.status >= 200 && res.status < 300) call.handleStray2xx(res);
    else this.logger.debug({ status: res.status, callId: res.core.callId, source }, 'stray SIP response dropped');
  }

  /** Ends every call without signalling, aborts transactions and closes the transports. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.calls.values()) c.abort('user agent closed');
    for (const c of this.inbound.values()) c.abort('user agent closed');
    for (const r of this.registrations) r.abort();
    this.layer.close();
    await Promise.all(this.opts.transports.map((t) => t.close()));
  }

  /** Transport callbacks run on the event loop: a bug must be logged and counted, never crash the process. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.internalErrors++;
      this.logger.error({ err }, 'SIP message handler failed');
    }
  }
}

/**
 * An INVITE whose session description we cannot read or whose answer we could not write in a type it
 * accepts: §8.2.3, a body of a type other than application/sdp gets 415 (RFC 4475 invut); §21.4.7, an
 * Accept that rules out application/sdp gets 406 (RFC 4475 sdp01). Both say what we take in Accept.
 */
function unservableInvite(req: SipRequest): { status: 415 | 406; reason: string } | undefined {
  const mediaType = mediaTypeOf(req.headers.get('Content-Type'));
  if (req.body.trim() !== '' && mediaType !== 'application/sdp') {
    return { status: 415, reason: `Unsupported Media Type (${mediaType.slice(0, 40) || 'no Content-Type'})` };
  }
  const accept = req.headers.getAll('Accept').flatMap((v) => v.split(',')).map(mediaTypeOf).filter((r) => r !== '');
  // No Accept header means application/sdp (§20.1). An empty one, which §20.1 reads as nothing
  // acceptable, is let through: refusing a call over it would be harsher than any peer sending it means.
  if (accept.length > 0 && !accept.some((r) => r === 'application/sdp' || r === 'application/*' || r === '*/*')) {
    return { status: 406, reason: 'Not Acceptable (we answer in application/sdp)' };
  }
  return undefined;
}

/**
 * An INVITE that starts over a call we refused: same Call-ID and From tag, no To tag, a higher CSeq
 * (the caller answering our 401 challenge, RFC 3261 §22.2, or trying again after a 3xx/5xx). It is
 * a new call (§8.2.2.2 calls only an equal CSeq a merged request), while the refused one lingers for
 * its ACK under the same Call-ID.
 */
function isRetriedInvite(req: SipRequest, previous: InboundCall): boolean {
  return (
    req.method === 'INVITE' &&
    previous.state === 'ended' &&
    req.core.to.params.get('tag') === undefined &&
    req.core.from.params.get('tag') === previous.invite.core.from.params.get('tag') &&
    req.core.cseq.seq > previous.invite.core.cseq.seq
  );
}
