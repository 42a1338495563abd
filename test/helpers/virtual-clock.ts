/** Virtual time for protocol tests: timers fire only when the test advances the clock. */
import type { Clock, TimerHandle } from '../../src/telephony/clock.js';

interface VTimer extends TimerHandle {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export class VirtualClock implements Clock {
  private t = 0;
  private nextId = 1;
  private readonly timers = new Map<number, VTimer>();

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: VTimer = { __timer: true, id: this.nextId++, at: this.t + Math.max(0, ms), fn };
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
      this.t = tm.at;
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
      this.t = tm.at;
      tm.fn();
      await flush();
    }
    this.t = target;
  }
}

export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
