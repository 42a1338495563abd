/**
 * Requests the far end sends inside our dialog (RFC 3261 §12.2.2): BYE (§15.1.2), re-INVITE (§14.2) answered
 * through the media hook, INFO (RFC 6086), OPTIONS (§11.2), NOTIFY for our REFER (RFC 3515 §2.4.4).
 */
import { buildResponse, responseDestination } from './builder.js';
import { ALLOW, type CallEvent, type CallHost, type ReinviteHook } from './call-types.js';
import type { Dialog } from './dialog.js';
import type { SipRequest } from './message.js';
import { InviteServerTransaction } from './server-transaction.js';
import type { IncomingRequest } from './transaction-layer.js';
import type { SipTransport } from './transport.js';

export interface InDialogContext {
  readonly host: CallHost;
  readonly dialog: Dialog | undefined;
  readonly state: string;
  readonly localSdp: string;
  readonly onReinvite: ReinviteHook | undefined;
  contact(t: SipTransport): string;
  setLocalSdp(sdp: string): void;
  emit(ev: CallEvent): void;
  remoteBye(): void;
  hangupAfterFailure(reason: string): void;
  isOver(): boolean;
  readonly timerOwner: { set(name: string, ms: number, fn: () => void): void; clear(name: string): void };
}

/** Per-dialog record of a re-INVITE we answered with 2xx and still retransmit until its ACK (§13.3.1.4). */
interface PendingReinvite {
  readonly seq: number;
  done: boolean;
  /** Offerless re-INVITE (§14.2): our 2xx carried the offer, the far end's answer comes in the ACK. */
  readonly offerless: boolean;
  localSdp: string;
}
const pendingReinvites = new WeakMap<Dialog, PendingReinvite>();

export function handleInDialogRequest(ctx: InDialogContext, inc: IncomingRequest): void {
  const req = inc.request;
  const tx = inc.serverTx;
  const d = ctx.dialog;
  const reply = (status: number, extra: { name: string; value: string }[] = [], body?: string): void => {
    tx?.respond(buildResponse(req, status, { extra, ...(body !== undefined ? { body } : {}) }));
  };
  if (!d || !d.matches(req) || ctx.state === 'ended') {
    // §12.2.2: a request for a dialog we do not have (any more) gets 481.
    if (req.method !== 'ACK') reply(481);
    return;
  }
  if (!d.acceptRemoteSeq(req.core.cseq.seq, req.method)) {
    reply(500, [{ name: 'Retry-After', value: '1' }], undefined);
    return;
  }
  switch (req.method) {
    case 'ACK': {
      const p = pendingReinvites.get(d);
      if (p && !p.done && p.seq === req.core.cseq.seq) {
        p.done = true;
        ctx.timerOwner.clear('reinvite-2xx');
        ctx.timerOwner.clear('reinvite-ack-wait');
        if (p.offerless) ctx.emit({ type: 'reinvited', remoteSdp: req.body.trim() !== '' ? req.body : undefined, localSdp: p.localSdp });
      }
      return;
    }
    case 'BYE':
      reply(200);
      if (ctx.state === 'answered') ctx.remoteBye();
      return;
    case 'INVITE':
      if (tx instanceof InviteServerTransaction) onReinvite(ctx, d, inc, tx);
      return;
    case 'INFO':
      reply(200);
      ctx.emit({ type: 'info', contentType: req.headers.get('Content-Type'), body: req.body });
      return;
    case 'OPTIONS':
      reply(200, [{ name: 'Allow', value: ALLOW }, { name: 'Accept', value: 'application/sdp' }]);
      return;
    case 'NOTIFY':
      onNotify(ctx, req, reply);
      return;
    case 'CANCEL':
      // §9.2: our re-INVITE answers are immediate, so there is rarely anything left to cancel; 200 either way.
      reply(200);
      return;
    default:
      // §8.2.1: methods we do not support get 405 with Allow.
      reply(405, [{ name: 'Allow', value: ALLOW }]);
  }
}

function onNotify(ctx: InDialogContext, req: SipRequest, reply: (s: number) => void): void {
  const event = (req.headers.get('Event') ?? '').split(';')[0]?.trim().toLowerCase();
  if (event !== 'refer') {
    // RFC 6665 §4.1.3 (RFC 3265 §3.2.4): unknown event package.
    reply(489);
    return;
  }
  reply(200);
  // RFC 3515 §2.4.5: the body is a message/sipfrag whose status line reports the transfer's progress.
  const m = /^SIP\/2\.0\s+(\d{3})/i.exec(req.body.trim());
  if (!m) return;
  const statusCode = Number(m[1]);
  const terminated = (req.headers.get('Subscription-State') ?? '').toLowerCase().startsWith('terminated');
  ctx.emit({ type: 'transfer-progress', statusCode, final: terminated || statusCode >= 200 });
}

/**
 * §14.2 re-INVITE: hold/unhold/session refresh. Target refresh from its Contact (§12.2.2), answer through
 * the media hook, and retransmit our 2xx until the ACK (§13.3.1.4).
 */
function onReinvite(ctx: InDialogContext, d: Dialog, inc: IncomingRequest, tx: InviteServerTransaction): void {
  const req = inc.request;
  const pending = pendingReinvites.get(d);
  if (ctx.state !== 'answered' || (pending && !pending.done)) {
    // §14.2: a re-INVITE while another one is in progress gets 500 with Retry-After.
    tx.respond(buildResponse(req, 500, { extra: [{ name: 'Retry-After', value: '2' }] }));
    return;
  }
  const remoteOffer = req.body.trim() !== '' ? req.body : undefined;
  const record: PendingReinvite = { seq: req.core.cseq.seq, done: false, offerless: remoteOffer === undefined, localSdp: ctx.localSdp };
  pendingReinvites.set(d, record);
  // §17.2.1: the hook may be slow (async media work); a 100 stops the far end's INVITE retransmissions.
  tx.respond(buildResponse(req, 100));
  if (req.headers.has('Contact')) d.refreshTarget(req);
  const answer = async (): Promise<string> => (ctx.onReinvite ? ctx.onReinvite(remoteOffer) : ctx.localSdp);
  answer().then(
    (sdp) => {
      if (ctx.isOver()) return;
      ctx.setLocalSdp(sdp);
      const ok = buildResponse(req, 200, {
        extra: [
          { name: 'Contact', value: ctx.contact(inc.transport) },
          { name: 'Allow', value: ALLOW },
          { name: 'Content-Type', value: 'application/sdp' },
        ],
        body: sdp,
      });
      tx.respond(ok);
      record.localSdp = sdp;
      // With an offer, the exchange is complete now; offerless, it completes with the ACK's answer.
      if (!record.offerless) ctx.emit({ type: 'reinvited', remoteSdp: remoteOffer, localSdp: sdp });
      const t1 = ctx.host.timers.T1;
      const dest = responseDestination(req.core.vias[0] ?? { transport: 'UDP', host: inc.source.host, port: inc.source.port, params: new Map() }, inc.source, inc.transport.reliable);
      // §13.3.1.4: the TU retransmits the 2xx (T1 doubling up to T2) until the ACK arrives.
      const retransmit = (interval: number): void => {
        ctx.timerOwner.set('reinvite-2xx', interval, () => {
          if (record.done) return;
          ctx.host.layer.sendStateless(ok, inc.transport, dest).then(undefined, (err: unknown) => ctx.host.logger.warn({ err }, 're-INVITE 2xx retransmission failed'));
          retransmit(Math.min(2 * interval, ctx.host.timers.T2));
        });
      };
      if (!inc.transport.reliable) retransmit(t1);
      // No ACK after 64*T1: the session SHOULD be terminated with a BYE (§13.3.1.4).
      ctx.timerOwner.set('reinvite-ack-wait', 64 * t1, () => {
        if (record.done) return;
        record.done = true;
        ctx.timerOwner.clear('reinvite-2xx');
        ctx.hangupAfterFailure('no ACK for re-INVITE 2xx');
      });
    },
    (err: unknown) => {
      ctx.host.logger.warn({ err }, 'onReinvite hook failed; rejecting re-INVITE with 488');
      record.done = true;
      if (!ctx.isOver()) tx.respond(buildResponse(req, 488));
    },
  ).then(undefined, (err: unknown) => ctx.host.logger.error({ err }, 're-INVITE handling failed'));
}

