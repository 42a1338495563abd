import type { TtsCapabilities, TtsPrepareRequest, TtsProvider, TtsRequest } from '../tts/types.js';
import { assertProviders, ProviderHealth, streamWithFallback, type FallbackOptions } from './common.js';

/**
 * An ordered list of voices behaving as one (policy in common.ts). A sentence goes to the first
 * healthy provider; if it fails before its first audio chunk, the next one synthesizes it. Once
 * audio has been passed on, an error is the caller's: the callee would otherwise hear the start of
 * the sentence twice, in two voices.
 *
 * Capabilities: streaming only if all stream; nativeSampleRates are the rates all produce natively
 * (every provider resamples to the requested rate anyway, so any rate still works).
 * `req.voice` is passed to whichever provider answers; a voice name usually means something to one
 * vendor only, so agents set each provider's voice in its own settings rather than per request.
 */
export class FallbackTts implements TtsProvider {
  readonly name: string;
  readonly capabilities: TtsCapabilities;
  readonly health: ProviderHealth<TtsProvider>;

  constructor(
    readonly providers: readonly TtsProvider[],
    private readonly opts: FallbackOptions = {},
  ) {
    assertProviders('tts', providers);
    this.name = providers.map((p) => p.name).join('|');
    const [first, ...rest] = providers as [TtsProvider, ...TtsProvider[]];
    this.capabilities = {
      streaming: providers.every((p) => p.capabilities.streaming),
      nativeSampleRates: first.capabilities.nativeSampleRates.filter((r) => rest.every((p) => p.capabilities.nativeSampleRates.includes(r))),
    };
    this.health = new ProviderHealth(opts);
  }

  /** Readies the provider the next utterance will try first. */
  prepare(req: TtsPrepareRequest): void {
    this.health.order(this.providers)[0]?.prepare?.(req);
  }

  synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    return streamWithFallback('tts', this.providers, this.health, this.opts, req.signal, (p, signal) => p.synthesize({ ...req, signal }));
  }
}
