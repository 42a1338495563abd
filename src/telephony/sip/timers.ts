import type { Clock, TimerHandle } from '../clock.js';

/** RFC 3261 §17.1.1.1 / Table 4 timer values. */
export interface TimerConfig {
  /** RTT estimate, default 500 ms. */
  readonly T1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  readonly T2: number;
  /** Maximum time a message remains in the network, default 5 s. */
  readonly T4: number;
}

export const DEFAULT_TIMERS: TimerConfig = { T1: 500, T2: 4000, T4: 5000 };

/** Timer D: "at least 32 seconds for unreliable transports, zero for reliable" (§17.1.1.2). */
export function timerD(reliable: boolean): number {
  return reliable ? 0 : 32_000;
}

/**
 * A transaction's timers by RFC 3261 name (A, B, D, E, F, K, M, G, H, I, J, L): setting a name
 * replaces its running timer, a fired timer forgets itself, and clearAll() runs at termination.
 */
export class NamedTimers {
  readonly #running = new Map<string, TimerHandle>();

  constructor(private readonly clock: Clock) {}

  set(name: string, ms: number, fn: () => void): void {
    this.clear(name);
    this.#running.set(
      name,
      this.clock.setTimer(ms, () => {
        this.#running.delete(name);
        fn();
      }),
    );
  }

  clear(name: string): void {
    const h = this.#running.get(name);
    if (h !== undefined) this.clock.clearTimer(h);
    this.#running.delete(name);
  }

  clearAll(): void {
    for (const h of this.#running.values()) this.clock.clearTimer(h);
    this.#running.clear();
  }
}
