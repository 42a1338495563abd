/**
 * Feeds an engine that cannot hear the leg's rate (a 16 kHz-only VAD on a narrowband 8 kHz leg):
 * resamples the callee's 20 ms frames and re-frames them to whole 20 ms frames at the engine's rate,
 * which is what VAD and STT streams take.
 */
import { FrameChunker, Resampler, samplesPerFrame } from '../media/index.js';

/** The leg's rate when the engine takes it (no resampling); else 16 kHz, 8 kHz, or its first rate. */
export function pickRate(legRate: number, supported: readonly number[]): number {
  if (supported.includes(legRate) || supported.length === 0) return legRate;
  for (const r of [16000, 8000]) if (supported.includes(r)) return r;
  return supported[0] ?? legRate;
}

/**
 * Leg frames in, whole 20 ms frames at the engine's rate out (the VAD and STT inputs). Not the TTS
 * side's VendorAudioResampler: that one converts a vendor's stream of any chunk size and keeps no framing.
 */
export class FrameResampler {
  readonly #resampler: Resampler | undefined;
  readonly #chunker: FrameChunker | undefined;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
  ) {
    if (inRate !== outRate) {
      this.#resampler = new Resampler(inRate, outRate);
      this.#chunker = new FrameChunker(samplesPerFrame(outRate));
    }
  }

  /** One leg frame in; zero or more whole 20 ms frames at outRate out (the same frame when rates match). */
  push(frame: Int16Array): Int16Array[] {
    if (!this.#resampler || !this.#chunker) return [frame];
    return this.#chunker.push(this.#resampler.process(frame));
  }
}
