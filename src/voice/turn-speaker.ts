/**
 * Speaks one agent turn: each chunk becomes one TTS request and one playout utterance. Requests run
 * one after another (so the audio stays in order and the engine is not asked for the whole reply at
 * once), but each chunk's utterance is opened in the playout at once to keep its place in line.
 */
import type { TtsProvider } from '../providers/tts/types.js';
import type { Playout } from './playout.js';

export class TurnSpeaker {
  readonly ids = new Set<string>();
  /** The first TTS failure of this turn (not an abort). Later chunks are skipped. */
  error: unknown;
  #n = 0;
  #chain: Promise<void> = Promise.resolve();
  #firstAudio = false;

  constructor(
    private readonly tts: TtsProvider,
    private readonly playout: Playout,
    private readonly sampleRate: number,
    private readonly turnId: number,
    private readonly signal: AbortSignal,
    private readonly onFirstAudio: () => void,
  ) {}

  say(text: string): void {
    if (this.signal.aborted || text.trim().length === 0) return;
    const id = `${this.turnId}.${++this.#n}`;
    this.ids.add(id);
    this.playout.start(id, text);
    // #synth never rejects, so the chain never does either.
    this.#chain = this.#chain.then(() => this.#synth(id, text));
  }

  /** Resolves when every chunk said so far has been synthesized (or skipped). Never rejects. */
  done(): Promise<void> {
    return this.#chain;
  }

  async #synth(id: string, text: string): Promise<void> {
    try {
      if (this.error !== undefined || this.signal.aborted) return;
      for await (const pcm of this.tts.synthesize({ text, sampleRate: this.sampleRate, signal: this.signal })) {
        if (this.signal.aborted) return;
        if (!this.#firstAudio) {
          this.#firstAudio = true;
          this.onFirstAudio();
        }
        this.playout.push(id, pcm);
      }
    } catch (err) {
      if (!this.signal.aborted) this.error ??= err;
    } finally {
      this.playout.finish(id);
    }
  }
}
