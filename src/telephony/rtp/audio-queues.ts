/**
 * The two PCM queues of a leg: outgoing 20 ms frames waiting for the pacing clock, and the
 * receive-side sample FIFO that turns decoded packets of any ptime into 20 ms frames.
 */

/** A leg sends and plays out one frame of this many ms per pacing tick. */
export const FRAME_MS = 20;

/** Outgoing frames. write() splits any length into whole frames; a partial tail is zero-padded. */
export class OutgoingQueue {
  private frames: Int16Array[] = [];
  private head = 0;
  constructor(public frameSize: number) {}

  get length(): number {
    return this.frames.length - this.head;
  }

  push(pcm: Int16Array): number {
    let added = 0;
    for (let i = 0; i < pcm.length; i += this.frameSize) {
      const end = Math.min(i + this.frameSize, pcm.length);
      let f: Int16Array;
      if (end - i === this.frameSize) f = pcm.slice(i, end);
      else {
        f = new Int16Array(this.frameSize);
        f.set(pcm.subarray(i, end));
      }
      this.frames.push(f);
      added++;
    }
    return added;
  }

  shift(): Int16Array | undefined {
    if (this.head >= this.frames.length) return undefined;
    const f = this.frames[this.head];
    this.frames[this.head++] = EMPTY;
    if (this.head > 256 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return f;
  }

  /** Drops everything; returns the number of frames dropped. */
  clear(): number {
    const n = this.length;
    this.frames = [];
    this.head = 0;
    return n;
  }
}

const EMPTY = new Int16Array(0);

/** Receive FIFO of decoded samples. */
export class SampleFifo {
  private buf: Int16Array;
  private fill = 0;
  constructor(capacity: number) {
    this.buf = new Int16Array(capacity);
  }

  get length(): number {
    return this.fill;
  }

  append(pcm: Int16Array): void {
    if (this.fill + pcm.length > this.buf.length) {
      const bigger = new Int16Array(Math.max(this.buf.length * 2, this.fill + pcm.length));
      bigger.set(this.buf.subarray(0, this.fill));
      this.buf = bigger;
    }
    this.buf.set(pcm, this.fill);
    this.fill += pcm.length;
  }

  appendSilence(n: number): void {
    this.append(new Int16Array(n));
  }

  take(n: number): Int16Array {
    const out = this.buf.slice(0, n);
    this.buf.copyWithin(0, n, this.fill);
    this.fill -= n;
    return out;
  }

  clear(): void {
    this.fill = 0;
  }
}
