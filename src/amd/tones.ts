/**
 * Steady tones from frame spectra: a tone is a run of consecutive tonal frames (pure and audible)
 * whose frequency stays within TONE_STEADY_HZ of the run's mean. The tracker reports a run when it
 * ends (the first frame that does not continue it, so within one frame of the tone's end) and the
 * run in progress; the classifiers below name beeps, fax tones and the SIT sequence from runs.
 * The frequency of a beep is never assumed: any steady tone in the band qualifies.
 */
import type { FrameSpectrum } from './spectrum.js';
import {
  BEEP_HI_HZ, BEEP_LO_HZ, BEEP_MIN_FRAMES, CED_DECIDE_MS, CED_HZ, CNG_HZ, CNG_MAX_MS, CNG_MIN_MS, FRAME_MS, SIT_BANDS_HZ, SIT_MAX_GAP_MS,
  SIT_SEG_MAX_MS, SIT_SEG_MIN_MS, TONAL_PURITY, TONE_MIN_DBFS, TONE_STEADY_HZ,
} from './thresholds.js';

export interface ToneRun {
  /** Mean frequency over the run's frames (Hz). */
  hz: number;
  /** Audio ms since the answer of the run's first frame's start and of its last frame's end. */
  startMs: number;
  endMs: number;
  frames: number;
}

export interface ToneStep {
  /** This frame is part of a steady tone. */
  tonal: boolean;
  /** A run that ended before this frame (this frame did not continue it). */
  ended?: ToneRun;
  /** The run this frame belongs to, so far. */
  current?: ToneRun;
}

export const isTonal = (s: FrameSpectrum): boolean => s.purity >= TONAL_PURITY && s.dbfs >= TONE_MIN_DBFS;

export class ToneTracker {
  #run: { sumHz: number; startMs: number; frames: number } | undefined;

  /** One frame's spectrum; `startMs` is where the frame starts (audio ms since the answer). */
  step(s: FrameSpectrum, startMs: number, frameMs = FRAME_MS): ToneStep {
    const tonal = isTonal(s);
    const out: ToneStep = { tonal };
    const r = this.#run;
    if (r && tonal && Math.abs(s.hz - r.sumHz / r.frames) <= TONE_STEADY_HZ) {
      r.sumHz += s.hz;
      r.frames++;
    } else {
      if (r) out.ended = view(r, frameMs);
      this.#run = tonal ? { sumHz: s.hz, startMs, frames: 1 } : undefined;
    }
    if (this.#run) out.current = view(this.#run, frameMs);
    return out;
  }
}

const view = (r: { sumHz: number; startMs: number; frames: number }, frameMs: number): ToneRun => ({
  hz: r.sumHz / r.frames,
  startMs: r.startMs,
  endMs: r.startMs + r.frames * frameMs,
  frames: r.frames,
});

const within = (hz: number, band: readonly [number, number]) => hz >= band[0] && hz <= band[1];
const ms = (r: ToneRun) => r.endMs - r.startMs;

/** A finished steady tone in the beep band lasting >= 100 ms (issue 17: any frequency 400-2100 Hz). */
export const isBeep = (r: ToneRun): boolean => r.frames >= BEEP_MIN_FRAMES && r.hz >= BEEP_LO_HZ && r.hz <= BEEP_HI_HZ;

/** A finished fax calling tone burst (T.30 CNG: 1100 Hz, 0.5 s). */
export const isCng = (r: ToneRun): boolean => within(r.hz, CNG_HZ) && ms(r) >= CNG_MIN_MS && ms(r) <= CNG_MAX_MS;

/** An answer tone (T.30 CED / V.25 ANS, 2100 Hz) that has gone on long enough to decide, before it ends. */
export const isCedSoFar = (r: ToneRun): boolean => within(r.hz, CED_HZ) && ms(r) >= CED_DECIDE_MS;

/** Whether a run could be the first SIT segment (so a beep decision may wait for what follows). */
export const mayStartSit = (r: ToneRun): boolean => within(r.hz, SIT_BANDS_HZ[0] as [number, number]) && ms(r) >= SIT_SEG_MIN_MS && ms(r) <= SIT_SEG_MAX_MS;

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

  matches(current: ToneRun | undefined): boolean {
    if (!current) return false;
    const [a, b] = this.#recent;
    if (!a || !b || this.#recent.length < 2) return false;
    const seg = (r: ToneRun, i: number) => within(r.hz, SIT_BANDS_HZ[i] as [number, number]) && ms(r) >= SIT_SEG_MIN_MS && ms(r) <= SIT_SEG_MAX_MS;
    return (
      seg(a, 0) && seg(b, 1) && within(current.hz, SIT_BANDS_HZ[2] as [number, number]) && ms(current) >= SIT_SEG_MIN_MS &&
      b.startMs - a.endMs <= SIT_MAX_GAP_MS && current.startMs - b.endMs <= SIT_MAX_GAP_MS
    );
  }
}
