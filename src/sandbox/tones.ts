/**
 * Tones a persona plays: a voicemail's beep and the signalling tones a callee sends right after
 * answering instead of a voice (network intercepts, fax machines). Their format (validated here,
 * documented in src/sandbox/README.md) and their rendering to PCM, pure.
 *
 * Facts the bundled personas use (data in sandbox/personas/*.json, not code):
 * - Special information tones (ITU-T E.180 and Q.35): three tones in rising order, 950 / 1400 /
 *   1800 Hz ±50, each 330 ±70 ms, ≤ 30 ms apart; North American carriers send 913.8 / 1370.6 /
 *   1776.7 Hz (and 985.2 / 1428.5 for other codes), then the recorded announcement.
 * - Fax (ITU-T T.30): the calling tone CNG is 1100 Hz, 0.5 s on / 3 s off, repeating; the
 *   answer tone CED is 2100 Hz for 2.6-4 s.
 */

/** One tone: a frequency (or two summed, as in dual-tone signals) for ms, then gap_ms of silence. */
export interface ToneSegment {
  readonly hz: number | readonly [number, number];
  readonly ms: number;
  readonly gap_ms?: number;
}

/** Segments played in order, the whole list `repeat` times (default 1) or until the call ends. */
export interface TonesSpec {
  readonly segments: readonly ToneSegment[];
  readonly repeat?: number | 'until_hangup';
}

/** A voicemail's beep: true is the classic one (BEEP_DEFAULT), or its own frequency and length. */
export type BeepSpec = boolean | { readonly hz: number; readonly ms: number };

/** The beep `beep: true` plays: 1 kHz for 400 ms, the common answering-machine tone. */
export const BEEP_DEFAULT = { hz: 1000, ms: 400 } as const;
/**
 * Beeps machines really use fall between ~400 and ~2100 Hz and last ~100 ms to ~2 s; the range the
 * issue asks the detector to find. A beep outside it would test nothing the detector promises.
 */
export const BEEP_HZ = { min: 400, max: 2100 } as const;
export const BEEP_MS = { min: 100, max: 2000 } as const;
/** Tones within telephone bandwidth (G.711 passes 300-3400 Hz; lower tones are allowed for tests). */
export const TONE_HZ = { min: 50, max: 3900 } as const;
/** Peak amplitude of a rendered tone: about -11 dBFS, as loud as the personas' voices, far from clipping. */
export const TONE_AMPLITUDE = 9000;

/** The beep's frequency and length, or undefined when the persona has none. */
export function beepOf(beep: BeepSpec | undefined): { hz: number; ms: number } | undefined {
  if (beep === undefined || beep === false) return undefined;
  return beep === true ? { ...BEEP_DEFAULT } : { hz: beep.hz, ms: beep.ms };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
const isInt = (v: unknown, min: number, max: number): v is number => isNum(v, min, max) && Number.isInteger(v);

/** Problems of a `beep` value, each "beep...: what is wrong" (empty = valid). */
export function beepProblems(v: unknown): string[] {
  if (v === undefined || typeof v === 'boolean') return [];
  const shape = `beep: true, false or { "hz": ${BEEP_HZ.min}-${BEEP_HZ.max}, "ms": ${BEEP_MS.min}-${BEEP_MS.max} }`;
  if (!isObject(v)) return [shape];
  const out: string[] = [];
  for (const k of Object.keys(v)) if (k !== 'hz' && k !== 'ms') out.push(`beep.${k}: unknown field (allowed: hz, ms)`);
  if (!isNum(v.hz, BEEP_HZ.min, BEEP_HZ.max)) out.push(`beep.hz: a frequency from ${BEEP_HZ.min} to ${BEEP_HZ.max} Hz`);
  if (!isInt(v.ms, BEEP_MS.min, BEEP_MS.max)) out.push(`beep.ms: an integer from ${BEEP_MS.min} to ${BEEP_MS.max}`);
  return out;
}

/** Problems of a `tones` value (empty = valid). */
export function tonesProblems(v: unknown): string[] {
  if (v === undefined) return [];
  if (!isObject(v)) return ['tones: { "segments": [{ "hz": n | [n, n], "ms": n, "gap_ms"?: n }, ...], "repeat"?: n | "until_hangup" }'];
  const out: string[] = [];
  for (const k of Object.keys(v)) if (k !== 'segments' && k !== 'repeat') out.push(`tones.${k}: unknown field (allowed: segments, repeat)`);
  if (v.repeat !== undefined && v.repeat !== 'until_hangup' && !isInt(v.repeat, 1, 100)) out.push('tones.repeat: an integer from 1 to 100, or "until_hangup"');
  if (!Array.isArray(v.segments) || v.segments.length === 0 || v.segments.length > 20) {
    out.push('tones.segments: required, 1 to 20 segments');
    return out;
  }
  const hzRange = `${TONE_HZ.min}-${TONE_HZ.max}`;
  v.segments.forEach((s: unknown, i: number) => {
    const at = `tones.segments[${i}]`;
    if (!isObject(s)) {
      out.push(`${at}: an object { "hz": n | [n, n], "ms": n, "gap_ms"?: n }`);
      return;
    }
    for (const k of Object.keys(s)) if (k !== 'hz' && k !== 'ms' && k !== 'gap_ms') out.push(`${at}.${k}: unknown field (allowed: hz, ms, gap_ms)`);
    const hz = s.hz;
    const hzOk = isNum(hz, TONE_HZ.min, TONE_HZ.max) || (Array.isArray(hz) && hz.length === 2 && hz.every((f) => isNum(f, TONE_HZ.min, TONE_HZ.max)));
    if (!hzOk) out.push(`${at}.hz: a frequency (${hzRange} Hz) or two of them [hz1, hz2]`);
    if (!isInt(s.ms, 20, 10_000)) out.push(`${at}.ms: an integer from 20 to 10000`);
    if (s.gap_ms !== undefined && !isInt(s.gap_ms, 0, 10_000)) out.push(`${at}.gap_ms: an integer from 0 to 10000`);
  });
  return out;
}

/** Length of one pass over the segments, tones and gaps (ms). */
export function tonesPassMs(segments: readonly ToneSegment[]): number {
  return segments.reduce((n, s) => n + s.ms + (s.gap_ms ?? 0), 0);
}

/** One pass over the segments as PCM16 at `rate`: each tone (two tones at half amplitude each) then its gap. */
export function renderTones(rate: number, segments: readonly ToneSegment[]): Int16Array {
  const parts = segments.map((s) => {
    const freqs = typeof s.hz === 'number' ? [s.hz] : [...s.hz];
    const n = Math.round((rate * s.ms) / 1000);
    const gap = Math.round((rate * (s.gap_ms ?? 0)) / 1000);
    const out = new Int16Array(n + gap);
    const amp = TONE_AMPLITUDE / freqs.length;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (const f of freqs) v += Math.sin((2 * Math.PI * f * i) / rate);
      out[i] = Math.round(amp * v);
    }
    return out;
  });
  return concatPcm(parts);
}

/** The chunks one after another, as one buffer. */
export function concatPcm(chunks: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
