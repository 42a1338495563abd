/**
 * Client transactions (RFC 3261 §17.1): INVITE (Figure 5, with the RFC 6026 Accepted state) and
 * non-INVITE (Figure 6). Timers run on the injected clock; retransmission only on unreliable transports.
 */
import type { Clock } from '../../time/clock.js';
import { buildNon2xxAck } from './builder.js';
import type { Logger } from './logger.js';
import type { SipRequest, SipResponse } from './message.js';
import { serializeMessage } from './serializer.js';
import { StateMachine } from './state.js';
import { NamedTimers } from '../../time/named-timers.js';
import { timerD, type TimerConfig } from './timers.js';
import type { SendTarget, SipTransport } from './transport.js';

export type ClientTxEvent =
  | { readonly type: 'response'; readonly response: SipResponse }
  /** Timer B or F fired (the TU treats it as a 408, §8.1.3.1). */
  | { readonly type: 'timeout' }
  /** The transport failed to send (the TU treats it as a 503, §8.1.3.1). */
  | { readonly type: 'transport-error'; readonly error: Error };

export interface ClientTxContext {
  readonly clock: Clock;
  readonly timers: TimerConfig;
  readonly transport: SipTransport;
  readonly dest: SendTarget;
  readonly logger: Logger;
  readonly onEvent: (ev: ClientTxEvent) => void;
  /** Called once when the transaction reaches Terminated, so the layer can forget it. */
  readonly onTerminated: () => void;
}

export type InviteClientState = 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated';
export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

abstract class ClientTransactionBase<S extends string> {
  protected readonly timers: NamedTimers;
  abstract readonly sm: StateMachine<S>;

  constructor(
    readonly request: SipRequest,
    protected readonly ctx: ClientTxContext,
  ) {
    this.timers = new NamedTimers(ctx.clock);
  }

  get branch(): string {
    return this.request.core.vias[0]?.params.get('branch') ?? '';
  }

  protected setTimer(name: string, ms: number, fn: () => void): void {
    this.timers.set(name, ms, fn);
  }

  protected clearTimer(name: string): void {
    this.timers.clear(name);
  }

  protected send(msg: SipRequest): void {
    this.ctx.transport.send(serializeMessage(msg), this.ctx.dest).then(undefined, (err: unknown) => {
      this.transportError(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** §17.1.4: a transport failure terminates the transaction and informs the TU. */
  protected transportError(error: Error): void {
    if (this.sm.state === 'terminated') return;
    this.ctx.logger.warn({ err: error, branch: this.branch }, 'SIP transport error');
    this.terminate();
    this.ctx.onEvent({ type: 'transport-error', error });
  }

  protected terminate(): void {
    this.timers.clearAll();
    this.sm.to('terminated' as S);
    this.ctx.onTerminated();
  }

  /** Ends the transaction without telling the TU (UA shutdown). */
  abort(): void {
    if (this.sm.state !== 'terminated') this.terminate();
  }

  abstract start(): void;
  abstract receive(response: SipResponse): void;
}

export class InviteClientTransaction extends ClientTransactionBase<InviteClientState> {
  readonly sm = new StateMachine<InviteClientState>('INVITE client transaction', 'calling', {
    calling: ['proceeding', 'accepted', 'completed', 'terminated'],
    proceeding: ['proceeding', 'accepted', 'completed', 'terminated'],
    accepted: ['terminated'],
    completed: ['terminated'],
    terminated: [],
  });
  private intervalA: number;

  constructor(request: SipRequest, ctx: ClientTxContext) {
    super(request, ctx);
    this.intervalA = ctx.timers.T1;
  }

  start(): void {
    this.send(this.request);
    // §17.1.1.2: Timer A only on unreliable transports, starting at T1 and doubling each time.
    if (!this.ctx.transport.reliable) this.armA();
    // Timer B = 64*T1 on every transport.
    this.setTimer('B', 64 * this.ctx.timers.T1, () => {
      if (!this.sm.is('calling')) return;
      this.terminate();
      this.ctx.onEvent({ type: 'timeout' });
    });
  }

  private armA(): void {
    this.setTimer('A', this.intervalA, () => {
      if (!this.sm.is('calling')) return;
      this.send(this.request);
      this.intervalA *= 2;
      this.armA();
    });
  }

  receive(response: SipResponse): void {
    const s = response.status;
    switch (this.sm.state) {
      case 'calling':
      case 'proceeding':
        if (s < 200) {
          // §17.1.1.2: in Proceeding no more retransmissions; Timer B only guards Calling.
          this.clearTimer('A');
          this.clearTimer('B');
          this.sm.to('proceeding');
          this.ctx.onEvent({ type: 'response', response });
        } else if (s < 300) {
          // RFC 6026 §7.2: Accepted state absorbs nothing, it passes every 2xx up so the TU re-ACKs them;
          // Timer M = 64*T1 bounds it.
          this.clearTimer('A');
          this.clearTimer('B');
          this.sm.to('accepted');
          this.setTimer('M', 64 * this.ctx.timers.T1, () => this.terminate());
          this.ctx.onEvent({ type: 'response', response });
        } else {
          // §17.1.1.2: non-2xx final -> ACK (built here, §17.1.1.3), Completed, Timer D.
          this.clearTimer('A');
          this.clearTimer('B');
          this.sm.to('completed');
          this.send(buildNon2xxAck(this.request, response));
          this.setTimer('D', timerD(this.ctx.transport.reliable), () => this.terminate());
          this.ctx.onEvent({ type: 'response', response });
        }
        return;
      case 'accepted':
        if (s >= 200 && s < 300) this.ctx.onEvent({ type: 'response', response });
        return;
      case 'completed':
        // Retransmitted final response: ACK again, do not pass up (§17.1.1.2).
        if (s >= 300) this.send(buildNon2xxAck(this.request, response));
        return;
      case 'terminated':
        return;
    }
  }
}

export class NonInviteClientTransaction extends ClientTransactionBase<NonInviteClientState> {
  readonly sm = new StateMachine<NonInviteClientState>('non-INVITE client transaction', 'trying', {
    trying: ['proceeding', 'completed', 'terminated'],
    proceeding: ['proceeding', 'completed', 'terminated'],
    completed: ['terminated'],
    terminated: [],
  });
  private intervalE: number;

  constructor(request: SipRequest, ctx: ClientTxContext) {
    super(request, ctx);
    this.intervalE = ctx.timers.T1;
  }

  start(): void {
    this.send(this.request);
    if (!this.ctx.transport.reliable) this.armE();
    // §17.1.2.2: Timer F = 64*T1 in Trying and Proceeding.
    this.setTimer('F', 64 * this.ctx.timers.T1, () => {
      if (!this.sm.is('trying', 'proceeding')) return;
      this.terminate();
      this.ctx.onEvent({ type: 'timeout' });
    });
  }

  private armE(): void {
    this.setTimer('E', this.intervalE, () => {
      if (!this.sm.is('trying', 'proceeding')) return;
      this.send(this.request);
      // §17.1.2.2: in Trying the interval doubles up to T2; in Proceeding it is T2.
      this.intervalE = this.sm.is('proceeding') ? this.ctx.timers.T2 : Math.min(2 * this.intervalE, this.ctx.timers.T2);
      this.armE();
    });
  }

  receive(response: SipResponse): void {
    if (!this.sm.is('trying', 'proceeding')) return; // Completed absorbs retransmissions (§17.1.2.2).
    if (response.status < 200) {
      this.sm.to('proceeding');
      this.ctx.onEvent({ type: 'response', response });
      return;
    }
    this.clearTimer('E');
    this.clearTimer('F');
    this.sm.to('completed');
    // Timer K = T4 on unreliable transports, zero on reliable ones.
    this.setTimer('K', this.ctx.transport.reliable ? 0 : this.ctx.timers.T4, () => this.terminate());
    this.ctx.onEvent({ type: 'response', response });
  }
}
