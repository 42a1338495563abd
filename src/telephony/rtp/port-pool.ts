/**
 * Even-port pool for RTP (RFC 3550 §11: RTP on an even port, RTCP on the next odd one). A port is
 * never handed out twice while in use; released ports go to the back of the rotation so a late
 * packet for a finished call is unlikely to reach the next call on the same port.
 */

export interface PortPoolOptions {
  min?: number;
  max?: number;
}

export class PortPoolExhaustedError extends Error {
  readonly code = 'PORT_POOL_EXHAUSTED';
  constructor(min: number, max: number) {
    super(`no free even RTP port in ${min}-${max}`);
    this.name = 'PortPoolExhaustedError';
  }
}

export class PortPool {
  readonly min: number;
  readonly max: number;
  private readonly free: number[] = [];
  private head = 0;
  private readonly inUse = new Set<number>();

  constructor(opts: PortPoolOptions = {}) {
    const min = opts.min ?? 10000;
    const max = opts.max ?? 20000;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65535 || min > max) {
      throw new RangeError(`bad RTP port range ${min}-${max}`);
    }
    this.min = min + (min % 2); // first even port
    this.max = max;
    // RTCP uses port+1, so the last usable RTP port is the last even p with p+1 ≤ max.
    for (let p = this.min; p + 1 <= max; p += 2) this.free.push(p);
    if (this.free.length === 0) throw new RangeError(`RTP port range ${min}-${max} holds no even/odd pair`);
  }

  get capacity(): number {
    return this.free.length - this.head + this.inUse.size;
  }

  get used(): number {
    return this.inUse.size;
  }

  /** Takes a free even port; throws PortPoolExhaustedError when none is left. */
  acquire(): number {
    if (this.head >= this.free.length) throw new PortPoolExhaustedError(this.min, this.max);
    const p = this.free[this.head++] as number;
    // compact occasionally so the array does not grow without bound
    if (this.head > 1024 && this.head * 2 > this.free.length) {
      this.free.splice(0, this.head);
      this.head = 0;
    }
    this.inUse.add(p);
    return p;
  }

  /** Returns a port; releasing a port not in use is ignored (idempotent close paths). */
  release(port: number): void {
    if (!this.inUse.delete(port)) return;
    this.free.push(port);
  }

  isInUse(port: number): boolean {
    return this.inUse.has(port);
  }
}
