/**
 * Dialog state of both sides (RFC 3261 §12; UAC from the response, UAS from the INVITE): identifiers, route set, remote target, CSeq spaces, and
 * construction of in-dialog requests (§12.2.1.1).
 */
import { fail, ok, type Result } from './errors.js';
import { SipHeaders, type HeaderField } from './headers.js';
import { makeRequest } from './builder.js';
import type { SipRequest, SipResponse } from './message.js';
import { StateMachine } from './state.js';
import { parseNameAddr, parseUri, serializeNameAddr, serializeUri, type NameAddr, type SipUri } from './uri.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

export class Dialog {
  readonly sm: StateMachine<DialogState>;
  /** Record-Route values, in the order this UAC must use them (reversed, §12.1.2). */
  routeSet: string[];
  remoteTarget: SipUri;
  /** Last CSeq number we used; the next in-dialog request takes localSeq + 1 (§12.2.1.1). */
  localSeq: number;
  /** Highest CSeq number seen from the far end; undefined until its first request (§12.2.2). */
  remoteSeq: number | undefined = undefined;

  private constructor(
    readonly callId: string,
    readonly localTag: string,
    readonly remoteTag: string,
    /** Our From (name-addr, without tag). */
    readonly local: NameAddr,
    /** Their To (name-addr, without tag). */
    readonly remote: NameAddr,
    routeSet: string[],
    remoteTarget: SipUri,
    localSeq: number,
    state: DialogState,
  ) {
    this.routeSet = routeSet;
    this.remoteTarget = remoteTarget;
    this.localSeq = localSeq;
    this.sm = new StateMachine<DialogState>('dialog', state, {
      early: ['confirmed', 'terminated'],
      confirmed: ['terminated'],
      terminated: [],
    });
  }

  get id(): string {
    return `${this.callId}|${this.localTag}|${this.remoteTag}`;
  }

  /** §12.1.2: a UAC dialog from a 1xx (with To tag) or 2xx to our INVITE. */
  static fromResponse(invite: SipRequest, res: SipResponse, opts: { lenientContact?: boolean } = {}): Result<Dialog> {
    const remoteTag = res.core.to.params.get('tag');
    const localTag = invite.core.from.params.get('tag');
    if (!remoteTag || !localTag) return fail('missing-header', 'dialog needs both tags');
    let target = contactUri(res);
    // §12.1.2 requires a Contact in the 2xx; some trunks omit it. Leniently fall back to the Request-URI so
    // the 2xx can still be ACKed and the call hung up, rather than leaving the far end retransmitting.
    if (!target.ok && opts.lenientContact) target = parseUri(invite.uri);
    if (!target.ok) return target;
    const strip = (a: NameAddr): NameAddr => ({ ...a, params: new Map([...a.params].filter(([k]) => k !== 'tag')) });
    const state: DialogState = res.status >= 200 ? 'confirmed' : 'early';
    return ok(
      new Dialog(invite.core.callId, localTag, remoteTag, strip(invite.core.from), strip(res.core.to), routeSetFrom(res), target.value, invite.core.cseq.seq, state),
    );
  }

  /**
   * §12.1.1: the UAS side of a dialog, from an incoming INVITE and the To tag we chose. The route set is
   * the INVITE's Record-Route in order (not reversed), the remote target its Contact, the remote CSeq the
   * INVITE's; our own CSeq space starts at a random number (§8.1.1.5). Local = the INVITE's To, remote = its From.
   */
  static fromIncomingInvite(invite: SipRequest, localTag: string, state: DialogState = 'early'): Result<Dialog> {
    const remoteTag = invite.core.from.params.get('tag');
    if (!remoteTag) return fail('missing-header', 'INVITE without a From tag');
    const target = contactUri(invite);
    if (!target.ok) return target;
    const strip = (a: NameAddr): NameAddr => ({ ...a, params: new Map([...a.params].filter(([k]) => k !== 'tag')) });
    const localSeq = Math.floor(Math.random() * 2 ** 30);
    const d = new Dialog(invite.core.callId, localTag, remoteTag, strip(invite.core.to), strip(invite.core.from), invite.headers.getAll('Record-Route'), target.value, localSeq, state);
    d.remoteSeq = invite.core.cseq.seq;
    return ok(d);
  }

  /** §13.2.2.4: on the 2xx an early dialog becomes confirmed and its route set is recomputed. */
  confirm(res: SipResponse): void {
    this.sm.to('confirmed');
    this.routeSet = routeSetFrom(res);
    const target = contactUri(res);
    if (target.ok) this.remoteTarget = target.value;
  }

  /** §12.2: target refresh requests/responses replace the remote target with their Contact. */
  refreshTarget(msg: SipRequest | SipResponse): void {
    const target = contactUri(msg);
    if (target.ok) this.remoteTarget = target.value;
  }

  /**
   * §12.2.2: a request with a lower CSeq than the last one is out of order (answer 500); otherwise
   * remember it. Returns false when out of order.
   */
  acceptRemoteSeq(seq: number, method: string): boolean {
    if (method === 'ACK' || method === 'CANCEL') return true;
    if (this.remoteSeq !== undefined && seq < this.remoteSeq) return false;
    this.remoteSeq = seq;
    return true;
  }

  /** Where the next in-dialog request goes: first route (loose routing) or the remote target (§12.2.1.1, §8.1.2). */
  nextHop(): SipUri {
    const first = this.routeSet[0];
    if (first !== undefined) {
      const na = parseNameAddr(first);
      if (na.ok) return na.value.uri;
    }
    return this.remoteTarget;
  }

  /**
   * §12.2.1.1: builds an in-dialog request. CSeq increments for everything but ACK/CANCEL (ACK of a 2xx reuses
   * the INVITE's number, passed as cseq). Route set: loose routing puts the remote target in the Request-URI;
   * a strict first route takes the Request-URI and the remote target goes last in Route.
   */
  buildRequest(
    method: string,
    opts: { via: string; contact?: string; extra?: readonly HeaderField[]; body?: string; contentType?: string; cseq?: number },
  ): SipRequest {
    let seq: number;
    if (opts.cseq !== undefined) seq = opts.cseq;
    else {
      this.localSeq += 1;
      seq = this.localSeq;
    }
    let requestUri = serializeUri(this.remoteTarget);
    let routes = [...this.routeSet];
    const first = routes[0];
    if (first !== undefined) {
      const na = parseNameAddr(first);
      if (na.ok && !na.value.uri.params.has('lr')) {
        requestUri = serializeUri(na.value.uri);
        routes = [...routes.slice(1), `<${serializeUri(this.remoteTarget)}>`];
      }
    }
    const h = new SipHeaders();
    h.append('Via', opts.via);
    for (const r of routes) h.append('Route', r);
    h.append('Max-Forwards', '70');
    h.append('From', `${serializeNameAddr(this.local)};tag=${this.localTag}`);
    h.append('To', `${serializeNameAddr(this.remote)};tag=${this.remoteTag}`);
    h.append('Call-ID', this.callId);
    h.append('CSeq', `${seq} ${method}`);
    if (opts.contact !== undefined) h.append('Contact', opts.contact);
    for (const f of opts.extra ?? []) h.append(f.name, f.value);
    if (opts.body !== undefined && opts.body !== '') h.append('Content-Type', opts.contentType ?? 'application/sdp');
    return makeRequest(method, requestUri, h, opts.body ?? '');
  }

  /** True when an incoming request belongs to this dialog (§12.2.2: Call-ID, To tag = ours, From tag = theirs). */
  matches(req: SipRequest): boolean {
    return (
      req.core.callId === this.callId &&
      req.core.to.params.get('tag') === this.localTag &&
      req.core.from.params.get('tag') === this.remoteTag
    );
  }
}

/** §12.1.2: Record-Route of the response, reversed for the UAC. */
export function routeSetFrom(res: SipResponse): string[] {
  return res.headers.getAll('Record-Route').reverse();
}

function contactUri(msg: SipRequest | SipResponse): Result<SipUri> {
  const c = msg.headers.getAll('Contact')[0];
  if (c === undefined) return fail('missing-header', 'no Contact');
  const na = parseNameAddr(c);
  return na.ok ? ok(na.value.uri) : na;
}
