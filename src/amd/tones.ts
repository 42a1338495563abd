/**
 * Steady tones from frame spectra: a tone is a run of consecutive tonal frames (pure and audible)
 * whose frequency stays within TONE_STEADY_HZ of the run's mean. The tracker reports a run when it
 * ends (the first frame that does not continue it, so within one frame of the tone's end) and the
 * run in progress; the classifiers below name beeps, fax tones and the SIT sequence from runs.
 * The frequency of a beep is never assumed: any steady tone in the band qualifies.
 */
import type { FrameSpectrum } from './spectrum.js';
import {
  BEEP_COHERENCE, BEEP_HI_HZ, BEEP_LO_HZ, BEEP_MIN_FRAMES, CED_MIN_ENDED_MS, COHERENCE_MAX_FRAMES, TONE_TAIL_DROP_DB, CED_DECIDE_MS, CED_HZ, CNG_HZ, CNG_MAX_MS, CNG_MIN_MS, FRAME_MS, SIT_BANDS_HZ, SIT_MAX_GAP_MS,
  SIT_SEG_MAX_MS, SIT_SEG_MIN_MS, TONAL_PURITY, TONE_MAX_SUB_DB, TONE_MIN_DBFS, TONE_STEADY_HZ,
} from './thresholds.js';

export interface ToneRun {
  /** Mean frequency over the run's frames (Hz). */
  hz: number;
  /** Audio ms since the answer of the run's first frame's start and of its last frame's end. */
  startMs: number;
  endMs: number;
  frames: number;
  /**
   * Phase coherence (0-1) of the run at its best steady frequency (ended runs of at least
   * BEEP_MIN_FRAMES only): 1 for a generator's tone, lower for a voice whose pitch jitters.
   */
  coherence?: number;
}

export interface ToneStep {
  /** This frame is part of a steady tone. */
  tonal: boolean;
  /** A run that ended before this frame (this frame did not continue it). */
  ended?: ToneRun;
  /** The run this frame belongs to, so far. */
  current?: ToneRun;
}

export const isTonal = (s: FrameSpectrum): boolean => s.purity >= TONAL_PURITY && s.dbfs >= TONE_MIN_DBFS && s.subDb <= TONE_MAX_SUB_DB;

interface Run {
  sumHz: number;
  sumDb: number;
  startMs: number;
  frames: number;
  /** The run's first frames' samples (up to COHERENCE_MAX_FRAMES), for the coherence check. */
  pcm: Int16Array[];
}

export class ToneTracker {
  #run: Run | undefined;

  constructor(readonly sampleRate: 8000 | 16000) {}

  /** One frame (its samples and spectrum); `startMs` is where the frame starts (audio ms since the answer). */
  step(s: FrameSpectrum, frame: Int16Array, startMs: number, frameMs = FRAME_MS): ToneStep {
    const tonal = isTonal(s);
    const out: ToneStep = { tonal };
    const r = this.#run;
    if (r && tonal && Math.abs(s.hz - r.sumHz / r.frames) <= TONE_STEADY_HZ) {
      r.sumHz += s.hz;
      r.sumDb += s.dbfs;
      r.frames++;
      if (r.pcm.length < COHERENCE_MAX_FRAMES) r.pcm.push(frame.slice());
      // A frame well under the tone's level holds only its tail: the tone ends here, not a frame later.
      if (s.dbfs < r.sumDb / r.frames - TONE_TAIL_DROP_DB && r.frames > 2) {
        out.ended = this.#finish(r, frameMs);
        this.#run = undefined;
        return out;
      }
    } else {
      if (r) out.ended = this.#finish(r, frameMs);
      this.#run = tonal ? { sumHz: s.hz, sumDb: s.dbfs, startMs, frames: 1, pcm: [frame.slice()] } : undefined;
    }
    if (this.#run) out.current = view(this.#run, frameMs);
    return out;
  }

  #finish(r: Run, frameMs: number): ToneRun {
    const v = view(r, frameMs);
    if (r.frames >= BEEP_MIN_FRAMES) v.coherence = coherence(r.pcm, this.sampleRate, v.hz);
    return v;
  }
}

/**
 * How steadily one frequency runs through the frames: each frame's DFT at f, taken against absolute
 * time, keeps its phase when the source is one oscillator, whatever the level does; the coherence is
 * |sum X_k| / sum |X_k| at the best f within +-TONE_STEADY_HZ. A generator's beep stays above 0.9;
 * a voice's harmonic drifts and jitters from one glottal pulse to the next and loses phase.
 */
export function coherence(frames: readonly Int16Array[], rate: number, hz: number): number {
  let best = 0;
  for (let df = -TONE_STEADY_HZ; df <= TONE_STEADY_HZ; df += 0.5) {
    const w = (2 * Math.PI * (hz + df)) / rate;
    let sr = 0;
    let si = 0;
    let mags = 0;
    let n0 = 0;
    for (const f of frames) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < f.length; i++) {
        const ph = w * (n0 + i);
        re += (f[i] as number) * Math.cos(ph);
        im -= (f[i] as number) * Math.sin(ph);
      }
      sr += re;
      si += im;
      mags += Math.hypot(re, im);
      n0 += f.length;
    }
    if (mags > 0) best = Math.max(best, Math.hypot(sr, si) / mags);
  }
  return best;
}

const view = (r: Run, frameMs: number): ToneRun => ({
  hz: r.sumHz / r.frames,
  startMs: r.startMs,
  endMs: r.startMs + r.frames * frameMs,
  frames: r.frames,
});

const within = (hz: number, band: readonly [number, number]) => hz >= band[0] && hz <= band[1];
const ms = (r: ToneRun) => r.endMs - r.startMs;

/** A finished steady tone in the beep band lasting >= 100 ms (issue 17: any frequency 400-2100 Hz). */
export const isBeep = (r: ToneRun): boolean =>
  r.frames >= BEEP_MIN_FRAMES && r.hz >= BEEP_LO_HZ && r.hz <= BEEP_HI_HZ && (r.coherence ?? 0) >= BEEP_COHERENCE;

/** A finished fax calling tone burst (T.30 CNG: 1100 Hz, 0.5 s). */
export const isCng = (r: ToneRun): boolean => within(r.hz, CNG_HZ) && ms(r) >= CNG_MIN_MS && ms(r) <= CNG_MAX_MS;

/** An answer tone (T.30 CED / V.25 ANS, 2100 Hz) that has gone on long enough to decide, before it ends. */
export const isCedSoFar = (r: ToneRun): boolean => within(r.hz, CED_HZ) && ms(r) >= CED_DECIDE_MS;

/** A finished answer tone shorter than CED should be but long for anything else (a fax going on to V.21). */
export const isShortCed = (r: ToneRun): boolean => within(r.hz, CED_HZ) && ms(r) >= CED_MIN_ENDED_MS;

/** A run that fits SIT segment i (its band and length). */
const seg = (r: ToneRun, i: number) => within(r.hz, SIT_BANDS_HZ[i] as [number, number]) && ms(r) >= SIT_SEG_MIN_MS && ms(r) <= SIT_SEG_MAX_MS;

/**
 * The three special information tones in sequence (ITU-T Q.35, Telcordia SR-2275): fed every ended run
 * and the run in progress, it answers true once the third segment has lasted SIT_SEG_MIN_MS.
 */
export class SitMatcher {
  #recent: ToneRun[] = [];

  ended(r: ToneRun): void {
    // A frame or two of a glide or a boundary between segments is not a segment.
    if (r.frames < 3) return;
    this.#recent.push(r);
    if (this.#recent.length > 2) this.#recent.shift();
  }

  /**
   * Whether the tones so far may still become SIT: the last ended run(s) are its first segment (or
   * first two), and the next segment is sounding or may still start (within SIT_MAX_GAP_MS). A beep
   * that may be a SIT segment waits on this (a few frames) rather than deciding a machine.
   */
  mayBecomeSit(current: ToneRun | undefined, nowMs: number): boolean {
    const n = this.#recent.length;
    const last = this.#recent[n - 1];
    if (!last) return false;
    const k = [0, 1].find((i) => seg(last, i) && (i === 0 || (n >= 2 && seg(this.#recent[n - 2] as ToneRun, 0) && last.startMs - (this.#recent[n - 2] as ToneRun).endMs <= SIT_MAX_GAP_MS)));
    if (k === undefined) return false;
    const next = SIT_BANDS_HZ[k + 1] as [number, number];
    if (current && current.startMs >= last.endMs) return within(current.hz, next);
    return nowMs - last.endMs <= SIT_MAX_GAP_MS;
  }

  matches(current: ToneRun | undefined): boolean {
    if (!current) return false;
    const [a, b] = this.#recent;
    if (!a || !b || this.#recent.length < 2) return false;
    return (
      seg(a, 0) && seg(b, 1) && within(current.hz, SIT_BANDS_HZ[2] as [number, number]) && ms(current) >= SIT_SEG_MIN_MS &&
      b.startMs - a.endMs <= SIT_MAX_GAP_MS && current.startMs - b.endMs <= SIT_MAX_GAP_MS
    );
  }
}
