/**
 * The one clock of the tree: monotonic time and one-shot timers, injected everywhere a decision
 * depends on time (SIP transaction timers, ring timeouts, RTP pacing, turn-taking, provider
 * deadlines), so tests run in virtual time (test/helpers/virtual-clock.ts). Nothing that decides
 * on time calls setTimeout or Date.now() directly.
 */

/** Opaque handle returned by setTimer. */
export interface TimerHandle {
  readonly __timer: true;
}

export interface Clock {
  /** Milliseconds since an arbitrary epoch, monotonic (never steps with the wall clock), fractional. */
  now(): number;
  /** Runs fn once after ms milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancels a timer; a no-op when it already fired or was cleared. */
  clearTimer(handle: TimerHandle): void;
  /** Wall-clock milliseconds since 1970: only for timestamps others read (RTCP NTP time, RFC 3550 §6.4.1). */
  wallClockMs(): number;
}

interface RealHandle extends TimerHandle {
  readonly timeout: NodeJS.Timeout;
}

/**
 * performance.now() for time (monotonic) and node timers for wake-ups. Delays are rounded up to whole
 * milliseconds, at least 1: libuv timers have 1 ms resolution, so one wake-up per deadline instead of an
 * early one plus a re-arm (callers still tolerate early firing). Timers are unref'd: they never keep a
 * process alive (open sockets and worker ports do).
 */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const timeout = setTimeout(fn, Math.max(1, Math.ceil(ms)));
    timeout.unref();
    const handle: RealHandle = { __timer: true, timeout };
    return handle;
  },
  clearTimer(handle) {
    clearTimeout((handle as RealHandle).timeout);
  },
  wallClockMs: () => Date.now(),
};
