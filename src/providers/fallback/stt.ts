import { ProviderError } from '../errors.js';
import { SttEventQueue } from '../stt/event-queue.js';
import type { SttCapabilities, SttEvent, SttProvider, SttStartOptions, SttStream } from '../stt/types.js';
import { assertProviders, describeError, ProviderHealth, type FallbackOptions } from './common.js';

export interface FallbackSttOptions extends FallbackOptions {
  /** Audio kept for replay into a replacement stream (default 10 000 ms). */
  replayMs?: number;
}

/**
 * An ordered list of recognizers behaving as one (policy in common.ts). Unlike a turn, an STT
 * stream lives as long as the call, so a failure is handled inside the stream:
 * - start(): a provider that refuses synchronously (unsupported rate or language, no key) is
 *   replaced by the next at once; start() throws only when every provider refuses.
 * - An `error` event (or an unexpected `closed`) from the current stream starts the next
 *   provider's stream for the rest of the call, reported through onFallback (`afterOutput` tells
 *   whether the failed one had produced results). The callee keeps talking, and a deaf agent is
 *   worse than a switch of engine.
 * - The audio not yet settled into a final (everything, before the first final), at most the last
 *   `replayMs`, is replayed into the replacement, so words said while the old stream was failing
 *   are not lost, and words already finalized are not transcribed twice. The replacement's times
 *   are shifted back onto this stream's clock.
 * - When no provider is left, the last error is passed on, then `closed`.
 *
 * Capabilities: sampleRates are the rates at least one provider accepts (a provider listing none
 * takes any rate, and so does the chain), and a provider that refuses the call's rate is skipped at
 * start and at a switch. A narrowband call with a cloud recognizer first and a wideband-only local
 * one as fallback therefore still runs on the cloud one: taking only the rates every provider
 * accepts would refuse that call outright, losing a working recognizer for the sake of a fallback.
 * streaming and interimResults only if all have them (partials may stop after a switch).
 */
export class FallbackStt implements SttProvider {
  readonly name: string;
  readonly capabilities: SttCapabilities;
  readonly health: ProviderHealth<SttProvider>;

  constructor(
    readonly providers: readonly SttProvider[],
    private readonly opts: FallbackSttOptions = {},
  ) {
    assertProviders('stt', providers);
    this.name = providers.map((p) => p.name).join('|');
    const lists = providers.map((p) => p.capabilities.sampleRates);
    const anyRate = lists.some((r) => r.length === 0);
    const union = anyRate ? [] : [...new Set(lists.flat())].sort((a, b) => a - b);
    this.capabilities = {
      streaming: providers.every((p) => p.capabilities.streaming),
      interimResults: providers.every((p) => p.capabilities.interimResults),
      sampleRates: union,
    };
    this.health = new ProviderHealth(opts);
  }

  start(opts: SttStartOptions): SttStream {
    return new FallbackSttStream(this.health.order(this.providers), this.health, this.opts, opts);
  }
}

interface Current {
  provider: SttProvider;
  stream: SttStream;
  ac: AbortController;
  /** This stream's time 0 on the outer stream's clock. */
  offsetMs: number;
  produced: boolean;
}

class FallbackSttStream implements SttStream {
  readonly #q = new SttEventQueue();
  readonly #maxSamples: number;
  /** Recent frames with the outer sample index of their first sample. */
  #frames: Array<{ at: number; pcm: Int16Array }> = [];
  #buffered = 0;
  #pushed = 0;
  /** Outer sample index up to which audio has been settled into finals. */
  #settled = 0;
  #ended = false;
  #next = 0;
  #current: Current | undefined;

  constructor(
    private readonly order: readonly SttProvider[],
    private readonly health: ProviderHealth<SttProvider>,
    private readonly opts: FallbackSttOptions,
    private readonly start: SttStartOptions,
  ) {
    this.#maxSamples = Math.round(((opts.replayMs ?? 10_000) * start.sampleRate) / 1000);
    start.signal?.addEventListener('abort', () => this.#current?.ac.abort(), { once: true });
    const err = this.#open(undefined);
    // Every provider refused to start: the caller hears it the way a single provider would say it.
    if (err !== undefined) throw err;
  }

  push(frame: Int16Array): void {
    if (this.#ended || this.#q.closed || this.start.signal?.aborted) return;
    this.#frames.push({ at: this.#pushed, pcm: frame });
    this.#pushed += frame.length;
    this.#buffered += frame.length;
    this.#trim();
    this.#current?.stream.push(frame);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#current?.stream.end();
  }

  /** The vocabulary hint goes to the provider hearing now, and to any that takes over. */
  setVocabulary(phrases: readonly string[]): void {
    this.start.vocabulary = [...phrases];
    this.#current?.stream.setVocabulary?.(phrases);
  }

  [Symbol.asyncIterator](): AsyncIterator<SttEvent> {
    return this.#q[Symbol.asyncIterator]();
  }

  /**
   * Starts the next provider that accepts the stream, replaying unsettled audio. Returns the last
   * start error when none is left (nothing started).
   */
  #open(failed: { from: SttProvider; error: unknown; afterOutput: boolean } | undefined): unknown {
    let why = failed;
    while (this.#next < this.order.length) {
      const p = this.order[this.#next++] as SttProvider;
      if (why) this.opts.onFallback?.({ kind: 'stt', from: why.from.name, to: p.name, error: describeError(why.error), ...(why.afterOutput ? { afterOutput: true } : {}) });
      const ac = new AbortController();
      if (this.start.signal?.aborted) ac.abort();
      let stream: SttStream;
      try {
        stream = p.start({ ...this.start, signal: ac.signal });
      } catch (err) {
        this.health.failed(p, err);
        why = { from: p, error: err, afterOutput: false };
        continue;
      }
      // #trim keeps exactly the unsettled audio within the replay window.
      const replay = this.#frames;
      const offsetMs = ((replay[0]?.at ?? this.#pushed) * 1000) / this.start.sampleRate;
      const cur: Current = { provider: p, stream, ac, offsetMs, produced: false };
      this.#current = cur;
      for (const f of replay) stream.push(f.pcm);
      if (this.#ended) stream.end();
      void this.#pump(cur); // #pump handles every outcome of the stream itself
      return undefined;
    }
    return why?.error ?? new ProviderError('provider_unavailable', 'no stt provider could start', true);
  }

  async #pump(cur: Current): Promise<void> {
    let failure: unknown;
    try {
      for await (const ev of cur.stream) {
        if (this.#current !== cur) return;
        if (ev.type === 'partial') {
          cur.produced = true;
          this.health.succeeded(cur.provider);
          this.#q.emit(ev);
        } else if (ev.type === 'final') {
          cur.produced = true;
          this.health.succeeded(cur.provider);
          const shifted = { ...ev, startMs: ev.startMs + cur.offsetMs, endMs: ev.endMs + cur.offsetMs };
          this.#settled = Math.max(this.#settled, Math.round((shifted.endMs * this.start.sampleRate) / 1000));
          this.#trim();
          this.#q.emit(shifted);
        } else if (ev.type === 'error') {
          failure = ev.error;
          break;
        } else {
          if (this.#ended || this.start.signal?.aborted) {
            this.#q.emit(ev);
            return;
          }
          failure = new ProviderError('provider_failed', `${cur.provider.name}: the recognizer closed while the call went on`, true);
          break;
        }
      }
    } catch (err) {
      failure = err;
    }
    if (this.#current !== cur) return;
    if (failure === undefined) failure = new ProviderError('provider_failed', `${cur.provider.name}: the event stream ended without closed`, true);
    this.#failover(cur, failure);
  }

  #failover(cur: Current, error: unknown): void {
    cur.ac.abort(); // the old engine stops; its remaining events are ignored
    this.#current = undefined;
    if (this.start.signal?.aborted) {
      this.#q.emit({ type: 'closed' });
      return;
    }
    this.health.failed(cur.provider, error);
    const last = this.#open({ from: cur.provider, error, afterOutput: cur.produced });
    if (last === undefined) return;
    const e = last instanceof ProviderError ? last : new ProviderError('provider_failed', describeError(last).message, true);
    this.#q.emit({ type: 'error', error: e });
    this.#q.emit({ type: 'closed' });
  }

  /** Drops settled audio and audio older than the replay window. */
  #trim(): void {
    while (this.#frames.length > 0) {
      const f = this.#frames[0] as { at: number; pcm: Int16Array };
      const settled = f.at + f.pcm.length <= this.#settled;
      if (!settled && this.#buffered - f.pcm.length < this.#maxSamples) break;
      this.#frames.shift();
      this.#buffered -= f.pcm.length;
    }
  }
}
