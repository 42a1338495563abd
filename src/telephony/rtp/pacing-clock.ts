/**
 * One shared pacing clock for every RTP leg in a process.
 *
 * Measured on this project's machines (shared/reference/README.md): per-stream setInterval drifts and
 * at 1000 streams left 7% of packets unsent; one shared timer re-armed against absolute deadlines kept
 * p99 lateness at 2.6 ms. So: a single timer; the 20 ms period is cut into `slots` phases and each leg
 * is assigned the least-loaded phase, which spreads the send work (and the socket syscalls) evenly
 * across the period instead of bursting every leg at once.
 *
 * Deadlines are absolute (Clock.now(), monotonic). When the timer fires:
 * - early (Node does fire timers up to ~1 ms early): the slot is not skipped; the timer is re-armed
 *   for the remaining time, so there is never a 20 ms hole;
 * - late: every slot whose deadline has passed is run in order (catch-up). Each leg then sends the
 *   packets it owes, at most `maxBurst` at once (the leg enforces it); beyond that the leg skips
 *   ahead instead of bursting, since a burst larger than the peer's jitter buffer is lost anyway.
 */
import { realClock, type Clock, type TimerHandle } from '../../time/clock.js';

export interface PacedLeg {
  /** Called from the clock's tick at (or after) the leg's slot deadline. `now` is Clock time. */
  onTick(now: number): void;
}

export interface PacingRegistration {
  /** Absolute time of this leg's first 20 ms grid point (its phase); later ones are + k·periodMs. */
  readonly firstDeadline: number;
  readonly slot: number;
  unregister(): void;
}

export interface PacingClockOptions {
  time?: Clock;
  periodMs?: number;
  /** Phases per period. 10 → a tick every 2 ms at most. */
  slots?: number;
  /** A timer firing this early is treated as on time (sub-ms early sends are harmless). */
  earlyToleranceMs?: number;
}

export interface PacingClockStats {
  ticks: number;
  earlyWakeups: number;
  /** Slots run more than one slot-width late (catch-up). */
  lateSlots: number;
  /** Slots skipped entirely because the loop was stalled for more than a whole period. */
  skippedSlots: number;
  legs: number;
}

export class PacingClock {
  readonly time: Clock;
  readonly periodMs: number;
  readonly slotCount: number;
  readonly slotMs: number;
  private readonly earlyToleranceMs: number;
  private readonly slots: Array<Set<PacedLeg>>;
  private epoch: number;
  /** Index (absolute count since epoch) of the next slot to run. */
  private nextSlot = 0;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private legCount = 0;
  private readonly counters: PacingClockStats = { ticks: 0, earlyWakeups: 0, lateSlots: 0, skippedSlots: 0, legs: 0 };
  private tickErrors = 0;
  /** Errors thrown by a leg's onTick are reported here (never swallowed, never stop other legs). */
  onError: (err: unknown) => void = (err) => {
    this.tickErrors++;
    process.emitWarning(`pacing clock: leg tick threw: ${String(err)}`);
  };

  private static sharedClock: PacingClock | undefined;

  /** The process-wide clock (real time). Create your own only for tests or a separate worker. */
  static shared(): PacingClock {
    PacingClock.sharedClock ??= new PacingClock();
    return PacingClock.sharedClock;
  }

  constructor(opts: PacingClockOptions = {}) {
    this.time = opts.time ?? realClock;
    this.periodMs = opts.periodMs ?? 20;
    this.slotCount = opts.slots ?? 10;
    this.slotMs = this.periodMs / this.slotCount;
    this.earlyToleranceMs = opts.earlyToleranceMs ?? 0.25;
    this.slots = Array.from({ length: this.slotCount }, () => new Set<PacedLeg>());
    this.epoch = this.time.now();
  }

  stats(): PacingClockStats {
    return { ...this.counters, legs: this.legCount };
  }

  /** Registers a leg on the least-loaded phase. Its first deadline is at least one slot from now. */
  register(leg: PacedLeg): PacingRegistration {
    if (this.legCount === 0) {
      // Idle clock: restart the grid at now so the slot counter does not need to catch up.
      this.epoch = this.time.now();
      this.nextSlot = 1;
    }
    let best = 0;
    for (let i = 1; i < this.slotCount; i++) {
      if ((this.slots[i] as Set<PacedLeg>).size < (this.slots[best] as Set<PacedLeg>).size) best = i;
    }
    const set = this.slots[best] as Set<PacedLeg>;
    set.add(leg);
    this.legCount++;
    // First absolute slot index > nextSlot-1 with this phase:
    let k = this.nextSlot + ((best - (this.nextSlot % this.slotCount) + this.slotCount) % this.slotCount);
    if (k < this.nextSlot) k += this.slotCount;
    const firstDeadline = this.slotDeadline(k);
    this.arm();
    let registered = true;
    return {
      firstDeadline,
      slot: best,
      unregister: () => {
        if (!registered) return;
        registered = false;
        set.delete(leg);
        this.legCount--;
        if (this.legCount === 0) this.disarm();
      },
    };
  }

  private slotDeadline(k: number): number {
    return this.epoch + k * this.slotMs;
  }

  private arm(): void {
    const at = this.slotDeadline(this.nextSlot);
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.disarm();
    this.timerAt = at;
    this.timer = this.time.setTimer(at - this.time.now(), () => this.onTimer());
  }

  private disarm(): void {
    if (this.timer !== undefined) this.time.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.legCount === 0) return;
    this.counters.ticks++;
    const now = this.time.now();
    const due = this.slotDeadline(this.nextSlot);
    if (now < due - this.earlyToleranceMs) {
      this.counters.earlyWakeups++;
      this.arm();
      return;
    }
    // If stalled for more than a whole period, run each phase once (legs catch up themselves,
    // bounded) and jump the slot counter forward instead of replaying every missed slot.
    const behind = Math.floor((now + this.earlyToleranceMs - due) / this.slotMs); // slots overdue beyond the first
    if (behind >= this.slotCount) {
      const skip = behind - this.slotCount + 1;
      this.counters.skippedSlots += skip;
      this.nextSlot += skip;
    }
    while (this.slotDeadline(this.nextSlot) <= now + this.earlyToleranceMs) {
      if (now - this.slotDeadline(this.nextSlot) > this.slotMs) this.counters.lateSlots++;
      const set = this.slots[this.nextSlot % this.slotCount] as Set<PacedLeg>;
      this.nextSlot++;
      for (const leg of set) {
        try {
          leg.onTick(now);
        } catch (err) {
          this.onError(err);
        }
      }
      if (this.legCount === 0) return;
    }
    this.arm();
  }

  /** Number of errors thrown by legs (also reported through onError). */
  get errors(): number {
    return this.tickErrors;
  }
}

/**
 * Per-leg grid arithmetic shared by MediaSession: tells how many 20 ms packets are due at `now`,
 * bounded by maxBurst, and how many grid points were skipped beyond that bound.
 */
export class LegSchedule {
  private next: number;
  readonly periodMs: number;
  readonly maxBurst: number;

  constructor(firstDeadline: number, periodMs = 20, maxBurst = 3) {
    this.next = firstDeadline;
    this.periodMs = periodMs;
    this.maxBurst = maxBurst;
  }

  /** The grid time of the next packet to send. */
  get nextDeadline(): number {
    return this.next;
  }

  /**
   * Returns the grid deadlines of packets to send now (oldest first) and the number skipped.
   * `tolerance` lets a sub-ms-early tick count as on time.
   */
  due(now: number, tolerance = 0.25): { deadlines: number[]; skipped: number } {
    const count = this.take(now, tolerance);
    const deadlines: number[] = [];
    for (let i = 0; i < count; i++) deadlines.push(this.firstTaken + i * this.periodMs);
    return { deadlines, skipped: this.lastSkipped };
  }

  /** Grid time of the first packet returned by the last take(). */
  firstTaken = 0;
  /** Grid points skipped by the last take() (beyond maxBurst). */
  lastSkipped = 0;

  /**
   * Allocation-free form of due() for the per-packet hot path: returns how many packets to send
   * now; their grid times are firstTaken + k·periodMs; lastSkipped tells how many were skipped.
   */
  take(now: number, tolerance = 0.25): number {
    this.lastSkipped = 0;
    const owed = Math.floor((now + tolerance - this.next) / this.periodMs) + 1;
    if (owed <= 0) return 0;
    if (owed > this.maxBurst) {
      this.lastSkipped = owed - this.maxBurst;
      this.next += this.lastSkipped * this.periodMs;
    }
    this.firstTaken = this.next;
    let n = 0;
    while (this.next <= now + tolerance) {
      n++;
      this.next += this.periodMs;
    }
    return n;
  }
}
