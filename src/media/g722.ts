/**
 * ITU-T G.722 at 64 kbit/s (mode 1): 16 kHz wideband audio as sub-band ADPCM, written from the
 * block descriptions of the Recommendation (QMF, lower band 6-bit ADPCM with a 4-bit feedback
 * loop, higher band 2-bit ADPCM, the shared pole-zero predictor "block 4").
 *
 * RTP (RFC 3551 §4.5.2): payload type 9, clock rate 8000 in SDP and timestamps even though the audio
 * is sampled at 16 kHz — an erratum kept for compatibility. One octet per pair of 16 kHz samples,
 * so a 20 ms frame is 320 samples → 160 octets.
 *
 * Encoders and decoders are stateful (ADPCM): use one instance per direction per call. Input and
 * output are 16-bit linear PCM; bit-exactness against spandsp is checked in test/media/g722.test.ts.
 */

const QMF = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11]; // h(0), h(2), … h(22); odd taps mirror them
const Q6 = [0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0];
const ILN = [0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0];
const ILP = [0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0];
const QM4 = [0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0];
const QM6 = [
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856, -7192, -6576,
  -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984,
  13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360,
  1040, 728, 432, 136, -432, -136,
];
const RL42 = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
const WL = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const ILB = [
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228,
  3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
const QM2 = [-7408, -1616, 7408, 1616];
const IHN = [0, 1, 0];
const IHP = [0, 3, 2];
const RH2 = [2, 1, 2, 1];
const WH = [0, -214, 798];

function sat(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** Table lookup that satisfies noUncheckedIndexedAccess; indices are in range by construction. */
function at(t: readonly number[], i: number): number {
  return t[i] as number;
}

/** State of one sub-band's adaptive predictor and scale factor (G.722 §3.6, "block 4"). */
class Band {
  s = 0; // predictor output (signal estimate)
  sp = 0; // pole section output
  sz = 0; // zero section output
  r = [0, 0, 0]; // reconstructed signal, r[0] newest
  a = [0, 0, 0]; // pole coefficients a1, a2 (index 0 unused)
  ap = [0, 0, 0];
  p = [0, 0, 0]; // partial reconstructed signal
  d = [0, 0, 0, 0, 0, 0, 0]; // quantised difference signal history
  b = [0, 0, 0, 0, 0, 0, 0]; // zero coefficients b1..b6
  bp = [0, 0, 0, 0, 0, 0, 0];
  nb = 0; // log scale factor
  det: number; // linear scale factor

  constructor(det: number) {
    this.det = det;
  }

  /** Predictor update with the quantised difference `dq` (RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC). */
  update(dq: number): void {
    const { r, a, ap, p, d, b, bp } = this;
    d[0] = dq;
    r[0] = sat(this.s + dq);
    p[0] = sat(this.sz + dq);
    // UPPOL2: second pole coefficient
    let sg0 = p[0] >> 15;
    let sg1 = at(p, 1) >> 15;
    const sg2 = at(p, 2) >> 15;
    let wd1 = sat(at(a, 1) * 4);
    let wd2 = sg0 === sg1 ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let wd3 = (wd2 >> 7) + (sg0 === sg2 ? 128 : -128);
    wd3 += (at(a, 2) * 32512) >> 15;
    if (wd3 > 12288) wd3 = 12288;
    else if (wd3 < -12288) wd3 = -12288;
    ap[2] = wd3;
    // UPPOL1: first pole coefficient, bounded by 1 - 2^-4 - a2 for stability
    sg0 = p[0] >> 15;
    sg1 = at(p, 1) >> 15;
    wd1 = sg0 === sg1 ? 192 : -192;
    wd2 = (at(a, 1) * 32640) >> 15;
    ap[1] = sat(wd1 + wd2);
    wd3 = sat(15360 - at(ap, 2));
    if (at(ap, 1) > wd3) ap[1] = wd3;
    else if (at(ap, 1) < -wd3) ap[1] = -wd3;
    // UPZERO: sign-sign update of the six zero coefficients
    wd1 = dq === 0 ? 0 : 128;
    sg0 = dq >> 15;
    for (let i = 1; i < 7; i++) {
      const sgi = at(d, i) >> 15;
      wd2 = sgi === sg0 ? wd1 : -wd1;
      wd3 = (at(b, i) * 32640) >> 15;
      bp[i] = sat(wd2 + wd3);
    }
    // DELAYA
    for (let i = 6; i > 0; i--) {
      d[i] = at(d, i - 1);
      b[i] = at(bp, i);
    }
    for (let i = 2; i > 0; i--) {
      r[i] = at(r, i - 1);
      p[i] = at(p, i - 1);
      a[i] = at(ap, i);
    }
    // FILTEP
    wd1 = sat(at(r, 1) + at(r, 1));
    wd1 = (at(a, 1) * wd1) >> 15;
    wd2 = sat(at(r, 2) + at(r, 2));
    wd2 = (at(a, 2) * wd2) >> 15;
    this.sp = sat(wd1 + wd2);
    // FILTEZ
    let sz = 0;
    for (let i = 6; i > 0; i--) {
      const w = sat(at(d, i) + at(d, i));
      sz += (at(b, i) * w) >> 15;
    }
    this.sz = sat(sz);
    // PREDIC
    this.s = sat(this.sp + this.sz);
  }
}

/** LOGSCL + SCALEL: lower-band scale factor adaptation from the 4-bit code. */
function adaptLow(band: Band, ril: number): void {
  const wd = (band.nb * 32512) >> 15;
  let nb = wd + at(WL, at(RL42, ril));
  if (nb < 0) nb = 0;
  else if (nb > 18432) nb = 18432;
  band.nb = nb;
  band.det = scale(nb, 8);
}

/** LOGSCH + SCALEH: higher-band scale factor adaptation. */
function adaptHigh(band: Band, ihigh: number): void {
  const wd = (band.nb * 32512) >> 15;
  let nb = wd + at(WH, at(RH2, ihigh));
  if (nb < 0) nb = 0;
  else if (nb > 22528) nb = 22528;
  band.nb = nb;
  band.det = scale(nb, 10);
}

function scale(nb: number, shiftBase: number): number {
  const wd1 = (nb >> 6) & 31;
  const wd2 = shiftBase - (nb >> 11);
  const wd3 = wd2 < 0 ? at(ILB, wd1) << -wd2 : at(ILB, wd1) >> wd2;
  return wd3 << 2;
}

export class G722Encoder {
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  private readonly x = new Int32Array(24); // transmit QMF delay line, x[23] newest

  /** Encodes 16 kHz PCM16 (even length; a trailing odd sample is ignored) → one octet per 2 samples. */
  encode(pcm: Int16Array, out?: Uint8Array): Uint8Array {
    const n = pcm.length >> 1;
    const dst = out ?? new Uint8Array(n);
    const x = this.x;
    for (let j = 0, o = 0; o < n; o++) {
      // Transmit QMF: split two input samples into one low-band and one high-band sample.
      x.copyWithin(0, 2);
      x[22] = pcm[j++] as number;
      x[23] = pcm[j++] as number;
      let sumOdd = 0;
      let sumEven = 0;
      for (let i = 0; i < 12; i++) {
        sumOdd += (x[2 * i] as number) * at(QMF, i);
        sumEven += (x[2 * i + 1] as number) * at(QMF, 11 - i);
      }
      const xlow = (sumEven + sumOdd) >> 14;
      const xhigh = (sumEven - sumOdd) >> 14;

      // Lower band: SUBTRA, QUANTL (6 bits), INVQAL (4-bit feedback), adaptation, predictor.
      const low = this.low;
      const el = sat(xlow - low.s);
      const wd = el >= 0 ? el : -(el + 1);
      let i = 1;
      for (; i < 30; i++) {
        if (wd < (at(Q6, i) * low.det) >> 12) break;
      }
      const ilow = el < 0 ? at(ILN, i) : at(ILP, i);
      const ril = ilow >> 2;
      const dlow = (low.det * at(QM4, ril)) >> 15;
      adaptLow(low, ril);
      low.update(dlow);

      // Higher band: SUBTRA, QUANTH (2 bits), INVQAH, adaptation, predictor.
      const high = this.high;
      const eh = sat(xhigh - high.s);
      const wdh = eh >= 0 ? eh : -(eh + 1);
      const mih = wdh >= (564 * high.det) >> 12 ? 2 : 1;
      const ihigh = eh < 0 ? at(IHN, mih) : at(IHP, mih);
      const dhigh = (high.det * at(QM2, ihigh)) >> 15;
      adaptHigh(high, ihigh);
      high.update(dhigh);

      dst[o] = (ihigh << 6) | ilow;
    }
    return dst;
  }
}

export class G722Decoder {
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  private readonly x = new Int32Array(24); // receive QMF delay line

  /** Decodes octets → 16 kHz PCM16, two samples per octet. */
  decode(bytes: Uint8Array, out?: Int16Array): Int16Array {
    const dst = out ?? new Int16Array(bytes.length * 2);
    const x = this.x;
    for (let k = 0, o = 0; k < bytes.length; k++) {
      const code = bytes[k] as number;
      const ilow = code & 0x3f;
      const ihigh = (code >> 6) & 0x03;

      // Lower band: 6-bit inverse quantiser for the output, 4-bit one for the predictor loop.
      const low = this.low;
      let rlow = low.s + ((low.det * at(QM6, ilow)) >> 15);
      if (rlow > 16383) rlow = 16383;
      else if (rlow < -16384) rlow = -16384;
      const ril = ilow >> 2;
      const dlow = (low.det * at(QM4, ril)) >> 15;
      adaptLow(low, ril);
      low.update(dlow);

      const high = this.high;
      const dhigh = (high.det * at(QM2, ihigh)) >> 15;
      let rhigh = dhigh + high.s;
      if (rhigh > 16383) rhigh = 16383;
      else if (rhigh < -16384) rhigh = -16384;
      adaptHigh(high, ihigh);
      high.update(dhigh);

      // Receive QMF: recombine the bands into two 16 kHz samples.
      x.copyWithin(0, 2);
      x[22] = rlow + rhigh;
      x[23] = rlow - rhigh;
      let xout1 = 0;
      let xout2 = 0;
      for (let i = 0; i < 12; i++) {
        xout2 += (x[2 * i] as number) * at(QMF, i);
        xout1 += (x[2 * i + 1] as number) * at(QMF, 11 - i);
      }
      dst[o++] = sat(xout1 >> 11);
      dst[o++] = sat(xout2 >> 11);
    }
    return dst;
  }
}
