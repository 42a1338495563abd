/**
 * One incoming call: the UAS core of RFC 3261 §13.3 for a single out-of-dialog INVITE. The application
 * decides what to do with it: ringing() (180), answer(sdp) (200, retransmitted until the ACK, §13.3.1.4),
 * reject(code), hangup() (BYE after the ACK, §15). A CANCEL before the final response ends it with 487
 * (§9.2); requests inside the confirmed dialog (BYE, re-INVITE, INFO, OPTIONS) go through the same
 * handler as for outbound calls (call-requests.ts).
 */
import { buildResponse, responseDestination } from './builder.js';
import { ALLOW, type CallEvent, type CallHost, type EndedBy, type ReinviteHook } from './call-types.js';
import { handleInDialogRequest, type InDialogContext } from './call-requests.js';
import { Dialog } from './dialog.js';
import type { HeaderField } from './headers.js';
import { newBranch, newTag } from './ids.js';
import type { SipRequest, SipResponse, Via } from './message.js';
import { InviteServerTransaction } from './server-transaction.js';
import { StateMachine } from './state.js';
import { NamedTimers } from '../../time/named-timers.js';
import type { IncomingRequest } from './transaction-layer.js';
import { defaultPort, type HostPort, type SipTransport, type TransportProtocol } from './transport.js';
import { parseUri, serializeUri, type SipUri } from './uri.js';

/** Reason phrases of the final responses a callee sends (§21), beyond the builder's table. */
const UAS_REASONS: Record<number, string> = {
  480: 'Temporarily Unavailable', 482: 'Loop Detected', 486: 'Busy Here', 487: 'Request Terminated',
  488: 'Not Acceptable Here', 500: 'Server Internal Error', 503: 'Service Unavailable', 600: 'Busy Everywhere',
  603: 'Decline', 604: 'Does Not Exist Anywhere', 404: 'Not Found',
};

export type InboundCallState = 'offered' | 'ringing' | 'answering' | 'confirmed' | 'terminating' | 'ended';

export interface InboundEnded {
  readonly type: 'ended';
  /** Our final response to the INVITE (200 for calls that were answered, 487 when the caller canceled). */
  readonly sipStatusCode: number;
  readonly reason: string;
  /** local: we rejected or hung up; remote: the caller canceled or sent BYE; timeout: no ACK for our 2xx. */
  readonly by: EndedBy;
  /** A 2xx was sent (the call was connected, even if the ACK never came). */
  readonly answered: boolean;
}

export type InboundEvent =
  /** The ACK for our 2xx arrived (§13.3.1.4); ackSdp is the answer when the INVITE carried no offer. */
  | { readonly type: 'confirmed'; readonly ackSdp: string | undefined }
  | Extract<CallEvent, { type: 'info' | 'reinvited' | 'transfer-progress' }>
  | InboundEnded;

export class InboundCall {
  readonly callId: string;
  readonly invite: SipRequest;
  readonly sm = new StateMachine<InboundCallState>('inbound call', 'offered', {
    offered: ['ringing', 'answering', 'ended'],
    ringing: ['ringing', 'answering', 'ended'],
    answering: ['confirmed', 'terminating', 'ended'],
    confirmed: ['terminating', 'ended'],
    terminating: ['ended'],
    ended: [],
  });
  /** Resolves once, with the ended event. Never rejects. */
  readonly ended: Promise<InboundEnded>;
  /** Answers re-INVITEs in the confirmed dialog (hold/unhold/refresh); without it our last SDP is repeated. */
  onReinvite: ReinviteHook | undefined;

  private resolveEnded: (e: InboundEnded) => void = () => undefined;
  private readonly listeners = new Set<(ev: InboundEvent) => void>();
  private readonly timers: NamedTimers;
  private readonly tx: InviteServerTransaction;
  private readonly transport: SipTransport;
  private readonly sourceHop: HostPort;
  private readonly responseDest: HostPort;
  private readonly dialog: Dialog;
  private localSdp = '';
  private answeredFlag = false;
  private hangupPending = false;

  /**
   * Validates what a dialog needs (§12.1.1: From tag, Contact) and answers 400 when it is missing;
   * otherwise sends 100 Trying at once (§17.2.1: the application may take longer than 200 ms).
   */
  static accept(host: CallHost, inc: IncomingRequest): InboundCall | undefined {
    const tx = inc.serverTx;
    if (!(tx instanceof InviteServerTransaction)) return undefined;
    const localTag = newTag();
    const d = Dialog.fromIncomingInvite(inc.request, localTag);
    if (!d.ok) {
      tx.respond(buildResponse(inc.request, 400, { toTag: localTag, reason: `Bad Request (${d.error.message})` }));
      return undefined;
    }
    tx.respond(buildResponse(inc.request, 100));
    return new InboundCall(host, inc, tx, d.value);
  }

  private constructor(
    private readonly host: CallHost,
    inc: IncomingRequest,
    tx: InviteServerTransaction,
    dialog: Dialog,
  ) {
    this.invite = inc.request;
    this.callId = inc.request.core.callId;
    this.tx = tx;
    this.transport = inc.transport;
    this.sourceHop = inc.source;
    this.dialog = dialog;
    this.responseDest = responseDestination(inc.request.core.vias[0] as Via, inc.source, inc.transport.reliable);
    this.timers = new NamedTimers(host.clock);
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    tx.onAckTimeout = () => host.logger.debug({ callId: this.callId }, 'no ACK for our final non-2xx (Timer H)');
  }

  /** Our To tag (§12.1.1), chosen when the INVITE arrived. */
  get localTag(): string {
    return this.dialog.localTag;
  }

  get state(): InboundCallState {
    return this.sm.state;
  }

  /** The user part of the Request-URI: the number the caller dialed. */
  get dialed(): string {
    const u = parseUri(this.invite.uri);
    return u.ok ? (u.value.user ?? '') : '';
  }

  /** Where the INVITE came from (its packet's source, not its Via): who is calling in, for the allowlist. */
  get source(): { host: string; port: number; transport: string } {
    return { host: this.sourceHop.host, port: this.sourceHop.port, transport: this.transport.protocol };
  }

  /** The INVITE's Authorization values (answers to a challenge of ours, §22.2), in order. */
  get authorization(): string[] {
    return this.invite.headers.getAll('Authorization');
  }

  /** The To URI's user: some carriers put the dialed number there and a trunk id in the Request-URI. */
  get toUser(): string {
    return this.invite.core.to.uri.user ?? '';
  }

  /** The caller's display name in From, if any. */
  get callerName(): string | undefined {
    return this.invite.core.from.displayName;
  }

  /** The caller's From URI user (their number), '' when absent. */
  get caller(): string {
    return this.invite.core.from.uri.user ?? '';
  }

  /** The SDP offer of the INVITE, undefined for an offerless INVITE (§14.2: the offer then goes in our 2xx). */
  get remoteSdp(): string | undefined {
    return this.invite.body.trim() !== '' ? this.invite.body : undefined;
  }

  on(listener: (ev: InboundEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** 180 Ringing; creates the early dialog on the caller's side (§12.1.1: To tag and Contact). */
  ringing(): void {
    if (!this.sm.is('offered', 'ringing')) return;
    this.sm.to('ringing');
    this.tx.respond(this.response(180, [{ name: 'Contact', value: this.contact() }]));
  }

  /**
   * 183 Session Progress with our SDP answer: early media (RFC 3960 §3.1, the gateway model). Sent
   * unreliably (no 100rel); the 2xx must carry the same answer (RFC 3261 §13.3.1.1 "SHOULD").
   */
  progress(sdp: string): void {
    if (!this.sm.is('offered', 'ringing')) return;
    if (this.sm.is('offered')) this.sm.to('ringing');
    this.tx.respond(this.response(183, [
      { name: 'Contact', value: this.contact() },
      { name: 'Content-Type', value: 'application/sdp' },
    ], sdp));
  }

  /** 200 OK with our SDP; retransmitted T1, 2T1, ... T2 until the ACK arrives (§13.3.1.4). */
  answer(sdp: string): void {
    if (!this.sm.is('offered', 'ringing')) throw new Error(`answer() in state ${this.sm.state}`);
    this.sm.to('answering');
    this.answeredFlag = true;
    this.localSdp = sdp;
    this.dialog.sm.to('confirmed');
    const ok = this.response(200, [
      { name: 'Contact', value: this.contact() },
      { name: 'Allow', value: ALLOW },
      { name: 'Content-Type', value: 'application/sdp' },
    ], sdp);
    this.tx.respond(ok);
    const { T1, T2 } = this.host.timers;
    const retransmit = (interval: number): void => {
      this.timers.set('2xx', interval, () => {
        this.host.layer.sendStateless(ok, this.transport, this.responseDest).then(undefined, (err: unknown) => this.host.logger.warn({ err, callId: this.callId }, '2xx retransmission failed'));
        retransmit(Math.min(2 * interval, T2));
      });
    };
    if (!this.transport.reliable) retransmit(T1);
    // §13.3.1.4: no ACK within 64*T1 -> the dialog is confirmed but the session SHOULD be ended with BYE.
    this.timers.set('ack-wait', 64 * T1, () => {
      this.timers.clear('2xx');
      if (!this.sm.is('answering')) return;
      this.sm.to('terminating');
      this.sendBye(() => this.end(200, 'no ACK for our 2xx', 'timeout'));
    });
  }

  /**
   * A final non-2xx (300-699) to the INVITE; the transaction retransmits it until the ACK (Timer G/H).
   * `extra`: e.g. WWW-Authenticate with a 401 (§22.1), Retry-After with a 503 (§20.33).
   */
  reject(status: number, reason?: string, extra: readonly HeaderField[] = []): void {
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new RangeError(`reject() needs a final non-2xx status, got ${status}`);
    if (!this.sm.is('offered', 'ringing')) return;
    this.tx.respond(this.response(status, [...extra], undefined, reason));
    this.end(status, reason ?? `rejected with ${status}`, 'local');
  }

  /**
   * BYE once the dialog is confirmed (§15: the callee MUST NOT send BYE before the ACK, or before the
   * 2xx retransmissions gave up); before answer it is a rejection with 480 Temporarily Unavailable.
   */
  hangup(): Promise<InboundEnded> {
    if (this.sm.is('offered', 'ringing')) this.reject(480);
    else if (this.sm.is('answering')) this.hangupPending = true;
    else if (this.sm.is('confirmed')) this.beginBye('local', 'BYE');
    return this.ended;
  }

  /** Hard stop without signalling (user agent shutdown). */
  abort(reason: string): void {
    this.tx.abort();
    this.end(503, reason, 'error');
  }

  // ---- requests from the caller (same Call-ID) ----

  handleRequest(inc: IncomingRequest): void {
    const req = inc.request;
    if (req.method === 'CANCEL') {
      this.onCancel(inc);
      return;
    }
    if (req.method === 'ACK' && req.core.cseq.seq === this.invite.core.cseq.seq) {
      this.onAck(req);
      return;
    }
    if (req.method === 'INVITE' && req.core.to.params.get('tag') === undefined) {
      // §8.2.2.2: same Call-ID, no To tag, another transaction: a merged request (forking loop).
      inc.serverTx?.respond(buildResponse(req, 482, { toTag: newTag(), reason: 'Loop Detected' }));
      return;
    }
    if (this.sm.is('answering') && req.method === 'BYE') this.stopAckWait(); // ACK lost or reordered
    handleInDialogRequest(this.inDialogContext(), inc);
  }

  private onAck(req: SipRequest): void {
    if (!this.sm.is('answering') || !this.dialog.matches(req)) return; // retransmitted ACK, or for another dialog
    this.stopAckWait();
    this.sm.to('confirmed');
    this.emit({ type: 'confirmed', ackSdp: req.body.trim() !== '' ? req.body : undefined });
    if (this.hangupPending) this.beginBye('local', 'BYE');
  }

  private stopAckWait(): void {
    this.timers.clear('2xx');
    this.timers.clear('ack-wait');
  }

  /** §9.2: 200 to the CANCEL; if the INVITE has no final response yet, 487 to it. */
  private onCancel(inc: IncomingRequest): void {
    const target = this.host.layer.findInviteServerTx(inc.request);
    if (target !== this.tx) {
      inc.serverTx?.respond(buildResponse(inc.request, 481, { toTag: newTag() }));
      return;
    }
    inc.serverTx?.respond(buildResponse(inc.request, 200, { toTag: this.localTag }));
    if (!this.sm.is('offered', 'ringing')) return; // already answered: the CANCEL has no effect
    this.tx.respond(this.response(487));
    this.end(487, 'canceled by the caller', 'remote');
  }

  private inDialogContext(): InDialogContext {
    const live = this.sm.is('answering', 'confirmed', 'terminating');
    return {
      host: this.host,
      dialog: live ? this.dialog : undefined,
      // call-requests.ts speaks the UAC's state names: 'answered' is a live session.
      state: this.sm.is('answering', 'confirmed') ? 'answered' : this.sm.state,
      localSdp: this.localSdp,
      onReinvite: this.onReinvite,
      contact: (t) => this.contact(t),
      setLocalSdp: (sdp) => {
        this.localSdp = sdp;
      },
      emit: (ev) => {
        if (ev.type === 'info' || ev.type === 'reinvited' || ev.type === 'transfer-progress') this.emit(ev);
      },
      remoteBye: () => this.end(200, 'BYE from remote', 'remote'),
      hangupAfterFailure: (reason) => this.beginBye('error', reason),
      isOver: () => this.sm.is('ended', 'terminating'),
      timerOwner: { set: (n, ms, fn) => this.timers.set(n, ms, fn), clear: (n) => this.timers.clear(n) },
    };
  }

  // ---- requests we send ----

  /**
   * Blind transfer with REFER (RFC 3515) in our dialog, as the answering side: the caller is asked
   * to call `target`. Resolves with the REFER's final status (202 = accepted); the NOTIFYs that
   * follow arrive as transfer-progress events. We are the referrer: Referred-By is the number the
   * caller dialed (the INVITE's To URI, RFC 3892).
   */
  transfer(target: string): Promise<number> {
    const uri = parseUri(target);
    if (!uri.ok) return Promise.reject(new TypeError(`bad transfer target: ${uri.error.message}`));
    if (!this.sm.is('confirmed')) return Promise.reject(new Error(`REFER needs a confirmed call (state ${this.sm.state})`));
    return new Promise((resolve) => {
      const hop = this.hopFor(this.dialog.nextHop());
      const req = this.dialog.buildRequest('REFER', {
        via: `SIP/2.0/${hop.transport.protocol} ${hop.transport.local.host}:${hop.transport.local.port};branch=${newBranch()};rport`,
        contact: this.contact(hop.transport),
        extra: [
          { name: 'Refer-To', value: `<${serializeUri(uri.value)}>` },
          { name: 'Referred-By', value: `<${serializeUri(this.invite.core.to.uri)}>` },
        ],
      });
      this.host.layer.sendRequest(req, hop.transport, hop.dest, (ev) => {
        if (ev.type === 'response') {
          const s = ev.response.status;
          if (s < 200) return;
          // §12.2.1.2: 481 or 408 to an in-dialog request ends the dialog.
          if (s === 481 || s === 408) this.beginBye('error', `REFER got ${s}`);
          resolve(s);
        } else {
          this.beginBye('error', `REFER ${ev.type}`);
          resolve(ev.type === 'timeout' ? 408 : 503);
        }
      });
    });
  }

  private beginBye(by: EndedBy, reason: string): void {
    if (!this.sm.is('confirmed', 'answering')) return;
    this.stopAckWait();
    this.sm.to('terminating');
    this.sendBye((status) => this.end(200, `${reason} (BYE answered ${status})`, by));
  }

  private sendBye(done: (status: number) => void): void {
    const hop = this.hopFor(this.dialog.nextHop());
    const bye = this.dialog.buildRequest('BYE', { via: `SIP/2.0/${hop.transport.protocol} ${hop.transport.local.host}:${hop.transport.local.port};branch=${newBranch()};rport` });
    this.host.layer.sendRequest(bye, hop.transport, hop.dest, (ev) => {
      // §15.1.1: the session ends whatever the BYE's final response; timeouts and errors end it too.
      if (ev.type === 'response' && ev.response.status < 200) return;
      if (!this.dialog.sm.is('terminated')) this.dialog.sm.to('terminated');
      done(ev.type === 'response' ? ev.response.status : ev.type === 'timeout' ? 408 : 503);
    });
  }

  private hopFor(uri: SipUri): { transport: SipTransport; dest: HostPort } {
    const param = uri.params.get('transport')?.toUpperCase();
    const wanted: TransportProtocol = uri.scheme === 'sips' ? 'TLS' : param === 'UDP' || param === 'TCP' || param === 'TLS' ? param : this.transport.protocol;
    const transport = wanted === this.transport.protocol ? this.transport : (this.host.transportFor(wanted) ?? this.transport);
    return { transport, dest: { host: uri.params.get('maddr') ?? uri.host, port: uri.port ?? defaultPort(transport.protocol) } };
  }

  private contact(t: SipTransport = this.transport): string {
    const user = this.dialed !== '' ? `${this.dialed}@` : '';
    // Behind a NAT, the address the caller's proxy sees us at (learned by our registration with it).
    const at = this.host.seenAs(this.sourceHop.host, t) ?? t.local;
    return `<sip:${user}${at.host}:${at.port}${t.protocol === 'UDP' ? '' : `;transport=${t.protocol.toLowerCase()}`}>`;
  }

  private response(status: number, extra: HeaderField[] = [], body?: string, reason?: string): SipResponse {
    // §12.1.1: a response that creates a dialog (early: 101-199 with our tag; confirmed: 2xx) copies
    // the INVITE's Record-Route values, in order, so the caller sends its ACK, BYE and the rest
    // through the proxies that asked to stay in the path (a carrier's SBC or registrar).
    const recordRoute = status > 100 && status < 300 ? this.invite.headers.getAll('Record-Route').map((value) => ({ name: 'Record-Route', value })) : [];
    return buildResponse(this.invite, status, {
      toTag: this.localTag,
      extra: [...recordRoute, ...extra, { name: 'User-Agent', value: this.host.userAgentName }],
      ...(body !== undefined ? { body } : {}),
      ...(reason !== undefined ? { reason } : UAS_REASONS[status] !== undefined ? { reason: UAS_REASONS[status] } : {}),
    });
  }

  private emit(ev: InboundEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch (err) {
        this.host.logger.error({ err, callId: this.callId, event: ev.type }, 'inbound call listener threw');
      }
    }
  }

  private end(sipStatusCode: number, reason: string, by: EndedBy): void {
    if (this.sm.is('ended')) return;
    this.sm.to('ended');
    this.timers.clearAll();
    if (!this.dialog.sm.is('terminated')) this.dialog.sm.to('terminated');
    const ev: InboundEnded = { type: 'ended', sipStatusCode, reason, by, answered: this.answeredFlag };
    this.host.logger.info({ callId: this.callId, sipStatusCode, reason, by }, 'inbound call ended');
    this.emit(ev);
    this.resolveEnded(ev);
    // Linger 64*T1 so retransmitted BYEs/ACKs still find the call (§17.2.2 Timer J covers the rest).
    this.timers.set('linger', 64 * this.host.timers.T1, () => this.host.release(this.callId, this));
  }
}
