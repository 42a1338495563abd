/**
 * Media: codecs and resampling as pure functions over Int16Array PCM frames.
 *
 * Contract:
 * - Frames are 20 ms of mono PCM16 at a codec's `sampleRate` (160 samples at 8 kHz, 320 at 16 kHz):
 *   `samplesPerFrame(rate)`, `FrameChunker` to cut arbitrary chunks into frames.
 * - `getCodec('PCMU'|'PCMA'|'L16'|'G722')` → `Codec { name, encodingName, clockRate, sampleRate,
 *   payloadType, dynamic, bytesPerFrame, encode(Int16Array): Uint8Array, decode(Uint8Array): Int16Array,
 *   encodeInto, encodedSize, stateful, createEncoder(), createDecoder() }`.
 *   G.711 is bit-exact with sox; L16 is big-endian (RFC 3551 §4.5.11) at 16 kHz; G.722 (64 kbit/s,
 *   16 kHz audio, RTP clock 8000) is bit-exact with spandsp and stateful: streams use
 *   createEncoder()/createDecoder() per direction.
 * - `new Resampler(inRate, outRate).process(chunk)` streams any integer-rate conversion (tested for
 *   8k↔16k and 22050/24000/44100/48000 → 8k/16k) through a polyphase Kaiser-windowed sinc;
 *   `resample(buf, in, out)` is the one-shot form.
 */
export { encodeMuLaw, decodeMuLaw, encodeALaw, decodeALaw, MULAW_SILENCE, ALAW_SILENCE } from './g711.js';
export { encodeL16, decodeL16 } from './l16.js';
export { Resampler, resample, type ResamplerOptions } from './resampler.js';
export { G722Encoder, G722Decoder } from './g722.js';
export { FRAME_MS, samplesPerFrame, samplesToMs, silenceFrame, FrameChunker } from './frames.js';
export {
  type Codec,
  type CodecName,
  PCMU,
  PCMA,
  L16_16000,
  G722,
  type StreamEncoder,
  type StreamDecoder,
  DYNAMIC_PT,
  getCodec,
  listCodecs,
  findCodecByRtpmap,
  staticCodecForPayloadType,
} from './codecs.js';
