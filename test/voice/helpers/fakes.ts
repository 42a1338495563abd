import { ProviderError } from '../../../src/providers/errors.js';
import type { SttEvent, SttProvider, SttStartOptions, SttStream } from '../../../src/providers/stt/types.js';
import type { TtsProvider, TtsRequest } from '../../../src/providers/tts/types.js';
import type { VadEvent, VadFrameResult, VadProvider, VadStream } from '../../../src/providers/vad/types.js';

/** A VAD the test drives: speechStart()/speechEnd() take effect on the next pushed frame. */
export class FakeVad implements VadProvider {
  readonly name = 'fake-vad';
  readonly capabilities: { sampleRates: number[] };
  /** Sample count of every frame pushed, to check the rate the VAD was fed. */
  readonly frameLengths: number[] = [];
  #speaking = false;
  constructor(sampleRates: number[] = [8000, 16000]) {
    this.capabilities = { sampleRates };
  }
  #pending: Array<'start' | 'end'> = [];
  #audioMs = 0;
  speechStart(): void {
    this.#pending.push('start');
  }
  speechEnd(): void {
    this.#pending.push('end');
  }
  async create(opts: { sampleRate: number }): Promise<VadStream> {
    return {
      sampleRate: opts.sampleRate,
      push: async (frame: Int16Array): Promise<VadFrameResult> => {
        this.frameLengths.push(frame.length);
        const at = this.#audioMs;
        this.#audioMs += 20;
        const events: VadEvent[] = [];
        for (const p of this.#pending.splice(0)) {
          this.#speaking = p === 'start';
          events.push(p === 'start' ? { type: 'speech_start', atMs: at } : { type: 'speech_end', atMs: at, durationMs: 0 });
        }
        return { probability: this.#speaking ? 1 : 0, speaking: this.#speaking, events };
      },
      end: async () => [],
    };
  }
}

/**
 * An STT the test drives: final('yes please') is delivered to the session's stream, its audio ending
 * where the audio pushed so far does (or at `endMs`).
 */
export class FakeStt implements SttProvider {
  readonly name = 'fake-stt';
  readonly capabilities: { streaming: boolean; interimResults: boolean; sampleRates: number[] };
  constructor(sampleRates: number[] = [8000, 16000]) {
    this.capabilities = { streaming: true, interimResults: true, sampleRates };
  }
  pushed = 0;
  /** ms of audio pushed (20 ms frames). */
  #audioMs = 0;
  #queue: SttEvent[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  /** Where the last final ended: the next utterance began after it, and at most 1 s before its end (its startMs, unless given). */
  #lastEndMs = 0;
  final(text: string, endMs = this.#audioMs, startMs = Math.min(Math.max(this.#lastEndMs, endMs - 1000), endMs)): void {
    this.#lastEndMs = endMs;
    this.#put({ type: 'final', text, startMs, endMs });
  }
  partial(text: string): void {
    this.#put({ type: 'partial', text });
  }
  /** A final the engine gives only once it is told the audio is over (end()), as a real one settles its last utterance. */
  #onEnd: string | undefined;
  finalOnEnd(text: string): void {
    this.#onEnd = text;
  }
  fail(error: ProviderError): void {
    this.#put({ type: 'error', error });
  }
  #put(e: SttEvent): void {
    this.#queue.push(e);
    this.#wake?.();
  }
  start(opts: SttStartOptions): SttStream {
    opts.signal?.addEventListener('abort', () => {
      this.#closed = true;
      this.#wake?.();
    });
    const self = this;
    return {
      push: () => {
        self.pushed++;
        self.#audioMs += 20;
      },
      end: () => {
        if (self.#onEnd !== undefined) self.final(self.#onEnd);
        self.#onEnd = undefined;
        self.#closed = true;
        self.#wake?.();
      },
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const e = self.#queue.shift();
          if (e) {
            yield e;
            continue;
          }
          if (self.#closed) break;
          await new Promise<void>((r) => (self.#wake = r));
        }
        yield { type: 'closed' } as SttEvent;
      },
    };
  }
}

/** TTS: 100 ms of tone per word, one chunk per word, with a macrotask between words (abortable). */
export class ToneTts implements TtsProvider {
  readonly name = 'tone';
  readonly capabilities = { streaming: true, nativeSampleRates: [8000] };
  readonly requests: string[] = [];
  /** The rates prepare() was called with, in order. */
  readonly prepared: number[] = [];
  failWhen: ((text: string) => boolean) | undefined;
  prepare(req: { sampleRate: number }): void {
    this.prepared.push(req.sampleRate);
  }
  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    this.requests.push(req.text);
    if (this.failWhen?.(req.text)) throw new ProviderError('provider_failed', 'tone: scripted failure', false);
    for (const _ of req.text.split(/\s+/).filter((w) => w !== '')) {
      await new Promise((r) => setImmediate(r));
      if (req.signal?.aborted) return;
      yield new Int16Array(req.sampleRate / 10).fill(3000);
    }
  }
}
