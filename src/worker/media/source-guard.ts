/**
 * Scanners cost us almost nothing: a source address whose INVITEs the control side refused 403 (not
 * a trunk's) too often is refused 403 at once, on the media thread, for a while, without a question
 * to the control side or the store. Only 403 counts: a trunk dialing numbers we do not have gets 404
 * and is never blocked. Fixed windows per source; the table is bounded (oldest entries go first).
 */
export interface SourceGuardOptions {
  /** 403s within windowMs that block the source. */
  limit: number;
  windowMs: number;
  /** How long a blocked source is refused at once. */
  blockMs: number;
  /** Most sources remembered. */
  maxSources: number;
  now: () => number;
}

export const SOURCE_GUARD_DEFAULTS = { limit: 10, windowMs: 60_000, blockMs: 300_000, maxSources: 10_000 } as const;

interface Entry {
  windowStart: number;
  count: number;
  blockedUntil: number;
}

export class SourceGuard {
  readonly #o: SourceGuardOptions;
  readonly #sources = new Map<string, Entry>();

  constructor(o: Partial<SourceGuardOptions> = {}) {
    this.#o = { ...SOURCE_GUARD_DEFAULTS, now: Date.now, ...o };
  }

  /** Whether INVITEs from this source are refused at once. */
  blocked(source: string): boolean {
    const e = this.#sources.get(source);
    return e !== undefined && this.#o.now() < e.blockedUntil;
  }

  /** The control side refused an INVITE from this source 403: counted toward a block. */
  refused(source: string): void {
    const now = this.#o.now();
    let e = this.#sources.get(source);
    if (!e || now - e.windowStart >= this.#o.windowMs) {
      if (e && now < e.blockedUntil) return;
      e = { windowStart: now, count: 0, blockedUntil: e?.blockedUntil ?? 0 };
    }
    e.count++;
    if (e.count >= this.#o.limit) e.blockedUntil = now + this.#o.blockMs;
    // Re-inserted last: the Map's order is the eviction order.
    this.#sources.delete(source);
    this.#sources.set(source, e);
    if (this.#sources.size > this.#o.maxSources) {
      const oldest = this.#sources.keys().next().value;
      if (oldest !== undefined) this.#sources.delete(oldest);
    }
  }

  get size(): number {
    return this.#sources.size;
  }
}
