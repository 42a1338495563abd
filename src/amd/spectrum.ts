/**
 * One 20 ms frame's level and spectral peak: the raw measurements every tone detector reads.
 * A Hann-windowed FFT, zero-padded to 31.25 Hz bins at 8 and 16 kHz; the peak's frequency by
 * parabolic interpolation of the log power (accurate to a few Hz on a steady tone), and its purity:
 * the share of the telephone band's energy that lies within the peak's main lobe. A pure tone
 * measures near 1, a DTMF pair near 0.5, voiced speech (energy spread over harmonics) well below.
 */
import { BAND_HI_HZ, BAND_LO_HZ, FFT_BIN_HZ, PEAK_HALF_BINS, SUB_LO_HZ } from './thresholds.js';

export interface FrameSpectrum {
  /** RMS level of the frame, dB relative to full scale (-Infinity for digital silence). */
  dbfs: number;
  /** The band's strongest frequency (Hz). */
  hz: number;
  /** Share (0-1) of in-band energy within +-PEAK_HALF_BINS of the peak. */
  purity: number;
  /**
   * Energy under the band (SUB_LO_HZ up to BAND_LO_HZ) relative to the peak's lobe, dB: where a voice
   * keeps its fundamental when its second or third harmonic makes the in-band peak. A beep has none.
   */
  subDb: number;
}

export class FrameAnalyzer {
  readonly #n: number;
  readonly #window: Float64Array;
  readonly #re: Float64Array;
  readonly #im: Float64Array;
  readonly #power: Float64Array;
  readonly #lo: number;
  readonly #hi: number;
  readonly #subLo: number;
  readonly #rev: Uint32Array;
  readonly #cos: Float64Array;
  readonly #sin: Float64Array;

  constructor(readonly sampleRate: 8000 | 16000) {
    this.#n = Math.round(sampleRate / FFT_BIN_HZ);
    const frame = sampleRate / 50;
    this.#window = new Float64Array(frame);
    for (let i = 0; i < frame; i++) this.#window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / frame);
    this.#re = new Float64Array(this.#n);
    this.#im = new Float64Array(this.#n);
    this.#power = new Float64Array(this.#n / 2 + 1);
    this.#lo = Math.ceil(BAND_LO_HZ / FFT_BIN_HZ);
    this.#subLo = Math.ceil(SUB_LO_HZ / FFT_BIN_HZ);
    this.#hi = Math.min(this.#n / 2 - 1, Math.floor(BAND_HI_HZ / FFT_BIN_HZ));
    this.#cos = new Float64Array(this.#n / 2);
    this.#sin = new Float64Array(this.#n / 2);
    for (let j = 0; j < this.#n / 2; j++) {
      this.#cos[j] = Math.cos((-2 * Math.PI * j) / this.#n);
      this.#sin[j] = Math.sin((-2 * Math.PI * j) / this.#n);
    }
    const bits = Math.log2(this.#n);
    this.#rev = new Uint32Array(this.#n);
    for (let i = 0; i < this.#n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.#rev[i] = r;
    }
  }

  analyze(frame: Int16Array): FrameSpectrum {
    let sq = 0;
    for (let i = 0; i < frame.length; i++) sq += (frame[i] as number) * (frame[i] as number);
    const dbfs = frame.length === 0 ? -Infinity : 10 * Math.log10(sq / frame.length / (32768 * 32768));
    const re = this.#re;
    const im = this.#im;
    re.fill(0);
    im.fill(0);
    const m = Math.min(frame.length, this.#window.length, this.#n);
    for (let i = 0; i < m; i++) re[this.#rev[i] as number] = (frame[i] as number) * (this.#window[i] as number);
    fftInPlace(re, im, this.#cos, this.#sin);
    const p = this.#power;
    let total = 0;
    let peak = this.#lo;
    for (let k = this.#lo; k <= this.#hi; k++) {
      const v = (re[k] as number) ** 2 + (im[k] as number) ** 2;
      p[k] = v;
      total += v;
      if (v > (p[peak] as number)) peak = k;
    }
    if (total <= 0) return { dbfs, hz: 0, purity: 0, subDb: -Infinity };
    let lobe = 0;
    for (let k = Math.max(this.#lo, peak - PEAK_HALF_BINS); k <= Math.min(this.#hi, peak + PEAK_HALF_BINS); k++) lobe += p[k] as number;
    let sub = 0;
    for (let k = this.#subLo; k < this.#lo; k++) sub += (re[k] as number) ** 2 + (im[k] as number) ** 2;
    let delta = 0;
    if (peak > this.#lo && peak < this.#hi) {
      const a = Math.log((p[peak - 1] as number) + 1e-9);
      const b = Math.log((p[peak] as number) + 1e-9);
      const c = Math.log((p[peak + 1] as number) + 1e-9);
      const d = a - 2 * b + c;
      if (d < 0) delta = Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / d));
    }
    return { dbfs, hz: (peak + delta) * FFT_BIN_HZ, purity: lobe / total, subDb: 10 * Math.log10((sub + 1e-9) / (lobe + 1e-9)) };
  }
}

/** Iterative radix-2 FFT over bit-reversed input (the caller places samples at reversed indices). */
function fftInPlace(re: Float64Array, im: Float64Array, cos: Float64Array, sin: Float64Array): void {
  const n = re.length;
  for (let size = 2; size <= n; size *= 2) {
    const half = size / 2;
    const stride = n / size;
    for (let start = 0; start < n; start += size) {
      for (let j = 0; j < half; j++) {
        const wr = cos[j * stride] as number;
        const wi = sin[j * stride] as number;
        const a = start + j;
        const b = a + half;
        const xr = (re[b] as number) * wr - (im[b] as number) * wi;
        const xi = (re[b] as number) * wi + (im[b] as number) * wr;
        re[b] = (re[a] as number) - xr;
        im[b] = (im[a] as number) - xi;
        re[a] = (re[a] as number) + xr;
        im[a] = (im[a] as number) + xi;
      }
    }
  }
}
