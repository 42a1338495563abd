/**
 * Time for the media layer, injected so pacing and timeouts are tested in virtual time.
 * `now()` is monotonic milliseconds (fractional); timers are one-shot.
 */

export interface TimeSource {
  now(): number;
  setTimer(cb: () => void, delayMs: number): TimerHandle;
  clearTimer(h: TimerHandle): void;
  /** Wall clock in ms since 1970, for RTCP NTP timestamps (RFC 3550 §6.4.1). */
  wallClockMs(): number;
}

export type TimerHandle = { readonly id: number } | NodeJS.Timeout;

/** Real time: process.hrtime for deadlines (immune to wall-clock steps), setTimeout for wake-ups. */
export const realTime: TimeSource = {
  now: () => Number(process.hrtime.bigint()) / 1e6,
  // libuv timers have 1 ms resolution; rounding up means one wake-up per deadline instead of an
  // early wake-up plus a re-arm (the clock still tolerates early firing).
  setTimer: (cb, delayMs) => setTimeout(cb, Math.max(1, Math.ceil(delayMs))),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
  wallClockMs: () => Date.now(),
};

/**
 * Deterministic virtual time for tests. `advance(ms)` runs due timers in deadline order.
 * `fireSkewMs` makes every timer fire that much early (negative) or late (positive), to exercise
 * the pacing clock against Node's habit of firing timers early.
 */
export class VirtualTime implements TimeSource {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; cb: () => void }>();
  fireSkewMs = 0;

  constructor(start = 1000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  wallClockMs(): number {
    return 1_700_000_000_000 + this.t;
  }

  setTimer(cb: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    // Same rounding as realTime (whole ms, at least 1), then the skew; a timer never fires at or
    // before the instant it was armed (Node's never do), which also rules out zero-time loops.
    const at = Math.max(this.t + 0.01, this.t + Math.max(1, Math.ceil(delayMs)) + this.fireSkewMs);
    this.timers.set(id, { at, cb });
    return { id };
  }

  clearTimer(h: TimerHandle): void {
    if (typeof h === 'object' && h !== null && 'id' in h && typeof h.id === 'number') this.timers.delete(h.id);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that comes due (including ones armed meanwhile). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, tm] of this.timers) {
        if (tm.at < nextAt) {
          nextAt = tm.at;
          nextId = id;
        }
      }
      if (nextId < 0 || nextAt > end) break;
      const tm = this.timers.get(nextId);
      this.timers.delete(nextId);
      this.t = Math.max(this.t, nextAt);
      tm?.cb();
    }
    this.t = end;
  }

  /** Jumps time forward without firing timers (simulates a blocked event loop). */
  stall(ms: number): void {
    this.t += ms;
  }
}
