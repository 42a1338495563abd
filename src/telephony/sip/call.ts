/**
 * One outbound call (the UAC core of RFC 3261 §13.2 for a single INVITE): sends the INVITE, follows
 * provisional and final responses, answers digest challenges, CANCELs (§9.1), ACKs 2xx (§13.2.2.4), hangs
 * up with BYE (§15.1.1). Requests the far end sends inside the dialog are handled by call-requests.ts.
 */
import { NamedTimers } from '../../time/named-timers.js';
import { buildCancel, makeRequest } from './builder.js';
import { ALLOW, type CallEvent, type CallHost, type DialOptions, type EndedBy, type EndedEvent, type SipTarget } from './call-types.js';
import { handleInDialogRequest, type InDialogContext } from './call-requests.js';
import type { ClientTxEvent, InviteClientTransaction } from './client-transaction.js';
import { Dialog } from './dialog.js';
import { DigestClient } from './digest.js';
import { DigestRetry } from './digest-retry.js';
import { SipHeaders, type HeaderField } from './headers.js';
import { newBranch, newCallId, newTag } from './ids.js';
import type { SipRequest, SipResponse } from './message.js';
import { mapOutcome } from './outcome.js';
import { StateMachine } from './state.js';
import type { IncomingRequest } from './transaction-layer.js';
import { hopProtocol, isSips, refusingTlsTransport, targetFor } from './secure-hop.js';
import { defaultPort, toProtocol, type SendTarget, type SipTransport } from './transport.js';
import { parseUri, serializeUri, type SipUri } from './uri.js';

export type CallState = 'calling' | 'ringing' | 'canceling' | 'answered' | 'terminating' | 'ended';

/** Headers the UA owns; a custom header may not override them. */
const RESERVED = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'contact', 'content-length', 'content-type', 'max-forwards', 'route', 'record-route', 'authorization', 'proxy-authorization']);
const TOKEN = /^[A-Za-z0-9!%*+._`'~-]+$/;


export class OutboundCall {
  readonly callId: string;
  readonly sm = new StateMachine<CallState>('call', 'calling', {
    calling: ['calling', 'ringing', 'canceling', 'answered', 'ended'],
    ringing: ['ringing', 'calling', 'canceling', 'answered', 'ended'],
    canceling: ['terminating', 'ended'],
    answered: ['terminating', 'ended'],
    terminating: ['ended'],
    ended: [],
  });
  /** Every event emitted so far, in order. */
  readonly history: CallEvent[] = [];
  /** Resolves once, with the ended event. Never rejects. */
  readonly ended: Promise<EndedEvent>;

  private resolveEnded: (e: EndedEvent) => void = () => undefined;
  private readonly listeners = new Set<(ev: CallEvent) => void>();
  private readonly fromTag = newTag();
  private readonly fromAddr: string;
  private readonly toAddr: string;
  private readonly requestUri: string;
  private readonly proxyRoute: string | undefined;
  private readonly transport: SipTransport;
  private readonly dest: SendTarget;
  /** A sips: target: TLS on every hop, sips: Contact (RFC 3261 §26.2.2, §8.1.1.8). */
  private readonly secure: boolean;
  private readonly digest = new DigestClient();
  /** The INVITE's retry lives as long as the call: each retry is a new INVITE of the same call. */
  private readonly inviteAuth: DigestRetry;
  private readonly timers: NamedTimers;
  private invite: SipRequest;
  private inviteTx: InviteClientTransaction | undefined;
  private cseq = 1;
  private provisional = false;
  private cancelSent = false;
  private canceledBy: 'local' | 'ring-timeout' | undefined;
  private answered = false;
  private ack: { request: SipRequest; transport: SipTransport; dest: SendTarget } | undefined;
  private localSdp: string;
  dialog: Dialog | undefined;

  constructor(
    private readonly host: CallHost,
    private readonly opts: DialOptions,
  ) {
    this.timers = new NamedTimers(host.clock);
    const protocol = opts.localTransport?.protocol ?? toProtocol(opts.outboundProxy?.transport ?? opts.trunk.transport ?? 'udp');
    const transport = opts.localTransport ?? host.transportFor(protocol);
    if (!transport) throw new TypeError(`no ${protocol} transport configured on this user agent`);
    this.transport = transport;
    validateOptions(opts);
    const hop = opts.outboundProxy ?? opts.trunk;
    this.dest = targetFor({ host: hop.host, port: hop.port ?? defaultPort(protocol) }, protocol, opts.tls?.ca);
    this.requestUri = targetUri(opts.to, opts.trunk);
    this.secure = isSips(this.requestUri);
    if (this.secure && protocol !== 'TLS') {
      throw new TypeError(`a sips: target needs TLS on every hop (RFC 3261 §26.2.2); the first hop is ${protocol}`);
    }
    const fromUri = targetUri(opts.from, opts.trunk);
    this.fromAddr = `${opts.callerIdName !== undefined ? `"${opts.callerIdName.replace(/["\\]/g, (c) => `\\${c}`)}" ` : ''}<${fromUri}>;tag=${this.fromTag}`;
    this.toAddr = `<${this.requestUri}>`;
    this.proxyRoute = opts.outboundProxy
      ? this.secure
        ? `<sips:${opts.outboundProxy.host}:${this.dest.port};lr>`
        : `<sip:${opts.outboundProxy.host}:${this.dest.port};lr${protocol === 'UDP' ? '' : `;transport=${protocol.toLowerCase()}`}>`
      : undefined;
    this.callId = newCallId(transport.local.host);
    this.localSdp = opts.sdpOffer;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    this.invite = this.buildInvite([]);
    // A stale nonce (RFC 7616 §3.3) earns the INVITE a second retry.
    this.inviteAuth = this.digestRetry(2);
  }

  get state(): CallState {
    return this.sm.state;
  }

  /** Subscribes to events; returns an unsubscribe function. */
  on(listener: (ev: CallEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first event of that type (from history if it already happened); rejects if the call ends first. */
  waitFor<T extends CallEvent['type']>(type: T): Promise<Extract<CallEvent, { type: T }>> {
    const seen = this.history.find((e): e is Extract<CallEvent, { type: T }> => e.type === type);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const off = this.on((e) => {
        if (e.type === type) {
          off();
          resolve(e as Extract<CallEvent, { type: T }>);
        } else if (e.type === 'ended') {
          off();
          reject(new Error(`call ended (${e.outcome}, ${e.sipStatusCode}) before ${type}`));
        }
      });
    });
  }

  /** Called by the user agent right after construction. */
  start(): void {
    this.setTimer('ring', this.opts.ringTimeoutMs, () => this.requestCancel('ring-timeout'));
    this.sendInvite();
  }

  /** CANCEL before answer (§9.1); after answer it is a hangup. */
  cancel(): Promise<EndedEvent> {
    if (this.sm.is('answered')) return this.hangup();
    this.requestCancel('local');
    return this.ended;
  }

  /** BYE after answer (§15.1.1); before answer it is a cancel. */
  hangup(): Promise<EndedEvent> {
    if (this.sm.is('calling', 'ringing')) return this.cancel();
    this.beginHangup('local', 'BYE');
    return this.ended;
  }

  private beginHangup(by: EndedBy, reason: string): void {
    if (!this.sm.is('answered')) return;
    this.sm.to('terminating');
    this.sendBye((status) => this.end(200, `${reason} (BYE answered ${status})`, by));
  }

  /** INFO in the dialog (RFC 6086), e.g. application/dtmf-relay. Resolves with the final status. */
  sendInfo(body: string, contentType = 'application/dtmf-relay'): Promise<number> {
    return this.requestInDialog('INFO', { body, contentType });
  }

  /** Blind transfer with REFER (RFC 3515). Resolves with the REFER's final status (202 = accepted); progress arrives as transfer-progress events. */
  transfer(target: string): Promise<number> {
    const uri = parseUri(target);
    if (!uri.ok) return Promise.reject(new TypeError(`bad transfer target: ${uri.error.message}`));
    const referredBy = targetUri(this.opts.from, this.opts.trunk);
    return this.requestInDialog('REFER', { extra: [{ name: 'Refer-To', value: `<${serializeUri(uri.value)}>` }, { name: 'Referred-By', value: `<${referredBy}>` }] });
  }

  /** Hard stop without signalling (user agent shutdown). */
  abort(reason: string): void {
    this.inviteTx?.abort();
    this.end(503, reason, 'error');
    this.timers.clearAll();
  }

  // ---- INVITE client side ----

  private viaHeader(t: SipTransport): string {
    // RFC 3581: rport asks the far end to answer to the source port it saw (NAT-safe). RFC 5923 §5:
    // on a stream, alias asks it to send its own requests for our sent-by on this connection too.
    return `SIP/2.0/${t.protocol} ${t.local.host}:${t.local.port};branch=${newBranch()};rport${t.reliable ? ';alias' : ''}`;
  }

  contactHeader(t: SipTransport = this.transport): string {
    const user = parseUri(targetUri(this.opts.from, this.opts.trunk));
    const u = user.ok && user.value.user !== undefined ? `${user.value.user}@` : '';
    // §8.1.1.8: a sips: Request-URI needs a sips: Contact (TLS implied, no transport parameter, RFC 5630 §3.1.1).
    // Behind a NAT, the address the trunk sees us at (learned by our registration with it).
    const at = this.host.seenAs(this.dest.host, t) ?? t.local;
    if (this.secure) return `<sips:${u}${at.host}:${at.port}>`;
    return `<sip:${u}${at.host}:${at.port}${t.protocol === 'UDP' ? '' : `;transport=${t.protocol.toLowerCase()}`}>`;
  }

  private buildInvite(auth: readonly HeaderField[]): SipRequest {
    const h = new SipHeaders();
    h.append('Via', this.viaHeader(this.transport));
    if (this.proxyRoute !== undefined) h.append('Route', this.proxyRoute);
    h.append('Max-Forwards', '70');
    h.append('From', this.fromAddr);
    h.append('To', this.toAddr);
    h.append('Call-ID', this.callId);
    h.append('CSeq', `${this.cseq} INVITE`);
    h.append('Contact', this.contactHeader());
    h.append('Allow', ALLOW);
    h.append('User-Agent', this.host.userAgentName);
    for (const c of this.opts.customHeaders ?? []) h.append(c.name, c.value);
    for (const a of auth) h.append(a.name, a.value);
    h.append('Content-Type', 'application/sdp');
    return makeRequest('INVITE', this.requestUri, h, this.opts.sdpOffer);
  }

  private sendInvite(): void {
    const tx = this.host.layer.sendRequest(this.invite, this.transport, this.dest, (ev) => this.onInviteEvent(tx, ev));
    this.inviteTx = tx as InviteClientTransaction;
  }

  private onInviteEvent(tx: unknown, ev: ClientTxEvent): void {
    if (ev.type === 'response' && ev.response.status >= 200 && ev.response.status < 300) {
      this.on2xx(ev.response);
      return;
    }
    if (tx !== this.inviteTx || this.sm.is('ended')) return;
    switch (ev.type) {
      case 'timeout':
        // Timer B (§17.1.1.2): treated as 408 (§8.1.3.1).
        this.end(408, 'no response (Timer B)', this.canceledBy === 'local' ? 'local' : 'timeout');
        return;
      case 'transport-error':
        // §8.1.3.1: a transport failure is treated as 503.
        this.end(503, `transport error: ${ev.error.message}`, 'error');
        return;
      case 'response':
        if (ev.response.status < 200) this.onProvisional(ev.response);
        else this.onFailure(ev.response);
    }
  }

  private onProvisional(res: SipResponse): void {
    this.provisional = true;
    if (res.status === 100) {
      if (!this.history.some((e) => e.type === 'trying')) this.emit({ type: 'trying' });
    } else if (this.sm.is('calling', 'ringing')) {
      this.sm.to('ringing');
      const hasSdp = res.body.trim() !== '';
      this.emit({ type: 'ringing', statusCode: res.status, earlyMedia: hasSdp, ...(hasSdp ? { remoteSdp: res.body } : {}) });
    }
    // §9.1: a CANCEL we postponed until a provisional response can go now.
    if (this.canceledBy !== undefined && !this.cancelSent) this.sendCancel();
  }

  private onFailure(res: SipResponse): void {
    if (this.retryWithAuth(res)) return;
    const by: EndedBy = this.canceledBy === 'local' ? 'local' : this.canceledBy === 'ring-timeout' ? 'timeout' : 'remote';
    this.end(res.status, res.reason, by);
  }

  /**
   * §22.2: answer a 401/407 with credentials in a new INVITE (CSeq + 1, same Call-ID and From tag,
   * new branch). Not once we are cancelling: then a challenge just ends the call we were giving up.
   */
  private retryWithAuth(res: SipResponse): boolean {
    if (this.canceledBy !== undefined) return false;
    const auth = this.inviteAuth.answer(res, 'INVITE', this.requestUri, this.opts.sdpOffer);
    if (!auth) return false;
    this.cseq++;
    this.invite = this.buildInvite([auth]);
    this.provisional = false;
    if (this.sm.is('ringing')) this.sm.to('calling');
    this.sendInvite();
    return true;
  }

  private requestCancel(why: 'local' | 'ring-timeout'): void {
    if (this.canceledBy !== undefined || !this.sm.is('calling', 'ringing')) return;
    this.canceledBy = why;
    this.clearTimer('ring');
    this.sm.to('canceling');
    // §9.1: CANCEL only after a provisional response; otherwise wait for one (or for Timer B).
    if (this.provisional) this.sendCancel();
  }

  private sendCancel(): void {
    this.cancelSent = true;
    const cancel = buildCancel(this.invite);
    this.host.layer.sendRequest(cancel, this.transport, this.dest, (ev) => {
      if (ev.type !== 'response') this.host.logger.warn({ callId: this.callId, ev: ev.type }, 'CANCEL got no response');
    });
    // §9.1: without a final response 64*T1 after the CANCEL, the INVITE transaction is given up.
    this.setTimer('cancel-guard', 64 * this.host.timers.T1, () => {
      this.inviteTx?.abort();
      this.end(408, 'no final response after CANCEL', this.canceledBy === 'local' ? 'local' : 'timeout');
    });
  }

  private on2xx(res: SipResponse): void {
    const toTag = res.core.to.params.get('tag');
    if (this.dialog && toTag === this.dialog.remoteTag) {
      // §13.2.2.4: every retransmitted 2xx is ACKed again with the same ACK.
      if (this.ack) this.sendStateless(this.ack.request, this.ack.transport, this.ack.dest);
      return;
    }
    if (this.dialog || this.sm.is('ended', 'terminating')) {
      // A 2xx from another fork, or one arriving after we gave up: ACK it, then BYE it (§13.2.2.4).
      this.ackAndBye(res);
      return;
    }
    const d = Dialog.fromResponse(this.invite, res, { lenientContact: true });
    if (!d.ok) {
      this.host.logger.warn({ callId: this.callId, error: d.error }, '2xx without a To tag');
      this.end(res.status, `unusable 2xx: ${d.error.message}`, 'error');
      return;
    }
    this.dialog = d.value;
    this.ack = this.buildAck(d.value);
    this.sendStateless(this.ack.request, this.ack.transport, this.ack.dest);
    this.clearTimer('ring');
    this.clearTimer('cancel-guard');
    if (this.canceledBy !== undefined) {
      // CANCEL lost the race with the 2xx (§9.1): the call was answered, so end it with a BYE.
      this.sm.to('terminating');
      const by: EndedBy = this.canceledBy === 'local' ? 'local' : 'timeout';
      this.sendBye(() => this.end(res.status, 'answered after CANCEL; hung up', by));
      return;
    }
    this.answered = true;
    this.sm.to('answered');
    this.emit({ type: 'answered', remoteSdp: res.body });
  }

  /** §13.2.2.4: the ACK for a 2xx is a new request in the dialog: new branch, the INVITE's CSeq number. */
  private buildAck(d: Dialog): { request: SipRequest; transport: SipTransport; dest: SendTarget } {
    const hop = this.hopFor(d.nextHop());
    const request = d.buildRequest('ACK', { via: this.viaHeader(hop.transport), cseq: this.invite.core.cseq.seq });
    return { request, ...hop };
  }

  private ackAndBye(res: SipResponse): void {
    const d = Dialog.fromResponse(this.invite, res, { lenientContact: true });
    if (!d.ok) return;
    const ack = this.buildAck(d.value);
    this.sendStateless(ack.request, ack.transport, ack.dest);
    const hop = this.hopFor(d.value.nextHop());
    const bye = d.value.buildRequest('BYE', { via: this.viaHeader(hop.transport) });
    this.host.layer.sendRequest(bye, hop.transport, hop.dest, (ev) => {
      const result = ev.type === 'response' ? ev.response.status : ev.type;
      this.host.logger.debug({ callId: this.callId, result }, 'BYE for an unwanted 2xx completed');
    });
  }

  private sendBye(done: (status: number) => void): void {
    const d = this.dialog;
    if (!d) return;
    const hop = this.hopFor(d.nextHop());
    const bye = d.buildRequest('BYE', { via: this.viaHeader(hop.transport) });
    this.host.layer.sendRequest(bye, hop.transport, hop.dest, (ev) => {
      // §15.1.1: the session ends whatever the BYE's final response; timeouts and errors end it too.
      if (ev.type === 'response' && ev.response.status < 200) return;
      d.sm.to('terminated');
      done(ev.type === 'response' ? ev.response.status : ev.type === 'timeout' ? 408 : 503);
    });
  }

  // ---- in-dialog requests we send ----

  private requestInDialog(method: string, o: { body?: string; contentType?: string; extra?: HeaderField[] }): Promise<number> {
    const d = this.dialog;
    if (!d || !this.sm.is('answered')) return Promise.reject(new Error(`${method} needs an answered call (state ${this.sm.state})`));
    return new Promise((resolve) => {
      // §22.2 for a request inside the dialog: answered once; the retry is a new request (CSeq + 1).
      const auth = this.digestRetry(1);
      const send = (authHeaders: HeaderField[]): void => {
        const hop = this.hopFor(d.nextHop());
        const contact = method === 'REFER' ? this.contactHeader(hop.transport) : undefined;
        const req = d.buildRequest(method, {
          via: this.viaHeader(hop.transport),
          ...(contact !== undefined ? { contact } : {}),
          extra: [...(o.extra ?? []), ...authHeaders],
          ...(o.body !== undefined ? { body: o.body } : {}),
          ...(o.contentType !== undefined ? { contentType: o.contentType } : {}),
        });
        this.host.layer.sendRequest(req, hop.transport, hop.dest, (ev) => {
          if (ev.type === 'response') {
            const s = ev.response.status;
            if (s < 200) return;
            const answer = auth.answer(ev.response, method, req.uri, o.body ?? '');
            if (answer) {
              send([answer]);
              return;
            }
            // §12.2.1.2: 481 or 408 to an in-dialog request ends the dialog.
            if (s === 481 || s === 408) this.beginHangup('error', `${method} got ${s}`);
            resolve(s);
          } else {
            this.beginHangup('error', `${method} ${ev.type}`);
            resolve(ev.type === 'timeout' ? 408 : 503);
          }
        });
      };
      send([]);
    });
  }

  // ---- requests from the far end ----

  handleRequest(inc: IncomingRequest): void {
    handleInDialogRequest(this.inDialogContext(), inc);
  }

  private inDialogContext(): InDialogContext {
    return {
      host: this.host,
      dialog: this.dialog,
      state: this.sm.state,
      localSdp: this.localSdp,
      onReinvite: this.opts.onReinvite,
      contact: (t) => this.contactHeader(t),
      setLocalSdp: (sdp) => {
        this.localSdp = sdp;
      },
      emit: (ev) => this.emit(ev),
      remoteBye: () => this.end(200, 'BYE from remote', 'remote'),
      hangupAfterFailure: (reason) => this.beginHangup('error', reason),
      isOver: () => this.sm.is('ended', 'terminating'),
      timerOwner: this.timerOwner,
    };
  }

  /** Timers of in-dialog server logic (2xx retransmission) registered here so end() clears them. */
  private readonly timerOwner = {
    set: (name: string, ms: number, fn: () => void) => this.setTimer(name, ms, fn),
    clear: (name: string) => this.clearTimer(name),
  };

  /** A 2xx for our INVITE arrived after the transaction was gone (RFC 3261 §13.2.2.4 / stray): re-ACK. */
  handleStray2xx(res: SipResponse): void {
    if (res.core.cseq.method === 'INVITE' && res.core.cseq.seq === this.invite.core.cseq.seq) this.on2xx(res);
  }

  // ---- plumbing ----

  private digestRetry(maxRetries: number): DigestRetry {
    return new DigestRetry(this.digest, this.opts.credentials, maxRetries, (error) =>
      this.host.logger.warn({ error, callId: this.callId }, 'ignoring unusable digest challenge'),
    );
  }

  hopFor(uri: SipUri): { transport: SipTransport; dest: SendTarget } {
    const wanted = hopProtocol(uri, this.secure, this.transport.protocol);
    const found = this.host.transportFor(wanted);
    // TLS is never traded for a weaker transport: without one, the hop fails like a broken connection.
    const transport = found ?? (wanted === 'TLS' ? refusingTlsTransport(this.transport.local) : this.transport);
    const host = uri.params.get('maddr') ?? uri.host;
    return { transport, dest: targetFor({ host, port: uri.port ?? defaultPort(transport.protocol) }, transport.protocol, this.opts.tls?.ca) };
  }

  private sendStateless(msg: SipRequest, transport: SipTransport, dest: SendTarget): void {
    this.host.layer.sendStateless(msg, transport, dest).then(undefined, (err: unknown) => {
      this.host.logger.warn({ err, callId: this.callId, method: msg.method }, 'SIP send failed');
      if (msg.method === 'ACK' && this.sm.is('answered')) this.end(503, 'transport error sending ACK', 'error');
    });
  }

  private setTimer(name: string, ms: number, fn: () => void): void {
    this.timers.set(name, ms, fn);
  }

  private clearTimer(name: string): void {
    this.timers.clear(name);
  }

  private emit(ev: CallEvent): void {
    this.history.push(ev);
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch (err) {
        this.host.logger.error({ err, callId: this.callId, event: ev.type }, 'call event listener threw');
      }
    }
  }

  private end(sipStatusCode: number, reason: string, by: EndedBy): void {
    if (this.sm.is('ended')) return;
    this.sm.to('ended');
    this.timers.clearAll();
    const outcome = mapOutcome({ answered: this.answered, sipStatusCode, canceledBy: this.canceledBy });
    const ev: EndedEvent = { type: 'ended', sipStatusCode, reason, by, outcome };
    this.host.logger.info({ callId: this.callId, sipStatusCode, reason, by, outcome }, 'call ended');
    this.emit(ev);
    this.resolveEnded(ev);
    // Linger 64*T1 so retransmitted 2xx are still re-ACKed and late requests answered (§13.2.2.4).
    this.setTimer('linger', 64 * this.host.timers.T1, () => this.host.release(this.callId, this));
  }
}

/** sip:/sips:/tel: URIs pass through; anything else is a user part (E.164 number) at the trunk host. */
export function targetUri(to: string, trunk: SipTarget): string {
  if (/^(sips?|tel):/i.test(to)) {
    const u = parseUri(to);
    if (!u.ok) throw new TypeError(`bad SIP URI ${to}: ${u.error.message}`);
    return serializeUri(u.value);
  }
  if (!/^\+?[A-Za-z0-9._~*#-]+$/.test(to)) throw new TypeError(`bad number or user: ${to}`);
  const port = trunk.port !== undefined ? `:${trunk.port}` : '';
  const uri = `sip:${to}@${trunk.host}${port}`;
  if (!parseUri(uri).ok) throw new TypeError(`bad trunk host: ${trunk.host}`);
  return uri;
}

function validateOptions(o: DialOptions): void {
  for (const c of o.customHeaders ?? []) {
    if (!TOKEN.test(c.name) || RESERVED.has(c.name.toLowerCase())) throw new TypeError(`custom header not allowed: ${c.name}`);
    // Header injection guard: a value may not contain line breaks.
    if (/[\r\n]/.test(c.value)) throw new TypeError(`custom header ${c.name} contains a line break`);
  }
  if (o.callerIdName !== undefined && /[\r\n]/.test(o.callerIdName)) throw new TypeError('callerIdName contains a line break');
  if (!Number.isFinite(o.ringTimeoutMs) || o.ringTimeoutMs <= 0) throw new TypeError('ringTimeoutMs must be > 0');
}

