import type { Clock, TimerHandle } from './clock.js';

/**
 * Timers by name on one clock: setting a name replaces its running timer, a fired timer forgets
 * itself, and clearAll() runs when the owner ends (a SIP transaction's A..M timers, a call's ring
 * and linger timers, a voice session's inactivity and wrap-up timers).
 */
export class NamedTimers<Name extends string = string> {
  readonly #running = new Map<Name, TimerHandle>();

  constructor(private readonly clock: Clock) {}

  set(name: Name, ms: number, fn: () => void): void {
    this.clear(name);
    this.#running.set(
      name,
      this.clock.setTimer(ms, () => {
        this.#running.delete(name);
        fn();
      }),
    );
  }

  clear(name: Name): void {
    const h = this.#running.get(name);
    if (h !== undefined) this.clock.clearTimer(h);
    this.#running.delete(name);
  }

  has(name: Name): boolean {
    return this.#running.has(name);
  }

  clearAll(): void {
    for (const h of this.#running.values()) this.clock.clearTimer(h);
    this.#running.clear();
  }
}
