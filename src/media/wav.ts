/**
 * Writes 16-bit PCM RIFF/WAVE (the canonical 44-byte header: RIFF, a 16-byte PCM `fmt ` chunk, then
 * `data`). Reading WAV lives in src/providers/tts/wav-stream.ts (WavStreamParser); this is the other
 * direction, for call recordings.
 */

/** Bytes of the canonical header this writer emits before the samples. */
export const WAV_HEADER_BYTES = 44;

/** The largest data chunk a RIFF size field (uint32) can describe. */
const MAX_DATA_BYTES = 0xffffffff - 36;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes the header for `dataBytes` of interleaved 16-bit samples into the first 44 bytes of `view`. */
export function writeWavHeader(view: DataView, dataBytes: number, sampleRate: number, channels: number): void {
  if (!Number.isInteger(channels) || channels < 1 || channels > 8) throw new RangeError(`bad channel count ${channels}`);
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`bad sample rate ${sampleRate}`);
  if (dataBytes > MAX_DATA_BYTES) throw new RangeError(`WAV data of ${dataBytes} bytes does not fit a RIFF file`);
  const ascii = (off: number, s: string) => {
    for (let i = 0; i < s.length; i++) view.setUint8(off + i, s.charCodeAt(i));
  };
  const blockAlign = channels * 2;
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // PCM fmt chunk size
  view.setUint16(20, 1, true); // WAVE_FORMAT_PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * blockAlign, true); // byte rate
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
}

/**
 * A whole WAV file from channel planes of equal length (one plane: mono; two: left, right),
 * interleaved as RIFF requires. Returns a fresh ArrayBuffer, so it can be transferred between threads.
 */
export function encodeWav(planes: readonly Int16Array[], sampleRate: number): ArrayBuffer {
  const channels = planes.length;
  const frames = planes[0]?.length ?? 0;
  if (planes.some((p) => p.length !== frames)) throw new RangeError('WAV channel planes must have the same length');
  const dataBytes = frames * channels * 2;
  const buf = new ArrayBuffer(WAV_HEADER_BYTES + dataBytes);
  const view = new DataView(buf);
  writeWavHeader(view, dataBytes, sampleRate, channels);
  if (LITTLE_ENDIAN) {
    const out = new Int16Array(buf, WAV_HEADER_BYTES, frames * channels);
    if (channels === 1) out.set(planes[0] as Int16Array);
    else for (let c = 0; c < channels; c++) {
      const p = planes[c] as Int16Array;
      for (let i = 0; i < frames; i++) out[i * channels + c] = p[i] as number;
    }
  } else {
    for (let i = 0; i < frames; i++) {
      for (let c = 0; c < channels; c++) view.setInt16(WAV_HEADER_BYTES + (i * channels + c) * 2, (planes[c] as Int16Array)[i] as number, true);
    }
  }
  return buf;
}
