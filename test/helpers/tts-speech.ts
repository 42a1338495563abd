/**
 * Real speech for the local vendor-protocol servers: espeak-ng (the project's EspeakNgTts) at the
 * rate the client asked the "vendor" for, cut in pieces of at most `pieceMs` as a vendor streams it.
 */
import { EspeakNgTts } from '../../src/providers/tts/espeak-ng.js';

const espeak = new EspeakNgTts();

export async function* speech(text: string, rate: number, signal?: AbortSignal, pieceMs = 200): AsyncIterable<Int16Array> {
  const max = Math.round((rate * pieceMs) / 1000);
  const req = signal ? { text, sampleRate: rate, signal } : { text, sampleRate: rate };
  for await (const chunk of espeak.synthesize(req)) {
    for (let i = 0; i < chunk.length; i += max) yield chunk.slice(i, Math.min(chunk.length, i + max));
  }
}

/** Samples as little-endian 16-bit bytes (pcm_s16le). */
export function pcm16le(samples: Int16Array): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) b.writeInt16LE(samples[i] as number, i * 2);
  return b;
}

/** Unref'd so a scripted delay never holds the test process open. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
