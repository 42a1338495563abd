/**
 * The thread that runs soundswallower's decoders (src/providers/stt/soundswallower.ts), so a
 * decode (0.1-0.3 s of CPU per second of speech) never blocks the thread that paces and receives
 * RTP: on the media thread it would hold every other call's audio for that long.
 *
 * One request decodes one whole utterance with the grammar of its vocabulary; decoders are kept per
 * vocabulary (a grammar is built once, a few ms), at most MAX_DECODERS, least recently used first out.
 */
import { parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildGrammar } from './grammar.js';

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

/** `search`: decoder settings that trade accuracy for speed (beam widths, HMMs per frame); absent, the engine's defaults. */
export type DecodeRequest = { seq: number; vocabulary: readonly string[]; audio: Float32Array; rate: number; search?: DecoderSearch };
export interface DecoderSearch {
  beam?: number;
  wbeam?: number;
  pbeam?: number;
  maxhmmpf?: number;
}
export type DecodeReply = { seq: number; text: string; skipped: string[] } | { seq: number; error: string };

const MAX_DECODERS = 8;
let modulePromise: Promise<SsModule> | undefined;
const decoders = new Map<string, Promise<SsDecoder>>();

function loadModule(): Promise<SsModule> {
  modulePromise ??= (async () => {
    const require = createRequire(import.meta.url);
    const modelBase = `${join(dirname(require.resolve('soundswallower')), 'model')}/`;
    const mod = (await import('soundswallower')) as unknown as { default: (o: Record<string, unknown>) => Promise<SsModule> };
    // print/printErr: the engine's own log lines would go to our stdout.
    return mod.default({ modelBase, print: () => undefined, printErr: () => undefined });
  })();
  return modulePromise;
}

async function decoderFor(vocabulary: readonly string[], rate: number, search: DecoderSearch = {}): Promise<{ d: SsDecoder; skipped: string[] }> {
  const key = `${rate}\n${JSON.stringify(search)}\n${vocabulary.join('\n')}`;
  let p = decoders.get(key);
  let skipped: string[] = [];
  if (p) decoders.delete(key); // re-inserted below: most recently used last
  else {
    p = (async () => {
      const mod = await loadModule();
      const d = new mod.Decoder({ samprate: rate, loglevel: 'ERROR', ...search });
      await d.initialize();
      const g = buildGrammar(vocabulary, { lookup: (w) => d.lookup_word(w) });
      skipped = [...g.skipped];
      d.set_grammar(g.jsgf);
      return d;
    })();
  }
  decoders.set(key, p);
  if (decoders.size > MAX_DECODERS) {
    const [oldest, old] = decoders.entries().next().value as [string, Promise<SsDecoder>];
    decoders.delete(oldest);
    void old.then((d) => d.delete(), () => undefined);
  }
  try {
    return { d: await p, skipped };
  } catch (err) {
    decoders.delete(key);
    throw err;
  }
}

async function decode(r: DecodeRequest): Promise<DecodeReply> {
  try {
    const { d, skipped } = await decoderFor(r.vocabulary, r.rate, r.search);
    if (r.audio.length === 0) return { seq: r.seq, text: '', skipped }; // a warm-up: the decoder is ready now
    d.start();
    d.process_audio(r.audio, false, true);
    d.stop();
    return { seq: r.seq, text: d.get_text().trim(), skipped };
  } catch (err) {
    return { seq: r.seq, error: err instanceof Error ? err.message : String(err) };
  }
}

// Requests are decoded one at a time, in order: the engine is single-threaded anyway.
let chain: Promise<void> = Promise.resolve();
parentPort?.on('message', (r: DecodeRequest) => {
  chain = chain.then(async () => parentPort?.postMessage(await decode(r)));
});
