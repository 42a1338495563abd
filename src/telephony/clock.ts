/**
 * Injected clock and timers. Protocol code (SIP transaction timers, ring timeouts) never calls
 * setTimeout directly so tests can run in virtual time (test/helpers/virtual-clock.ts).
 */

/** Opaque handle returned by setTimer. */
export interface TimerHandle {
  readonly __timer: true;
}

export interface Clock {
  /** Milliseconds since an arbitrary epoch, monotonic. */
  now(): number;
  /** Runs fn once after ms milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancels a timer; a no-op when it already fired or was cleared. */
  clearTimer(handle: TimerHandle): void;
}

interface RealHandle extends TimerHandle {
  readonly timeout: NodeJS.Timeout;
}

/** Clock backed by performance.now() and node timers. Timers are unref'd: they never keep a process alive. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const timeout = setTimeout(fn, Math.max(0, ms));
    timeout.unref();
    const handle: RealHandle = { __timer: true, timeout };
    return handle;
  },
  clearTimer(handle) {
    clearTimeout((handle as RealHandle).timeout);
  },
};
