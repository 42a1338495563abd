/**
 * Speech made ahead of time: the opening line of a call is synthesized while the phone rings, and
 * when the session asks for exactly that text at answer it gets the audio already made, so the
 * first packet leaves at once instead of after a synthesis delay. Any other text goes to the
 * engine as usual. Nothing is played from here: the session still speaks (and records) the turn
 * the normal way, only after answer, so there is never audio on early media.
 */
import type { TtsPrepareRequest, TtsProvider, TtsRequest } from '../providers/tts/types.js';
import { PendingGreeting } from './pending-greeting.js';
import { SentenceChunker } from './sentence-chunker.js';
import type { BrainOutput } from './brain.js';

export class PrimedTts implements TtsProvider {
  readonly name: string;
  readonly capabilities: TtsProvider['capabilities'];
  readonly #ready = new Map<string, PendingGreeting[]>();

  constructor(private readonly tts: TtsProvider) {
    this.name = tts.name;
    this.capabilities = tts.capabilities;
  }

  /** Starts synthesizing these texts (each exactly as it will be requested), at the rate the leg will likely have. */
  prime(texts: readonly string[], rate?: number): void {
    for (const text of texts) {
      const list = this.#ready.get(text) ?? [];
      list.push(new PendingGreeting(this.tts, text, undefined, rate));
      this.#ready.set(text, list);
    }
  }

  /** Resolves once every text primed so far has its first audio (or its synthesis is over). */
  ready(): Promise<void> {
    const all = [...this.#ready.values()].flat();
    return Promise.all(all.map((p) => p.started())).then(() => undefined);
  }

  /** Texts primed and not used yet. */
  get primed(): number {
    let n = 0;
    for (const l of this.#ready.values()) n += l.length;
    return n;
  }

  /** Drops what was not used (kills its synthesis): the opening is over, or the call is. */
  release(): void {
    for (const list of this.#ready.values()) for (const p of list) p.cancel();
    this.#ready.clear();
  }

  prepare(req: TtsPrepareRequest): void {
    this.tts.prepare?.(req);
  }

  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    const list = this.#ready.get(req.text);
    const pending = list?.shift();
    if (list?.length === 0) this.#ready.delete(req.text);
    if (!pending) {
      yield* this.tts.synthesize(req);
      return;
    }
    const onAbort = () => pending.cancel();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (req.signal?.aborted) return;
      for await (const frame of pending.frames(req.sampleRate)) {
        if (req.signal?.aborted) return;
        yield frame;
      }
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
      pending.cancel(); // a consumer that stopped early must not leave the engine running
    }
  }
}

/** The chunks a turn speaks for these outputs: the same sentence chunking AgentTurn applies. */
export function spokenChunks(outputs: readonly BrainOutput[]): string[] {
  const chunker = new SentenceChunker();
  const out: string[] = [];
  for (const o of outputs) {
    if (o.type === 'text') out.push(...chunker.push(o.text));
    else if (o.type === 'flush') out.push(...chunker.flush());
  }
  out.push(...chunker.flush());
  return out;
}
