/**
 * Audio between a call leg (PCM16 frames at the leg's rate) and the Realtime API's formats
 * (GA "audio/pcmu", "audio/pcma": G.711 at 8 kHz; "audio/pcm": PCM16 little-endian at 24 kHz only).
 * A G.711 leg talks G.711 to the model: the bytes are the leg's own codec, no resampling hop
 * (decode/encode of G.711 is exact). Wideband legs go through the project's resampler to 24 kHz.
 */
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw, Resampler } from '../../media/index.js';

export type RealtimeAudioFormat = { type: 'audio/pcmu' } | { type: 'audio/pcma' } | { type: 'audio/pcm'; rate: 24000 };

/** The format for a leg's codec: its own G.711 law, else 24 kHz PCM. */
export function formatForCodec(codec: string | undefined): RealtimeAudioFormat {
  const c = (codec ?? '').toUpperCase();
  if (c.startsWith('PCMU')) return { type: 'audio/pcmu' };
  if (c.startsWith('PCMA')) return { type: 'audio/pcma' };
  return { type: 'audio/pcm', rate: 24000 };
}

/** A best guess before answer, from the codecs offered (first one wins, as in our SDP offer). */
export function formatForOffer(codecs: readonly string[] | undefined): RealtimeAudioFormat {
  return formatForCodec(codecs?.[0] ?? 'PCMU');
}

export function formatRate(f: RealtimeAudioFormat): number {
  return f.type === 'audio/pcm' ? f.rate : 8000;
}

export function sameFormat(a: RealtimeAudioFormat, b: RealtimeAudioFormat): boolean {
  return a.type === b.type;
}

/** PCM16 at `legRate` -> base64 in `format`. Keeps resampler state across frames. */
export class AudioEncoder {
  readonly #format: RealtimeAudioFormat;
  readonly #resampler: Resampler | undefined;

  constructor(legRate: number, format: RealtimeAudioFormat) {
    this.#format = format;
    const rate = formatRate(format);
    this.#resampler = rate === legRate ? undefined : new Resampler(legRate, rate);
  }

  /** Whether the leg's audio is passed through at its own rate. */
  get direct(): boolean {
    return this.#resampler === undefined;
  }

  encode(frame: Int16Array): string {
    const pcm = this.#resampler ? this.#resampler.process(frame) : frame;
    if (this.#format.type === 'audio/pcmu') return Buffer.from(encodeMuLaw(pcm)).toString('base64');
    if (this.#format.type === 'audio/pcma') return Buffer.from(encodeALaw(pcm)).toString('base64');
    return pcm16ToBase64(pcm);
  }
}

/** base64 in `format` -> PCM16 at `legRate`. */
export class AudioDecoder {
  readonly #format: RealtimeAudioFormat;
  readonly #resampler: Resampler | undefined;

  constructor(legRate: number, format: RealtimeAudioFormat) {
    this.#format = format;
    const rate = formatRate(format);
    this.#resampler = rate === legRate ? undefined : new Resampler(rate, legRate);
  }

  get direct(): boolean {
    return this.#resampler === undefined;
  }

  decode(b64: string): Int16Array {
    const bytes = Buffer.from(b64, 'base64');
    let pcm: Int16Array;
    if (this.#format.type === 'audio/pcmu') pcm = decodeMuLaw(bytes);
    else if (this.#format.type === 'audio/pcma') pcm = decodeALaw(bytes);
    else pcm = pcm16FromBytes(bytes);
    return this.#resampler ? this.#resampler.process(pcm) : pcm;
  }

  /** ms of audio in a base64 delta, in the model's own format (what audio_end_ms counts). */
  ms(b64: string): number {
    const n = Buffer.byteLength(b64, 'base64');
    return this.#format.type === 'audio/pcm' ? n / 2 / 24 : n / 8;
  }
}

export function pcm16ToBase64(pcm: Int16Array): string {
  const buf = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) buf.writeInt16LE(pcm[i] as number, i * 2);
  return buf.toString('base64');
}

export function pcm16FromBytes(bytes: Uint8Array): Int16Array {
  const n = Math.floor(bytes.length / 2);
  const out = new Int16Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/** session.updated's output format (GA: session.audio.output.format). */
export function outputFormatOf(e: { readonly [k: string]: unknown }): RealtimeAudioFormat | undefined {
  const f = (e.session as { audio?: { output?: { format?: { type?: unknown } } } } | undefined)?.audio?.output?.format;
  if (f?.type === 'audio/pcmu' || f?.type === 'audio/pcma') return { type: f.type };
  if (f?.type === 'audio/pcm') return { type: 'audio/pcm', rate: 24000 };
  return undefined;
}
