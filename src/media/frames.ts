/**
 * 20 ms framing. RTP media in this project is packetised at ptime 20 (RFC 3551 §4.5 recommends 20 ms
 * as the default packetisation for sample-based codecs), so every layer exchanges 20 ms PCM16 frames.
 */

export const FRAME_MS = 20;

/** Samples in one 20 ms frame at `sampleRate` (160 at 8 kHz, 320 at 16 kHz). */
export function samplesPerFrame(sampleRate: number, frameMs: number = FRAME_MS): number {
  return Math.round((sampleRate * frameMs) / 1000);
}

/** Duration in ms of `samples` samples at `sampleRate`. */
export function samplesToMs(samples: number, sampleRate: number): number {
  return (samples * 1000) / sampleRate;
}

/** A frame of digital silence. */
export function silenceFrame(sampleRate: number, frameMs: number = FRAME_MS): Int16Array {
  return new Int16Array(samplesPerFrame(sampleRate, frameMs));
}

/**
 * Splits a PCM16 stream arriving in arbitrary chunk sizes into fixed-size frames. Leftover samples
 * wait for the next push; `flush()` returns them zero-padded to a whole frame (or nothing).
 */
export class FrameChunker {
  readonly frameSize: number;
  private pending: Int16Array;
  private fill = 0;

  constructor(frameSize: number) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) throw new RangeError(`bad frame size ${frameSize}`);
    this.frameSize = frameSize;
    this.pending = new Int16Array(frameSize);
  }

  /** Samples buffered but not yet returned as a frame. */
  get buffered(): number {
    return this.fill;
  }

  push(chunk: Int16Array): Int16Array[] {
    const out: Int16Array[] = [];
    let i = 0;
    while (i < chunk.length) {
      const take = Math.min(this.frameSize - this.fill, chunk.length - i);
      this.pending.set(chunk.subarray(i, i + take), this.fill);
      this.fill += take;
      i += take;
      if (this.fill === this.frameSize) {
        out.push(this.pending);
        this.pending = new Int16Array(this.frameSize);
        this.fill = 0;
      }
    }
    return out;
  }

  flush(): Int16Array | undefined {
    if (this.fill === 0) return undefined;
    const f = this.pending; // the tail is already zero (fresh array), i.e. padded with silence
    this.pending = new Int16Array(this.frameSize);
    this.fill = 0;
    return f;
  }

  reset(): void {
    this.pending.fill(0);
    this.fill = 0;
  }
}
