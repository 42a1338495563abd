import { ProviderError } from '../errors.js';
import type { VadOptions, VadProvider, VadStream } from './types.js';

/**
 * A preferred VAD with a fallback: streams come from `primary` (Silero) until it cannot run at all
 * (its model will not load: provider_unavailable), then from `fallback` (energy) for good, and
 * `onFallback` hears about it once. Other errors (a bad rate, bad options) are the caller's and
 * pass through. One instance per media thread, so the switch and the log happen once per thread.
 */
export class FallbackVad implements VadProvider {
  readonly name: string;
  readonly capabilities: VadProvider['capabilities'];
  #useFallback = false;

  constructor(
    private readonly primary: VadProvider,
    private readonly fallback: VadProvider,
    private readonly onFallback: (err: ProviderError) => void = () => undefined,
  ) {
    this.name = primary.name;
    // Only rates both can take: a stream must not be refused after a switch.
    this.capabilities = { sampleRates: primary.capabilities.sampleRates.filter((r) => fallback.capabilities.sampleRates.includes(r)) };
  }

  /** The provider new streams come from now. */
  get active(): VadProvider {
    return this.#useFallback ? this.fallback : this.primary;
  }

  async prepare(): Promise<void> {
    await this.primary.prepare?.();
  }

  async create(opts: VadOptions): Promise<VadStream> {
    if (this.#useFallback) return this.fallback.create(opts);
    try {
      return await this.primary.create(opts);
    } catch (err) {
      if (!(err instanceof ProviderError) || err.code !== 'provider_unavailable') throw err;
      if (!this.#useFallback) {
        this.#useFallback = true;
        this.onFallback(err);
      }
      return this.fallback.create(opts);
    }
  }
}
