/**
 * When to try a failed delivery again: exponential (5 s, 15 s, 45 s, ... capped at 4 h) with ±20%
 * jitter so many failing deliveries do not retry in lockstep. Deliveries keep retrying until 26 h
 * after the event, so a receiver that is down for a day still gets everything.
 */
export const RETRY_WINDOW_MS = 26 * 60 * 60 * 1000;
const BASE_MS = 5_000;
const CAP_MS = 4 * 60 * 60 * 1000;

export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(CAP_MS, BASE_MS * 3 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Outcome of one attempt, decided from the HTTP result (no side effects). */
export type AttemptOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; minDelayMs?: number }
  | { kind: 'give_up' };

/**
 * 2xx is delivered. Network errors, timeouts, 5xx, 408 and 429 are retried (429's Retry-After is
 * honored up to an hour). Other answers (3xx: redirects are not followed; 4xx: the receiver refuses)
 * are final: retrying would send the same bytes to the same refusal.
 */
export function classify(result: { status?: number; retryAfterS?: number; networkError?: boolean }): AttemptOutcome {
  if (result.networkError || result.status === undefined) return { kind: 'retry' };
  const s = result.status;
  if (s >= 200 && s < 300) return { kind: 'delivered' };
  if (s === 429) {
    return result.retryAfterS !== undefined ? { kind: 'retry', minDelayMs: Math.min(result.retryAfterS, 3600) * 1000 } : { kind: 'retry' };
  }
  if (s >= 500 || s === 408) return { kind: 'retry' };
  return { kind: 'give_up' };
}
