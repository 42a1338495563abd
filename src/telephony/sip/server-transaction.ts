/**
 * Server transactions (RFC 3261 §17.2) for requests the far end sends us inside a dialog (BYE, re-INVITE,
 * INFO, NOTIFY, OPTIONS, ...). They answer request retransmissions with the last response.
 */
import type { Clock } from '../../time/clock.js';
import type { Logger } from './logger.js';
import type { SipRequest, SipResponse } from './message.js';
import { serializeMessage } from './serializer.js';
import { StateMachine } from './state.js';
import { NamedTimers } from '../../time/named-timers.js';
import type { TimerConfig } from './timers.js';
import type { HostPort, SipTransport } from './transport.js';

export interface ServerTxContext {
  readonly clock: Clock;
  readonly timers: TimerConfig;
  readonly transport: SipTransport;
  /** §18.2.2 destination computed from the top Via and the source address. */
  readonly dest: HostPort;
  readonly logger: Logger;
  readonly onTerminated: () => void;
}

export type InviteServerState = 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated';
export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

abstract class ServerTransactionBase<S extends string> {
  protected readonly timers: NamedTimers;
  protected lastResponse: SipResponse | undefined;
  abstract readonly sm: StateMachine<S>;

  constructor(
    readonly request: SipRequest,
    protected readonly ctx: ServerTxContext,
  ) {
    this.timers = new NamedTimers(ctx.clock);
  }

  get isFinal(): boolean {
    return this.lastResponse !== undefined && this.lastResponse.status >= 200;
  }

  protected setTimer(name: string, ms: number, fn: () => void): void {
    this.timers.set(name, ms, fn);
  }

  protected clearTimer(name: string): void {
    this.timers.clear(name);
  }

  protected transmit(res: SipResponse): void {
    this.ctx.transport.send(serializeMessage(res), this.ctx.dest).then(undefined, (err: unknown) => {
      // §17.2.4: a transport failure on a response terminates the server transaction.
      this.ctx.logger.warn({ err, status: res.status }, 'SIP transport error sending response');
      if (this.sm.state !== 'terminated') this.terminate();
    });
  }

  protected terminate(): void {
    this.timers.clearAll();
    this.sm.to('terminated' as S);
    this.ctx.onTerminated();
  }

  abort(): void {
    if (this.sm.state !== 'terminated') this.terminate();
  }

  abstract respond(res: SipResponse): void;
  /** A retransmission of the request arrived (same transaction key). */
  abstract retransmission(req: SipRequest): void;
}

export class NonInviteServerTransaction extends ServerTransactionBase<NonInviteServerState> {
  readonly sm = new StateMachine<NonInviteServerState>('non-INVITE server transaction', 'trying', {
    trying: ['proceeding', 'completed', 'terminated'],
    proceeding: ['proceeding', 'completed', 'terminated'],
    completed: ['terminated'],
    terminated: [],
  });

  respond(res: SipResponse): void {
    if (!this.sm.is('trying', 'proceeding')) return;
    this.lastResponse = res;
    this.transmit(res);
    if (res.status < 200) {
      this.sm.to('proceeding');
      return;
    }
    this.sm.to('completed');
    // §17.2.2: Timer J = 64*T1 on unreliable transports (absorb retransmissions), zero on reliable.
    this.setTimer('J', this.ctx.transport.reliable ? 0 : 64 * this.ctx.timers.T1, () => this.terminate());
  }

  retransmission(): void {
    // §17.2.2: in Trying retransmissions are discarded; afterwards the last response is resent.
    if (this.sm.is('proceeding', 'completed') && this.lastResponse) this.transmit(this.lastResponse);
  }
}

export class InviteServerTransaction extends ServerTransactionBase<InviteServerState> {
  readonly sm = new StateMachine<InviteServerState>('INVITE server transaction', 'proceeding', {
    proceeding: ['accepted', 'completed', 'terminated'],
    accepted: ['terminated'],
    completed: ['confirmed', 'terminated'],
    confirmed: ['terminated'],
    terminated: [],
  });
  private intervalG = 0;
  /** Told when Timer H fires without an ACK (§17.2.1). */
  onAckTimeout: (() => void) | undefined;

  respond(res: SipResponse): void {
    if (!this.sm.is('proceeding')) return;
    this.lastResponse = res;
    this.transmit(res);
    if (res.status < 200) return;
    if (res.status < 300) {
      // RFC 6026 §7.1: Accepted. The TU retransmits the 2xx itself (§13.3.1.4); retransmitted INVITEs are
      // absorbed here for Timer L = 64*T1.
      this.sm.to('accepted');
      this.setTimer('L', 64 * this.ctx.timers.T1, () => this.terminate());
      return;
    }
    this.sm.to('completed');
    if (!this.ctx.transport.reliable) {
      this.intervalG = this.ctx.timers.T1;
      this.armG();
    }
    this.setTimer('H', 64 * this.ctx.timers.T1, () => {
      if (!this.sm.is('completed')) return;
      this.terminate();
      this.onAckTimeout?.();
    });
  }

  private armG(): void {
    this.setTimer('G', this.intervalG, () => {
      if (!this.sm.is('completed') || !this.lastResponse) return;
      this.transmit(this.lastResponse);
      this.intervalG = Math.min(2 * this.intervalG, this.ctx.timers.T2);
      this.armG();
    });
  }

  retransmission(req: SipRequest): void {
    if (req.method === 'ACK') {
      // §17.2.1: ACK for a non-2xx final -> Confirmed, Timer I absorbs further ACKs.
      if (this.sm.is('completed')) {
        this.clearTimer('G');
        this.clearTimer('H');
        this.sm.to('confirmed');
        this.setTimer('I', this.ctx.transport.reliable ? 0 : this.ctx.timers.T4, () => this.terminate());
      }
      return;
    }
    if (this.sm.is('proceeding', 'completed') && this.lastResponse) this.transmit(this.lastResponse);
  }
}
