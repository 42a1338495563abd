/**
 * Recognition from npm alone: soundswallower (CMU's PocketSphinx decoder compiled to WebAssembly,
 * MIT) with the 8 kHz US English acoustic model it ships. It has no n-gram language model, only
 * grammars, so it hears a closed vocabulary: what the dialogue can hear at that point
 * (SttStartOptions.vocabulary, then SttStream.setVocabulary per listen), built into a JSGF grammar
 * with yes/no words, digits and a loop of common filler words (grammar.ts). That is enough for a
 * flow agent's keyword branches and the sandbox personas' cues; an LLM agent needs an
 * open-vocabulary recognizer and is refused before dialing (src/calls/create-call.ts).
 *
 * Utterances are cut here by an energy endpointer over 20 ms frames: speech starts after 60 ms
 * above the threshold (those frames kept) and ends after `endSilenceMs` below it. Each utterance is
 * then decoded whole, on a thread of its own (soundswallower-worker.ts), so decoding never holds the
 * thread that carries the call's RTP. Whole, because the model normalizes each utterance by its own
 * cepstral mean (`cmn current`), which a decoder fed live only estimates from what came before; on
 * phone answers of one to three seconds that cost the first word ("yes"). Decoding takes 0.1-0.3 s
 * per second of speech here, so the final comes that long after the end silence. 16 kHz legs are
 * downsampled to 8 kHz (the model's rate).
 */
import type { Worker } from 'node:worker_threads';
import { startThread } from '../../threads.js';
import { Resampler } from '../../media/resampler.js';
import { rmsDbfs } from '../vad/energy.js';
import { ProviderError } from '../errors.js';
import { SttEventQueue } from './event-queue.js';
import type { DecodeReply, DecodeRequest, DecoderSearch } from './soundswallower-worker.js';
import type { SttCapabilities, SttEvent, SttProvider, SttStartOptions, SttStream } from './types.js';

export interface SoundswallowerOptions {
  /** Trailing silence that ends an utterance (default 300 ms). */
  endSilenceMs?: number;
  /** Frame level (dBFS) above which a frame counts as speech (default -45). */
  speechDb?: number;
  /**
   * Also this far above the line's noise floor (the quietest frame of the last 1.5 s), so a noisy
   * line's hiss is not one endless utterance and pauses between clauses end utterances. Absent: the
   * fixed speechDb only.
   */
  overFloorDb?: number;
  /** Decoder search settings (narrower beams decode faster for a little accuracy). Absent: the engine's defaults. */
  search?: DecoderSearch;
  /**
   * While an utterance goes on, decode what it holds so far each time it has grown this much, and
   * tell it as a `partial` (one decode in flight per stream: a busy thread gives fewer partials, never
   * a backlog). Each is a whole decode of the utterance so far, so the cost grows with its length.
   * Absent: finals only.
   */
  partialEveryMs?: number;
  /** Told once per word the dictionary cannot pronounce (it is left out of the grammar). Default: nobody (the word is simply not heard). */
  warn?: (message: string) => void;
}

const RATE = 8000;
const FRAME = RATE / 50; // 20 ms
const START_FRAMES = 3; // 60 ms of speech starts an utterance; those frames are its first
const MIN_SPEECH_FRAMES = 8; // shorter bursts (a click, a breath) are not utterances
/**
 * The noise floor window (overFloorDb): 1.5 s. Speech holds dips between words within any 1.5 s, so
 * the floor stays under it; and a line that turns from digital silence to hiss (or gets noisier) is
 * followed within 1.5 s. A floor that falls at once and rises slowly (2.5 dB/s) was tried: after
 * digital silence it took a noisy line's hiss for speech for 20 s.
 */
const FLOOR_FRAMES = 75;
/** One utterance longer than this (30 s) is decoded in pieces. */
const MAX_UTTERANCE_FRAMES = 50 * 30;

/** 20 ms frames as one float array (the decoder's input, -1..1). */
function toFloat(frames: readonly Int16Array[]): Float32Array {
  const x = new Float32Array(frames.length * FRAME);
  let at = 0;
  for (const f of frames) for (let i = 0; i < f.length; i++) x[at++] = (f[i] as number) / 32768;
  return x;
}

/** The decoding thread of one provider (one per media thread), started at first use. */
class DecodeThread {
  #worker: Worker | undefined;
  #seq = 0;
  readonly #waiting = new Map<number, (r: DecodeReply) => void>();

  decode(vocabulary: readonly string[], audio: Float32Array, search?: DecoderSearch): Promise<DecodeReply> {
    const w = this.#start();
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      this.#waiting.set(seq, resolve);
      if (this.#waiting.size === 1) w.ref(); // keeps the process up only while a decode is due
      const req: DecodeRequest = { seq, vocabulary: [...vocabulary], audio, rate: RATE, ...(search ? { search } : {}) };
      w.postMessage(req, [audio.buffer as ArrayBuffer]);
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const w = startThread(import.meta.url, './soundswallower-worker');
    w.unref();
    w.on('message', (r: DecodeReply) => {
      const done = this.#waiting.get(r.seq);
      this.#waiting.delete(r.seq);
      if (this.#waiting.size === 0) w.unref();
      done?.(r);
    });
    const fail = (why: string) => {
      this.#worker = undefined;
      for (const [seq, done] of this.#waiting) done({ seq, error: why });
      this.#waiting.clear();
    };
    w.on('error', (err) => fail(`the decoding thread failed: ${err.message}`));
    w.on('exit', (code) => fail(`the decoding thread exited with ${code}`));
    this.#worker = w;
    return w;
  }
}

export class SoundswallowerStt implements SttProvider {
  readonly name = 'soundswallower';
  readonly capabilities: SttCapabilities;
  readonly thread = new DecodeThread();
  readonly #warned = new Set<string>();

  constructor(private readonly opts: SoundswallowerOptions = {}) {
    this.capabilities = { streaming: true, interimResults: opts.partialEveryMs !== undefined, sampleRates: [8000, 16000], closedVocabulary: true };
  }

  /** Starts the decoding thread and loads the engine and model there (seconds on a cold machine). */
  prepare(): void {
    void this.thread.decode([], new Float32Array(0));
  }

  start(opts: SttStartOptions): SttStream {
    if (opts.sampleRate !== 8000 && opts.sampleRate !== 16000) {
      throw new ProviderError('unsupported_audio', `soundswallower hears 8 kHz and 16 kHz audio, not ${opts.sampleRate} Hz`, false);
    }
    if (opts.language !== undefined && !/^en(-|$)/i.test(opts.language)) {
      throw new ProviderError('provider_bad_request', `soundswallower has only a US English model here, not '${opts.language}'`, false);
    }
    return new SoundswallowerStream(this, this.opts, opts);
  }

  warnOnce(word: string): void {
    if (this.#warned.has(word)) return;
    this.#warned.add(word);
    this.opts.warn?.(`soundswallower: "${word}" is not in its dictionary; it is not listened for`);
  }
}

export class SoundswallowerStream implements SttStream {
  readonly #events = new SttEventQueue();
  readonly #owner: SoundswallowerStt;
  readonly #signal: AbortSignal | undefined;
  readonly #down: Resampler | undefined;
  readonly #endFrames: number;
  readonly #speechDb: number;
  readonly #overFloorDb: number | undefined;
  readonly #search: DecoderSearch | undefined;
  readonly #partialFrames: number | undefined;
  /** Frames in the utterance when the last partial decode was asked for, and whether one is in flight. */
  #partialAt = 0;
  #partialBusy = false;
  /** Frame levels of the last FLOOR_FRAMES frames (overFloorDb): the noise floor is their minimum. */
  readonly #levels: number[] = [];
  #vocabulary: readonly string[];
  /** 8 kHz samples not yet a whole frame. */
  #carry = new Int16Array(0);
  /** The frames just before a start (the loud ones that confirm it). */
  #lead: Int16Array[] = [];
  /** The utterance so far, decoded whole at its end. */
  #utt: Int16Array[] = [];
  #frames = 0; // 8 kHz frames seen
  #quiet = 0;
  #inSpeech = false;
  #speechFrames = 0;
  #uttStartFrame = 0;
  #ended = false;
  /** Ends an utterance when audio stops arriving (a far end that sends no packets while it is silent). */
  #stall: NodeJS.Timeout | undefined;
  /** Decodes in flight, in order: finals are emitted in utterance order, `closed` after the last. */
  #decoding: Promise<void> = Promise.resolve();
  readonly #onAbort = () => this.#finish(undefined);

  constructor(owner: SoundswallowerStt, o: SoundswallowerOptions, s: SttStartOptions) {
    this.#owner = owner;
    this.#signal = s.signal;
    this.#vocabulary = s.vocabulary ?? [];
    this.#down = s.sampleRate === RATE ? undefined : new Resampler(s.sampleRate, RATE);
    this.#endFrames = Math.max(1, Math.round((o.endSilenceMs ?? 300) / 20));
    this.#speechDb = o.speechDb ?? -45;
    this.#overFloorDb = o.overFloorDb;
    this.#search = o.search;
    this.#partialFrames = o.partialEveryMs === undefined ? undefined : Math.max(1, Math.round(o.partialEveryMs / 20));
    if (s.signal?.aborted) {
      this.#events.emit({ type: 'closed' });
      return;
    }
    s.signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#warm();
  }

  /**
   * Starts the thread and readies the decoder for the current vocabulary now, while the agent
   * speaks: the first load (thread, WebAssembly module, model) takes seconds on a busy machine, and
   * paid at the callee's first answer it would come after the flow's listen timeout.
   */
  #warm(): void {
    void this.#owner.thread.decode(this.#vocabulary, new Float32Array(0), this.#search).then((r) => {
      if ('error' in r) this.#finish(new ProviderError('provider_unavailable', `soundswallower could not load: ${r.error}`, false));
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<SttEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  /** A partial decode is in flight (partialEveryMs): a caller feeding faster than real time may wait for it. */
  get partialPending(): boolean {
    return this.#partialBusy;
  }

  /** What the dialogue can hear from now on; takes effect at the next utterance. */
  setVocabulary(phrases: readonly string[]): void {
    const changed = phrases.length !== this.#vocabulary.length || phrases.some((p, i) => p !== this.#vocabulary[i]);
    this.#vocabulary = [...phrases];
    if (changed && !this.#events.closed) this.#warm();
  }

  push(frame: Int16Array): void {
    if (this.#ended || this.#events.closed) return;
    const pcm = this.#down ? this.#down.process(frame) : frame;
    const all = new Int16Array(this.#carry.length + pcm.length);
    all.set(this.#carry);
    all.set(pcm, this.#carry.length);
    let at = 0;
    for (; at + FRAME <= all.length; at += FRAME) this.#frame(all.slice(at, at + FRAME));
    this.#carry = all.slice(at);
    clearTimeout(this.#stall);
    this.#stall = undefined;
    if (this.#inSpeech) {
      // No packets for the end silence's length is silence too (RFC 3551 section 4.1: a sender may
      // stop sending during silence), so the utterance ends even when no quiet frames come.
      this.#stall = setTimeout(() => {
        this.#stall = undefined;
        if (this.#inSpeech && !this.#events.closed) this.#utteranceEnd(this.#frames - this.#quiet);
      }, this.#endFrames * 20 + 40);
    }
  }

  end(): void {
    if (this.#ended || this.#events.closed) return;
    this.#ended = true;
    clearTimeout(this.#stall);
    if (this.#inSpeech) this.#utteranceEnd(this.#frames);
    void this.#decoding.then(() => this.#finish(undefined));
  }

  #frame(f: Int16Array): void {
    this.#frames++;
    const loud = this.#loud(rmsDbfs(f));
    if (!this.#inSpeech) {
      if (!loud) {
        this.#lead = [];
        return;
      }
      this.#lead.push(f);
      if (this.#lead.length < START_FRAMES) return;
      this.#inSpeech = true;
      this.#utt = this.#lead;
      this.#partialAt = 0;
      this.#lead = [];
      this.#speechFrames = START_FRAMES;
      this.#quiet = 0;
      this.#uttStartFrame = this.#frames - START_FRAMES + 1;
      return;
    }
    this.#utt.push(f);
    this.#maybePartial();
    if (loud) {
      this.#speechFrames++;
      this.#quiet = 0;
    } else if (++this.#quiet >= this.#endFrames) this.#utteranceEnd(this.#frames - this.#quiet);
    else if (this.#utt.length >= MAX_UTTERANCE_FRAMES) this.#utteranceEnd(this.#frames);
  }

  /** partialEveryMs: the utterance so far, decoded while it goes on (never two at once for a stream). */
  #maybePartial(): void {
    const every = this.#partialFrames;
    if (every === undefined || this.#partialBusy || this.#utt.length - this.#partialAt < every) return;
    this.#partialAt = this.#utt.length;
    this.#partialBusy = true;
    const endMs = this.#frames * 20;
    const startMs = (this.#uttStartFrame - 1) * 20;
    const utt = this.#utt;
    void this.#owner.thread.decode(this.#vocabulary, toFloat(utt), this.#search).then((r) => {
      this.#partialBusy = false;
      // Only while that utterance is still the one going on: its final says the rest.
      if (this.#events.closed || this.#utt !== utt || 'error' in r || r.text === '') return;
      this.#events.emit({ type: 'partial', text: r.text, startMs, endMs });
    });
  }

  /** Speech: over the fixed level and, with overFloorDb, that far over the line's noise floor. */
  #loud(db: number): boolean {
    if (this.#overFloorDb === undefined) return db > this.#speechDb;
    const floor = this.#levels.length === 0 ? -Infinity : Math.min(...this.#levels);
    this.#levels.push(Math.max(-100, db));
    if (this.#levels.length > FLOOR_FRAMES) this.#levels.shift();
    return db > this.#speechDb && db > floor + this.#overFloorDb;
  }

  #utteranceEnd(lastSpeechFrame: number): void {
    this.#inSpeech = false;
    const frames = this.#utt;
    this.#utt = [];
    if (this.#speechFrames < MIN_SPEECH_FRAMES) return;
    const x = toFloat(frames);
    const startMs = (this.#uttStartFrame - 1) * 20;
    const endMs = lastSpeechFrame * 20;
    const reply = this.#owner.thread.decode(this.#vocabulary, x, this.#search);
    this.#decoding = this.#decoding.then(async () => {
      const r = await reply;
      if (this.#events.closed) return;
      if ('error' in r) return this.#finish(new ProviderError('provider_failed', `soundswallower failed: ${r.error}`, false));
      for (const w of r.skipped) this.#owner.warnOnce(w);
      if (r.text !== '') this.#events.emit({ type: 'final', text: r.text, startMs, endMs });
    });
  }

  #finish(error: ProviderError | undefined): void {
    if (this.#events.closed) return;
    clearTimeout(this.#stall);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#ended = true;
    if (error) this.#events.emit({ type: 'error', error });
    this.#events.emit({ type: 'closed' });
  }
}
