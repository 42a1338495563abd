import { FrameChunker, Resampler, samplesPerFrame } from '../media/index.js';
import type { TtsProvider } from '../providers/tts/types.js';

/**
 * Greeting audio is synthesized at this rate while the phone rings, unless the caller knows the rate
 * the leg will most likely have (then converted to the leg's actual rate at answer if it differs).
 */
export const GREETING_RATE = 16000;

/**
 * Synthesizes the greeting as soon as the call is dialed, so its first packet can leave the moment
 * the callee answers instead of after a synthesis delay. Chunks are kept as they arrive; playout
 * takes what is there and waits for the rest.
 */
export class PendingGreeting {
  readonly #chunks: Int16Array[] = [];
  #done = false;
  #error: unknown;
  #wake: (() => void) | undefined;
  readonly #abort = new AbortController();
  #markStarted: () => void = () => undefined;
  /** Resolves with the first audio chunk, or when synthesis ends (done, failed or canceled) without one. */
  readonly #started = new Promise<void>((resolve) => (this.#markStarted = resolve));

  constructor(
    tts: TtsProvider,
    text: string,
    voice: string | undefined,
    /** The rate to synthesize at: the leg's expected rate saves a resampling hop (and a vendor makes it natively). */
    private readonly rate: number = GREETING_RATE,
  ) {
    void this.#run(tts, text, voice);
  }

  async #run(tts: TtsProvider, text: string, voice: string | undefined): Promise<void> {
    try {
      for await (const c of tts.synthesize({ text, sampleRate: this.rate, signal: this.#abort.signal, ...(voice ? { voice } : {}) })) {
        this.#chunks.push(c);
        this.#markStarted();
        this.#wake?.();
      }
    } catch (err) {
      this.#error = err;
    } finally {
      this.#done = true;
      this.#markStarted();
      this.#wake?.();
    }
  }

  /** Resolves once the first audio is there (or synthesis is over): playing can start without a gap. */
  started(): Promise<void> {
    return this.#started;
  }

  /** Yields the greeting as 20 ms frames at `rate`, as fast as synthesis allows. Throws what synthesis threw. */
  async *frames(rate: number): AsyncIterable<Int16Array> {
    const resampler = rate === this.rate ? undefined : new Resampler(this.rate, rate);
    const chunker = new FrameChunker(samplesPerFrame(rate));
    let i = 0;
    for (;;) {
      while (i < this.#chunks.length) {
        const c = this.#chunks[i++] as Int16Array;
        yield* chunker.push(resampler ? resampler.process(c) : c);
      }
      if (this.#done) break;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
    if (this.#error !== undefined) throw this.#error;
    if (resampler) yield* chunker.push(resampler.flush());
    const last = chunker.flush();
    if (last) yield last;
  }

  cancel(): void {
    this.#abort.abort();
  }
}
