/**
 * Where the sound of a recording starts and ends, by energy: the recording is cut in 20 ms frames,
 * and a frame is sound when its RMS on any channel reaches the threshold. Everything before the
 * first sound frame and after the last one is leading and trailing silence (record.trim_silence).
 *
 * The threshold, -50 dBFS (an RMS of about 104 on the 16-bit scale), sits well below speech on a
 * phone line (about -35 to -15 dBFS) and above what a quiet line carries between words (digital
 * silence, G.711's idle pattern, comfort noise around -60 dBFS), so the cut never eats a soft word
 * and never keeps a stretch of hiss.
 */
import { samplesPerFrame } from './frames.js';

export const TRIM_SILENCE_THRESHOLD_DBFS = -50;

/** The RMS a frame must reach on some channel to be sound (full scale is 32768). */
export const TRIM_SILENCE_THRESHOLD_RMS = 32768 * 10 ** (TRIM_SILENCE_THRESHOLD_DBFS / 20);

function loud(plane: Int16Array, from: number, to: number, threshold: number): boolean {
  let sum = 0;
  for (let i = from; i < to; i++) {
    const s = plane[i] as number;
    sum += s * s;
  }
  return to > from && Math.sqrt(sum / (to - from)) >= threshold;
}

/**
 * The sample range [start, end) that holds the sound of `planes` (channels of equal length), cut on
 * whole 20 ms frames; {start: 0, end: 0} when all of it is silence.
 */
export function soundRange(planes: readonly Int16Array[], sampleRate: number, thresholdRms = TRIM_SILENCE_THRESHOLD_RMS): { start: number; end: number } {
  const n = planes[0]?.length ?? 0;
  const frame = samplesPerFrame(sampleRate);
  const frameLoud = (f: number) => planes.some((p) => loud(p, f * frame, Math.min(n, (f + 1) * frame), thresholdRms));
  const frames = Math.ceil(n / frame);
  let first = 0;
  while (first < frames && !frameLoud(first)) first++;
  if (first === frames) return { start: 0, end: 0 };
  let last = frames - 1;
  while (last > first && !frameLoud(last)) last--;
  return { start: first * frame, end: Math.min(n, (last + 1) * frame) };
}
