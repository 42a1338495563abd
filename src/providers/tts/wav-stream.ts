/**
 * Reads a RIFF/WAVE byte stream incrementally: parses the header chunks (fmt, then data) and then
 * yields PCM16 samples as they arrive. Engines writing to a pipe put a placeholder size in the
 * data chunk, so the data runs to the end of the stream rather than to its declared length.
 */
export interface WavFormat {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
}

export class WavStreamParser {
  #buf: Buffer = Buffer.alloc(0);
  #format: WavFormat | undefined;
  #inData = false;
  #odd: number | undefined;

  get format(): WavFormat | undefined {
    return this.#format;
  }

  /** Feeds bytes; returns the samples now complete (empty while still in the header). */
  push(chunk: Buffer): Int16Array {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    if (!this.#inData && !this.#parseHeader()) return new Int16Array(0);
    let bytes = this.#buf;
    this.#buf = Buffer.alloc(0);
    if (this.#odd !== undefined) {
      bytes = Buffer.concat([Buffer.from([this.#odd]), bytes]);
      this.#odd = undefined;
    }
    if (bytes.length % 2 === 1) {
      this.#odd = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const out = new Int16Array(bytes.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
    return out;
  }

  #parseHeader(): boolean {
    const b = this.#buf;
    if (b.length < 12) return false;
    if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV stream');
    let off = 12;
    while (off + 8 <= b.length) {
      const id = b.toString('ascii', off, off + 4);
      const size = b.readUInt32LE(off + 4);
      if (id === 'data') {
        if (!this.#format) throw new Error('WAV data before fmt');
        if (this.#format.bitsPerSample !== 16) throw new Error(`WAV must be 16-bit PCM, got ${this.#format.bitsPerSample}`);
        this.#inData = true;
        this.#buf = b.subarray(off + 8);
        return true;
      }
      if (off + 8 + size > b.length) return false;
      if (id === 'fmt ') {
        this.#format = { channels: b.readUInt16LE(off + 10), sampleRate: b.readUInt32LE(off + 12), bitsPerSample: b.readUInt16LE(off + 22) };
      }
      off += 8 + size + (size % 2);
    }
    return false;
  }
}
