/**
 * What the fallback adapters (llm.ts, stt.ts, tts.ts) share: the switch report, the per-provider
 * cooldown, and the "replace before output, pass through after" loop over a streamed answer.
 *
 * Policy, the same for every kind:
 * - Providers are tried in the configured order on every turn (request). A provider that fails
 *   before producing output is replaced by the next one within the same turn; once output has
 *   started, an error is passed through (half a sentence is never replayed; a tool call is never
 *   repeated).
 * - Every failure moves on, non-retryable ones included: a bad key or a model name vendor A does
 *   not know says nothing about vendor B, and a call that can go on must not end for it. The last
 *   provider's error is what the caller sees when all fail.
 * - Cooldown: a provider that answered 429 is put last for its Retry-After (default 30 s, at most
 *   5 min), one that refused the key (auth) for 5 min, and one that timed out or could not be
 *   reached for 30 s, since none gets better on the next turn and each would cost the caller a
 *   round trip of silence (a timeout: the whole first-token deadline, every turn). A cooling provider is still tried,
 *   last, rather than never: better late than a dead call. Success clears its cooldown.
 * - Each switch is reported once through onFallback({kind, from, to, error}).
 * - A worker's chains share their cooldowns (cooldowns.ts): chains are built per call.
 */
import type { SharedCooldowns } from './cooldowns.js';
import { realClock, type Clock, type TimerHandle } from '../../time/clock.js';
import { ProviderError, type ProviderErrorCode } from '../errors.js';

export type FallbackKind = 'llm' | 'stt' | 'tts';

export interface FallbackSwitch {
  kind: FallbackKind;
  /** Provider names, as `provider.name`. */
  from: string;
  to: string;
  error: { code: ProviderErrorCode; message: string };
  /** STT only: the failing stream had already produced results (switched for the rest of the call). */
  afterOutput?: boolean;
}

export interface FallbackOptions {
  onFallback?: (s: FallbackSwitch) => void;
  clock?: Clock;
  /** Cooldown after a 429 that gave no Retry-After (default 30 000 ms). */
  rateLimitCooldownMs?: number;
  /** Upper bound of a rate-limit cooldown, whatever Retry-After says (default 300 000 ms). */
  maxCooldownMs?: number;
  /** Cooldown after an auth failure (default 300 000 ms). */
  authCooldownMs?: number;
  /** Cooldown after a timeout or an unreachable / overloaded provider (default 30 000 ms). */
  outageCooldownMs?: number;
  /**
   * LLM/TTS: a provider that has produced nothing this long after the request is abandoned
   * (provider_timeout) for the next one. Off by default: the adapters have their own first-token
   * deadlines; set it for providers that do not.
   */
  firstOutputTimeoutMs?: number;
  /** Cooldowns kept beyond this chain (cooldowns.ts); by default the chain keeps its own. */
  cooldowns?: SharedCooldowns;
}

export interface Named {
  readonly name: string;
}

/** The error as reported: a ProviderError's code, anything else (a bug, a crash) as provider_failed. */
export function describeError(err: unknown): { code: ProviderErrorCode; message: string } {
  if (err instanceof ProviderError) return { code: err.code, message: err.message };
  return { code: 'provider_failed', message: err instanceof Error ? err.message : String(err) };
}

/** Which providers are cooling down after a rate limit or a refused key, on the injected clock. */
export class ProviderHealth<P extends Named> {
  readonly clock: Clock;
  readonly #own = new Map<P, number>();

  constructor(private readonly opts: FallbackOptions) {
    this.clock = opts.clock ?? realClock;
  }

  /** The order to try for one turn: healthy ones as configured, then cooling ones, soonest first. */
  order(providers: readonly P[]): P[] {
    const now = this.clock.now();
    const cooling = (p: P) => (this.#until(p) ?? -Infinity) > now;
    const healthy = providers.filter((p) => !cooling(p));
    const rest = providers.filter(cooling).sort((a, b) => (this.#until(a) ?? 0) - (this.#until(b) ?? 0));
    return [...healthy, ...rest];
  }

  #until(p: P): number | undefined {
    const id = this.opts.cooldowns?.identity(p);
    return id !== undefined ? this.opts.cooldowns?.store.get(id) : this.#own.get(p);
  }

  #set(p: P, until: number | undefined): void {
    const id = this.opts.cooldowns?.identity(p);
    const store: Map<unknown, number> = id !== undefined && this.opts.cooldowns ? this.opts.cooldowns.store : this.#own;
    if (until === undefined) store.delete(id ?? p);
    else store.set(id ?? p, until);
  }

  failed(p: P, err: unknown): void {
    if (!(err instanceof ProviderError)) return;
    let ms: number | undefined;
    if (err.code === 'provider_rate_limited') {
      const after = (err as ProviderError & { retryAfterSeconds?: number }).retryAfterSeconds;
      ms = Math.min(after !== undefined ? after * 1000 : (this.opts.rateLimitCooldownMs ?? 30_000), this.opts.maxCooldownMs ?? 300_000);
    } else if (err.code === 'provider_auth_failed') ms = this.opts.authCooldownMs ?? 300_000;
    else if (err.code === 'provider_timeout' || err.code === 'provider_unavailable') ms = this.opts.outageCooldownMs ?? 30_000;
    if (ms !== undefined && ms > 0) this.#set(p, this.clock.now() + ms);
  }

  succeeded(p: P): void {
    this.#set(p, undefined);
  }
}

/**
 * Runs one turn over `providers` in health order: opens a stream from the first; if it fails (or
 * stays silent past firstOutputTimeoutMs) before its first item, reports the switch and opens the
 * next; after the first item, its items and its error are the caller's. Aborting `signal` ends the
 * turn quietly, like every provider does.
 */
export async function* streamWithFallback<P extends Named, T>(
  kind: FallbackKind,
  providers: readonly P[],
  health: ProviderHealth<P>,
  opts: FallbackOptions,
  signal: AbortSignal | undefined,
  open: (p: P, signal: AbortSignal) => AsyncIterable<T>,
): AsyncGenerator<T> {
  const order = health.order(providers);
  for (let i = 0; i < order.length; i++) {
    const p = order[i] as P;
    if (signal?.aborted) return;
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let it: AsyncIterator<T> | undefined;
    let produced = false;
    let abandoned = false;
    let finished = false;
    try {
      it = open(p, ac.signal)[Symbol.asyncIterator]();
      for (;;) {
        const r = produced ? await it.next() : await firstWithin(it, p, ac, health.clock, opts.firstOutputTimeoutMs, () => (abandoned = true));
        if (r.done) {
          finished = true;
          if (produced) health.succeeded(p);
          return;
        }
        if (!produced) health.succeeded(p);
        produced = true;
        yield r.value;
      }
    } catch (err) {
      finished = true;
      if (signal?.aborted) return;
      if (produced) throw err;
      health.failed(p, err);
      const next = order[i + 1];
      if (next === undefined) throw err;
      opts.onFallback?.({ kind, from: p.name, to: next.name, error: describeError(err) });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // The consumer stopped early (break, barge-in): close the provider's stream so it hangs up.
      // Not an abandoned one: its pending read would hold this up, and the abort already stops it.
      if (!finished && !abandoned && it?.return) await it.return();
    }
  }
}

/** The iterator's first item, or provider_timeout (aborting the attempt) when it takes longer than ms. */
function firstWithin<T>(it: AsyncIterator<T>, p: Named, ac: AbortController, clock: Clock, ms: number | undefined, onAbandon: () => void): Promise<IteratorResult<T>> {
  const next = it.next();
  if (ms === undefined) return next;
  return new Promise((resolve, reject) => {
    const timer: TimerHandle = clock.setTimer(ms, () => {
      onAbandon();
      ac.abort();
      // The abandoned read settles later (quietly, after the abort) or never; either way it no
      // longer decides anything, so its outcome is deliberately dropped here.
      next.then(
        () => undefined,
        () => undefined,
      );
      reject(new ProviderError('provider_timeout', `${p.name}: no output within ${ms} ms`, true));
    });
    next.then(
      (r) => {
        clock.clearTimer(timer);
        resolve(r);
      },
      (err: unknown) => {
        clock.clearTimer(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export function assertProviders(kind: FallbackKind, providers: readonly unknown[]): void {
  if (providers.length === 0) throw new ProviderError('provider_bad_request', `a ${kind} fallback needs at least one provider`, false);
}
