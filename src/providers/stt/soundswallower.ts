/**
 * Recognition from npm alone: soundswallower (CMU's PocketSphinx decoder compiled to WebAssembly,
 * MIT) runs in-process with the 8 kHz US English acoustic model it ships. It has no n-gram language
 * model, only grammars, so it hears a closed vocabulary: what the dialogue can hear at that point
 * (SttStartOptions.vocabulary, then SttStream.setVocabulary per listen), built into a JSGF grammar
 * with yes/no words, digits and a loop of common filler words (grammar.ts). That is enough for a
 * flow agent's keyword branches and the sandbox personas' cues; an LLM agent needs an
 * open-vocabulary recognizer and is refused before dialing (src/agents/hearing.ts).
 *
 * Utterances are cut by an energy endpointer over 20 ms frames: speech starts after 60 ms above
 * the threshold (with 60 ms of audio before it kept, so the first phone is not lost) and ends after
 * `endSilenceMs` below it. The utterance is decoded whole once it ends: the model normalizes each
 * utterance by its own cepstral mean (`cmn current`), which a decoder fed live only estimates from
 * what came before, and on phone answers (one to three seconds) that cost the first word ("yes").
 * Decoding takes 0.1-0.3 s per second of speech here, so the final comes that long after the end
 * silence. 16 kHz legs are downsampled to 8 kHz (the model's rate).
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { Resampler } from '../../media/resampler.js';
import { rmsDbfs } from '../vad/energy.js';
import { ProviderError } from '../errors.js';
import { SttEventQueue } from './event-queue.js';
import { buildGrammar } from './grammar.js';
import type { SttEvent, SttProvider, SttStartOptions, SttStream } from './types.js';

/** The parts of soundswallower's Decoder we use (its own types need moduleResolution node16 paths). */
interface SsDecoder {
  initialize(): Promise<unknown>;
  start(): void;
  stop(): void;
  process_audio(pcm: Float32Array, noSearch?: boolean, fullUtt?: boolean): number;
  get_text(): string;
  lookup_word(word: string): string | null;
  set_grammar(jsgf: string): void;
  delete(): void;
}
interface SsModule {
  Decoder: new (config?: Record<string, string | number | boolean>) => SsDecoder;
}

export interface SoundswallowerOptions {
  /** Trailing silence that ends an utterance (default 300 ms). */
  endSilenceMs?: number;
  /** Frame level (dBFS) above which a frame counts as speech (default -45). */
  speechDb?: number;
  /** Told once per word the dictionary cannot pronounce (it is left out of the grammar). */
  warn?: (message: string) => void;
}

const RATE = 8000;
const FRAME = RATE / 50; // 20 ms
const PRE_ROLL_FRAMES = 3; // 60 ms kept before the detected start (more lets the decoder put a filler word in the silence: 'ask' for 'yes')
const START_FRAMES = 3; // 60 ms of speech starts an utterance
const MIN_SPEECH_FRAMES = 8; // shorter bursts (a click, a breath) are not utterances
/** Audio waiting for the decoder to load (about a second at first use) beyond this is dropped. */
const MAX_PENDING_FRAMES = 50 * 30;

let modulePromise: Promise<SsModule> | undefined;

/** The package's directory, for its model (the WebAssembly module finds it relative to the cwd otherwise). */
function packageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('soundswallower'));
}

/** The WebAssembly module, loaded once per thread. */
function loadModule(): Promise<SsModule> {
  modulePromise ??= (async () => {
    const modelBase = `${join(packageDir(), 'model')}/`;
    const mod = (await import('soundswallower')) as unknown as { default: (o: Record<string, unknown>) => Promise<SsModule> };
    // print/printErr: the engine's own log lines would go to our stdout.
    return mod.default({ modelBase, print: () => undefined, printErr: () => undefined });
  })();
  return modulePromise;
}

/** Whether the package and its model are installed (always, when npm installed our dependencies). */
export function soundswallowerInstalled(): boolean {
  try {
    packageDir();
    return true;
  } catch {
    return false;
  }
}

export class SoundswallowerStt implements SttProvider {
  readonly name = 'soundswallower';
  readonly capabilities = { streaming: true, interimResults: false, sampleRates: [8000, 16000], closedVocabulary: true } as const;
  /** Decoders loaded and idle: loading one costs ~0.5 s of CPU, so ended streams give theirs back. */
  readonly #idle: SsDecoder[] = [];
  readonly #warned = new Set<string>();

  constructor(private readonly opts: SoundswallowerOptions = {}) {}

  start(opts: SttStartOptions): SttStream {
    if (opts.sampleRate !== 8000 && opts.sampleRate !== 16000) {
      throw new ProviderError('unsupported_audio', `soundswallower hears 8 kHz and 16 kHz audio, not ${opts.sampleRate} Hz`, false);
    }
    if (opts.language !== undefined && !/^en(-|$)/i.test(opts.language)) {
      throw new ProviderError('provider_bad_request', `soundswallower has only a US English model here, not '${opts.language}'`, false);
    }
    return new SoundswallowerStream(this, this.opts, opts);
  }

  /** A loaded decoder (an idle one if any). */
  async acquire(): Promise<SsDecoder> {
    const d = this.#idle.pop();
    if (d) return d;
    const mod = await loadModule();
    const dec = new mod.Decoder({ samprate: RATE, loglevel: 'ERROR' });
    await dec.initialize();
    return dec;
  }

  release(d: SsDecoder): void {
    if (this.#idle.length < 4) this.#idle.push(d);
    else d.delete();
  }

  warnOnce(word: string): void {
    if (this.#warned.has(word)) return;
    this.#warned.add(word);
    (this.opts.warn ?? ((m: string) => process.emitWarning(m)))(`soundswallower: "${word}" is not in its dictionary; it is not listened for`);
  }
}

class SoundswallowerStream implements SttStream {
  readonly #events = new SttEventQueue();
  readonly #owner: SoundswallowerStt;
  readonly #signal: AbortSignal | undefined;
  readonly #down: Resampler | undefined;
  readonly #endFrames: number;
  readonly #speechDb: number;
  #decoder: SsDecoder | undefined;
  #vocabulary: readonly string[];
  #grammarFor: readonly string[] | undefined;
  /** 8 kHz samples not yet a whole frame. */
  #carry = new Int16Array(0);
  /** Frames received before the decoder loaded. */
  #pending: Int16Array[] = [];
  #preRoll: Int16Array[] = [];
  /** The utterance so far (pre-roll included), decoded whole at its end. */
  #utt: Int16Array[] = [];
  #frames = 0; // 8 kHz frames seen
  #loud = 0;
  #quiet = 0;
  #inSpeech = false;
  #speechFrames = 0;
  #uttStartFrame = 0;
  #ended = false;
  readonly #onAbort = () => this.#finish(undefined);

  constructor(owner: SoundswallowerStt, o: SoundswallowerOptions, s: SttStartOptions) {
    this.#owner = owner;
    this.#signal = s.signal;
    this.#vocabulary = s.vocabulary ?? [];
    this.#down = s.sampleRate === RATE ? undefined : new Resampler(s.sampleRate, RATE);
    this.#endFrames = Math.max(1, Math.round((o.endSilenceMs ?? 300) / 20));
    this.#speechDb = o.speechDb ?? -45;
    if (s.signal?.aborted) {
      this.#events.emit({ type: 'closed' });
      return;
    }
    s.signal?.addEventListener('abort', this.#onAbort, { once: true });
    owner.acquire().then(
      (d) => {
        if (this.#events.closed) return owner.release(d);
        this.#decoder = d;
        const backlog = this.#pending;
        this.#pending = [];
        this.#guard(() => {
          for (const f of backlog) this.#frame(f);
          if (this.#ended) this.#endNow();
        });
      },
      (err: unknown) =>
        this.#finish(new ProviderError('provider_unavailable', `soundswallower could not load its model: ${err instanceof Error ? err.message : String(err)}`, false, { cause: err })),
    );
  }

  [Symbol.asyncIterator](): AsyncIterator<SttEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  /** What the dialogue can hear from now on; takes effect at the next utterance. */
  setVocabulary(phrases: readonly string[]): void {
    this.#vocabulary = [...phrases];
  }

  push(frame: Int16Array): void {
    if (this.#ended || this.#events.closed) return;
    const pcm = this.#down ? this.#down.process(frame) : frame;
    const all = new Int16Array(this.#carry.length + pcm.length);
    all.set(this.#carry);
    all.set(pcm, this.#carry.length);
    let at = 0;
    for (; at + FRAME <= all.length; at += FRAME) {
      const f = all.slice(at, at + FRAME);
      if (!this.#decoder) {
        this.#pending.push(f);
        if (this.#pending.length > MAX_PENDING_FRAMES) this.#pending.shift();
      } else this.#guard(() => this.#frame(f));
    }
    this.#carry = all.slice(at);
  }

  end(): void {
    if (this.#ended || this.#events.closed) return;
    this.#ended = true;
    if (this.#decoder) this.#guard(() => this.#endNow());
  }

  #endNow(): void {
    if (this.#inSpeech) this.#utteranceEnd(this.#frames);
    this.#finish(undefined);
  }

  /** Engine calls throw on a broken decoder; that ends the stream with an error event. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#finish(new ProviderError('provider_failed', `soundswallower failed: ${err instanceof Error ? err.message : String(err)}`, false, { cause: err }));
    }
  }

  #frame(f: Int16Array): void {
    if (this.#events.closed) return;
    this.#frames++;
    const loud = rmsDbfs(f) > this.#speechDb;
    if (!this.#inSpeech) {
      this.#preRoll.push(f);
      if (this.#preRoll.length > PRE_ROLL_FRAMES) this.#preRoll.shift();
      this.#loud = loud ? this.#loud + 1 : 0;
      if (this.#loud >= START_FRAMES) this.#utteranceStart();
      return;
    }
    this.#feed(f);
    if (loud) {
      this.#speechFrames++;
      this.#quiet = 0;
    } else if (++this.#quiet >= this.#endFrames) this.#utteranceEnd(this.#frames - this.#quiet);
  }

  #utteranceStart(): void {
    const d = this.#decoder as SsDecoder;
    if (this.#grammarFor !== this.#vocabulary) {
      const g = buildGrammar(this.#vocabulary, { lookup: (w) => d.lookup_word(w) });
      for (const w of g.skipped) this.#owner.warnOnce(w);
      d.set_grammar(g.jsgf);
      this.#grammarFor = this.#vocabulary;
    }
    this.#inSpeech = true;
    this.#speechFrames = this.#loud;
    this.#quiet = 0;
    this.#uttStartFrame = this.#frames - this.#loud + 1;
    const roll = this.#preRoll;
    this.#preRoll = [];
    this.#utt = roll;
  }

  #feed(f: Int16Array): void {
    this.#utt.push(f);
  }

  #utteranceEnd(lastSpeechFrame: number): void {
    const d = this.#decoder as SsDecoder;
    this.#inSpeech = false;
    this.#loud = 0;
    const frames = this.#utt;
    this.#utt = [];
    if (this.#speechFrames < MIN_SPEECH_FRAMES) return;
    const x = new Float32Array(frames.length * FRAME);
    let at = 0;
    for (const f of frames) for (let i = 0; i < f.length; i++) x[at++] = (f[i] as number) / 32768;
    d.start();
    d.process_audio(x, false, true);
    d.stop();
    const text = d.get_text().trim();
    if (text === '') return;
    this.#events.emit({ type: 'final', text, startMs: (this.#uttStartFrame - 1) * 20, endMs: lastSpeechFrame * 20 });
  }

  #finish(error: ProviderError | undefined): void {
    if (this.#events.closed) return;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#ended = true;
    const d = this.#decoder;
    this.#decoder = undefined;
    if (d) {
      if (error) d.delete();
      else this.#owner.release(d);
    }
    if (error) this.#events.emit({ type: 'error', error });
    this.#events.emit({ type: 'closed' });
  }
}
