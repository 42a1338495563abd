/** Virtual time for tests: timers fire only when the test advances the clock (one for the whole tree). */
import type { Clock, TimerHandle } from '../../src/time/clock.js';

interface VTimer extends TimerHandle {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export interface VirtualClockOptions {
  /** Time at creation (default 0). */
  start?: number;
  /**
   * Round delays as realClock does (whole ms, at least 1), and never fire a timer at or before the
   * instant it was armed (Node never does): for the RTP pacing clock. Default: exact delays.
   */
  nodeRounding?: boolean;
}

export class VirtualClock implements Clock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, VTimer>();
  private readonly nodeRounding: boolean;
  /** Every timer fires this much early (negative) or late (positive): Node's habit of early firing. */
  fireSkewMs = 0;

  constructor(opts: VirtualClockOptions = {}) {
    this.t = opts.start ?? 0;
    this.nodeRounding = opts.nodeRounding ?? false;
  }

  now(): number {
    return this.t;
  }

  wallClockMs(): number {
    return 1_700_000_000_000 + this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const delay = this.nodeRounding ? Math.max(1, Math.ceil(ms)) : Math.max(0, ms);
    const at = this.nodeRounding ? Math.max(this.t + 0.01, this.t + delay + this.fireSkewMs) : this.t + delay + this.fireSkewMs;
    const timer: VTimer = { __timer: true, id: this.nextId++, at, fn };
    this.timers.set(timer.id, timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete((handle as VTimer).id);
  }

  /** Number of armed timers. */
  get pending(): number {
    return this.timers.size;
  }

  private nextDue(limit: number): VTimer | undefined {
    let best: VTimer | undefined;
    for (const tm of this.timers.values()) {
      if (tm.at <= limit && (best === undefined || tm.at < best.at || (tm.at === best.at && tm.id < best.id))) best = tm;
    }
    return best;
  }

  /** Moves time forward by ms, firing due timers in deadline order (timers armed meanwhile fire too if due). */
  advance(ms: number): void {
    const target = this.t + ms;
    for (let tm = this.nextDue(target); tm !== undefined; tm = this.nextDue(target)) {
      this.timers.delete(tm.id);
      this.t = Math.max(this.t, tm.at);
      tm.fn();
    }
    this.t = target;
  }

  /** Like advance, but lets promise callbacks and I/O run between timer firings. */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.t + ms;
    await flush();
    for (let tm = this.nextDue(target); tm !== undefined; tm = this.nextDue(target)) {
      this.timers.delete(tm.id);
      this.t = Math.max(this.t, tm.at);
      tm.fn();
      await flush();
    }
    this.t = target;
  }

  /** Jumps time forward without firing timers (an event loop that was blocked). */
  stall(ms: number): void {
    this.t += ms;
  }
}

export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
