/**
 * Codec registry: every audio codec the telephony layer can negotiate. `clockRate` is the RTP
 * timestamp rate; `sampleRate` the PCM rate the codec consumes and produces (they differ only for
 * G.722, RFC 3551 §4.5.2).
 *
 * G.711 and L16 are stateless, so `encode`/`decode` are pure per-frame functions. G.722 is ADPCM
 * (state carries across frames): a stream must use `createEncoder()`/`createDecoder()`, one per
 * direction; its `encode`/`decode` process one whole buffer from a fresh state. MediaSession always
 * uses the factories, so every codec is handled the same way.
 */
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw } from './g711.js';
import { G722Decoder, G722Encoder } from './g722.js';
import { decodeL16, encodeL16 } from './l16.js';

export interface StreamEncoder {
  encode(pcm: Int16Array): Uint8Array;
  /** Encodes into `out` (e.g. straight after an RTP header); returns the bytes written. */
  encodeInto(pcm: Int16Array, out: Uint8Array): number;
}

export interface StreamDecoder {
  decode(payload: Uint8Array): Int16Array;
}

export type CodecName = 'PCMU' | 'PCMA' | 'L16' | 'G722';

export interface Codec {
  readonly name: CodecName;
  /** Encoding name as written in a=rtpmap (RFC 4566 §6, RFC 3551 Table 4). */
  readonly encodingName: string;
  /** RTP clock rate (timestamp units per second). */
  readonly clockRate: number;
  /** PCM sample rate of frames given to encode() and returned by decode(). */
  readonly sampleRate: number;
  /** Static payload type (RFC 3551 Table 4), or the default dynamic one we offer (96-127). */
  readonly payloadType: number;
  readonly dynamic: boolean;
  /** Encoded bytes per 20 ms frame. */
  readonly bytesPerFrame: number;
  encode(pcm: Int16Array): Uint8Array;
  /** Encodes into `out` (e.g. straight after an RTP header); returns the bytes written. */
  encodeInto(pcm: Int16Array, out: Uint8Array): number;
  /** Encoded size of `samples` samples. */
  encodedSize(samples: number): number;
  decode(payload: Uint8Array): Int16Array;
  /** True when encoding/decoding carries state across frames (G.722). */
  readonly stateful: boolean;
  /** A per-stream encoder (the codec object itself for stateless codecs). */
  createEncoder(): StreamEncoder;
  createDecoder(): StreamDecoder;
}

function stateless(c: Omit<Codec, 'stateful' | 'createEncoder' | 'createDecoder'>): Codec {
  const codec: Codec = { ...c, stateful: false, createEncoder: () => codec, createDecoder: () => codec };
  return codec;
}

/** Default dynamic payload types we put in offers (RFC 3551 §3: 96-127 are dynamic). */
export const DYNAMIC_PT = { L16: 96, TELEPHONE_EVENT_8000: 101, TELEPHONE_EVENT_16000: 102 } as const;

export const PCMU: Codec = stateless({
  name: 'PCMU',
  encodingName: 'PCMU',
  clockRate: 8000,
  sampleRate: 8000,
  payloadType: 0,
  dynamic: false,
  bytesPerFrame: 160,
  encode: (pcm) => encodeMuLaw(pcm),
  encodeInto: (pcm, out) => encodeMuLaw(pcm, out.subarray(0, pcm.length)).length,
  encodedSize: (n) => n,
  decode: (p) => decodeMuLaw(p),
});

export const PCMA: Codec = stateless({
  name: 'PCMA',
  encodingName: 'PCMA',
  clockRate: 8000,
  sampleRate: 8000,
  payloadType: 8,
  dynamic: false,
  bytesPerFrame: 160,
  encode: (pcm) => encodeALaw(pcm),
  encodeInto: (pcm, out) => encodeALaw(pcm, out.subarray(0, pcm.length)).length,
  encodedSize: (n) => n,
  decode: (p) => decodeALaw(p),
});

/** L16 mono at 16 kHz: not in RFC 3551's static table (only 44.1 kHz is), so dynamic. */
export const L16_16000: Codec = stateless({
  name: 'L16',
  encodingName: 'L16',
  clockRate: 16000,
  sampleRate: 16000,
  payloadType: DYNAMIC_PT.L16,
  dynamic: true,
  bytesPerFrame: 640,
  encode: (pcm) => encodeL16(pcm),
  encodeInto: (pcm, out) => encodeL16(pcm, out.subarray(0, pcm.length * 2)).length,
  encodedSize: (n) => n * 2,
  decode: (p) => decodeL16(p),
});

/**
 * G.722 at 64 kbit/s: PT 9, RTP clock 8000 although audio is 16 kHz (RFC 3551 §4.5.2), one octet per
 * two samples (320 samples → 160 octets per 20 ms).
 */
export const G722: Codec = {
  name: 'G722',
  encodingName: 'G722',
  clockRate: 8000,
  sampleRate: 16000,
  payloadType: 9,
  dynamic: false,
  bytesPerFrame: 160,
  encode: (pcm) => new G722Encoder().encode(pcm),
  encodeInto: (pcm, out) => new G722Encoder().encode(pcm, out.subarray(0, pcm.length >> 1)).length,
  encodedSize: (n) => n >> 1,
  decode: (p) => new G722Decoder().decode(p),
  stateful: true,
  createEncoder: () => {
    const e = new G722Encoder();
    return { encode: (pcm) => e.encode(pcm), encodeInto: (pcm, out) => e.encode(pcm, out.subarray(0, pcm.length >> 1)).length };
  },
  createDecoder: () => {
    const d = new G722Decoder();
    return { decode: (p) => d.decode(p) };
  },
};

const REGISTRY: ReadonlyMap<CodecName, Codec> = new Map<CodecName, Codec>([
  ['PCMU', PCMU],
  ['PCMA', PCMA],
  ['L16', L16_16000],
  ['G722', G722],
]);

/** The codec implementation for `name`, or undefined if not implemented. */
export function getCodec(name: CodecName): Codec | undefined {
  return REGISTRY.get(name);
}

/** All implemented codecs. */
export function listCodecs(): Codec[] {
  return [...REGISTRY.values()];
}

/** Finds a codec by its SDP rtpmap encoding name and clock rate (case-insensitive, RFC 4566 §6). */
export function findCodecByRtpmap(encodingName: string, clockRate: number): Codec | undefined {
  const upper = encodingName.toUpperCase();
  for (const c of REGISTRY.values()) {
    if (c.encodingName === upper && c.clockRate === clockRate) return c;
  }
  return undefined;
}

/** Static payload types RFC 3551 Table 4 lets a peer use without a=rtpmap. */
export function staticCodecForPayloadType(pt: number): Codec | undefined {
  for (const c of REGISTRY.values()) if (!c.dynamic && c.payloadType === pt) return c;
  return undefined;
}
