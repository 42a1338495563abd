/**
 * Streaming rational resampler: a polyphase windowed-sinc (Kaiser) low-pass FIR.
 *
 * For rates in → out with g = gcd(in, out), L = out/g and M = in/g, output sample n sits at input
 * time t = n·M/L. Its fractional part takes only L distinct values, so the filter is precomputed as
 * L phases of 2K taps each. The cut-off is placed just below the lower Nyquist frequency
 * (`rolloff` · min(in, out)/2) so that down-sampling does not alias (e.g. a 5 kHz tone at 48 kHz does
 * not fold to 3 kHz at 8 kHz) and up-sampling does not image. Each phase is normalised to unity DC
 * gain. The resampler is stateful (keeps K samples of history), so feeding 20 ms chunks gives the same
 * output as one long call; it delays the signal by about K input samples.
 */

export interface ResamplerOptions {
  /** Zero crossings of the sinc on each side, in output-band units. More = sharper, slower. Default 12. */
  zeroCrossings?: number;
  /** Cut-off as a fraction of the lower Nyquist frequency. Default 0.9. */
  rolloff?: number;
  /** Kaiser window beta (stop-band attenuation ≈ 8.7·beta dB... roughly; 8 gives ~80 dB). Default 8. */
  kaiserBeta?: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series), for the Kaiser window. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

const tableCache = new Map<string, { taps: Float32Array; width: number }>();

function buildTable(L: number, M: number, opts: Required<ResamplerOptions>): { taps: Float32Array; width: number } {
  const key = `${L}/${M}/${opts.zeroCrossings}/${opts.rolloff}/${opts.kaiserBeta}`;
  const cached = tableCache.get(key);
  if (cached) return cached;
  // Cut-off in cycles per input sample, relative to input Nyquist = 1.
  const scale = Math.min(1, L / M) * opts.rolloff;
  const halfWidth = opts.zeroCrossings / scale; // in input samples
  const K = Math.ceil(halfWidth);
  const width = 2 * K;
  const taps = new Float32Array(L * width);
  const i0b = besselI0(opts.kaiserBeta);
  for (let p = 0; p < L; p++) {
    const frac = p / L;
    let sum = 0;
    for (let k = 0; k < width; k++) {
      // tap k multiplies input sample at (floor(t) - K + 1 + k); its distance from t is:
      const d = frac - (k - K + 1);
      let h = 0;
      if (Math.abs(d) < halfWidth) {
        const x = scale * d;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        const r = d / halfWidth;
        const w = besselI0(opts.kaiserBeta * Math.sqrt(1 - r * r)) / i0b;
        h = scale * sinc * w;
      }
      taps[p * width + k] = h;
      sum += h;
    }
    for (let k = 0; k < width; k++) taps[p * width + k] = (taps[p * width + k] as number) / sum;
  }
  const t = { taps, width };
  tableCache.set(key, t);
  return t;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  private readonly L: number;
  private readonly M: number;
  private readonly taps: Float32Array;
  private readonly width: number;
  private readonly K: number;
  /** Input history; hist[0] is absolute input index histStart. */
  private hist: Float32Array;
  private histLen: number;
  private histStart: number;
  /** floor(t) and phase (n·M mod L) of the next output sample. */
  private pos = 0;
  private phase = 0;

  constructor(inRate: number, outRate: number, options: ResamplerOptions = {}) {
    if (!(Number.isInteger(inRate) && inRate > 0 && Number.isInteger(outRate) && outRate > 0)) {
      throw new RangeError(`bad rates ${inRate} → ${outRate}`);
    }
    const opts: Required<ResamplerOptions> = {
      zeroCrossings: options.zeroCrossings ?? 12,
      rolloff: options.rolloff ?? 0.9,
      kaiserBeta: options.kaiserBeta ?? 8,
    };
    this.inRate = inRate;
    this.outRate = outRate;
    const g = gcd(inRate, outRate);
    this.L = outRate / g;
    this.M = inRate / g;
    const t = buildTable(this.L, this.M, opts);
    this.taps = t.taps;
    this.width = t.width;
    this.K = t.width / 2;
    // Prime with K-1 zeros before input index 0 so the first output has a full window.
    this.hist = new Float32Array(4096);
    this.histStart = -(this.K - 1);
    this.histLen = this.K - 1;
  }

  /** Resamples one chunk; output length varies by ±1 sample between chunks for non-integer ratios. */
  process(input: Int16Array): Int16Array {
    if (this.inRate === this.outRate) return input.slice();
    this.append(input);
    const available = this.histStart + this.histLen; // one past the last input index we hold
    // output n needs input indices pos-K+1 .. pos+K
    const maxOut = Math.max(0, Math.ceil(((available - this.K - this.pos) * this.L - this.phase) / this.M) + 1);
    const out = new Int16Array(maxOut);
    let n = 0;
    const { taps, width, L, M, K, hist } = this;
    while (this.pos + K < available + 0 && n < maxOut) {
      const base = this.pos - K + 1 - this.histStart;
      const tb = this.phase * width;
      let acc = 0;
      for (let k = 0; k < width; k++) acc += (taps[tb + k] as number) * (hist[base + k] as number);
      const r = Math.round(acc);
      out[n++] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
      this.phase += M;
      while (this.phase >= L) {
        this.phase -= L;
        this.pos++;
      }
    }
    this.discard(this.pos - K + 1);
    return n === maxOut ? out : out.subarray(0, n);
  }

  /** Pushes K zeros through so the delayed tail comes out; the resampler stays usable. */
  flush(): Int16Array {
    if (this.inRate === this.outRate) return new Int16Array(0);
    return this.process(new Int16Array(this.K));
  }

  private append(input: Int16Array): void {
    const need = this.histLen + input.length;
    if (need > this.hist.length) {
      const bigger = new Float32Array(Math.max(need, this.hist.length * 2));
      bigger.set(this.hist.subarray(0, this.histLen));
      this.hist = bigger;
    }
    for (let i = 0; i < input.length; i++) this.hist[this.histLen + i] = input[i] as number;
    this.histLen += input.length;
  }

  private discard(firstNeeded: number): void {
    const drop = firstNeeded - this.histStart;
    if (drop <= 0) return;
    this.hist.copyWithin(0, drop, this.histLen);
    this.histLen -= drop;
    this.histStart += drop;
  }
}

/** One-shot convenience: resample a whole buffer including the filter tail. */
export function resample(input: Int16Array, inRate: number, outRate: number, options?: ResamplerOptions): Int16Array {
  if (inRate === outRate) return input.slice();
  const r = new Resampler(inRate, outRate, options);
  const a = r.process(input);
  const b = r.flush();
  const out = new Int16Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
