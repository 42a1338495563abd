/**
 * Cooldowns shared by every provider chain of this worker thread. Chains are built per call, so a
 * chain's own cooldowns would be forgotten when its call ends, and the next call would try the
 * vendor with the revoked key (or the one down) first again, paying its failure before each first
 * answer. Providers are named by what their health depends on: kind, vendor, endpoint, model and
 * key (digested, so the map holds no key in clear), not by the per-call object.
 */
import { createHash } from 'node:crypto';
import type { ResolvedProviderSettings } from '../settings.js';

export interface SharedCooldowns {
  /** Until when (clock ms) each provider identity is put last. */
  readonly store: Map<string, number>;
  /** A provider's identity, or undefined for one that was not named (kept per chain). */
  identity(p: object): string | undefined;
}

const ids = new WeakMap<object, string>();

/** This thread's cooldowns (module state: one per worker thread). */
export const workerCooldowns: SharedCooldowns = { store: new Map(), identity: (p) => ids.get(p) };

/** Names `p` for the shared cooldowns by the settings it was made from; returns `p`. */
export function identify<P extends object>(p: P, kind: string, s: ResolvedProviderSettings): P {
  const key = s.api_key ? createHash('sha256').update(s.api_key).digest('hex') : '';
  ids.set(p, [kind, s.provider, s.base_url ?? '', s.model ?? '', key].join('\n'));
  return p;
}
