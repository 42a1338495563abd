/**
 * Codec registry: every audio codec the telephony layer can negotiate, as pure encode/decode
 * functions over one frame. `clockRate` is the RTP timestamp rate; `sampleRate` the PCM rate the
 * codec consumes and produces (they differ only for G.722, RFC 3551 §4.5.2).
 */
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw } from './g711.js';
import { decodeL16, encodeL16 } from './l16.js';

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
}

/** Default dynamic payload types we put in offers (RFC 3551 §3: 96-127 are dynamic). */
export const DYNAMIC_PT = { L16: 96, TELEPHONE_EVENT_8000: 101, TELEPHONE_EVENT_16000: 102 } as const;

export const PCMU: Codec = {
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
};

export const PCMA: Codec = {
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
};

/** L16 mono at 16 kHz: not in RFC 3551's static table (only 44.1 kHz is), so dynamic. */
export const L16_16000: Codec = {
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
};

const REGISTRY: ReadonlyMap<CodecName, Codec> = new Map<CodecName, Codec>([
  ['PCMU', PCMU],
  ['PCMA', PCMA],
  ['L16', L16_16000],
]);

/** The codec implementation for `name`, or undefined if not implemented (G722 is not, yet). */
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
