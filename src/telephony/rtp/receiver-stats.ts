/**
 * Per-source receive statistics (RFC 3550 Appendix A.1 sequence tracking, A.3 loss, A.8 jitter),
 * feeding both `stats()` and RTCP report blocks (§6.4.1). Simplified from A.1: no probation period
 * (trunks send one steady stream), but a large sequence jump is only accepted after two packets in
 * a row confirm it, so a single stray packet cannot corrupt the counters.
 */
import type { ReportBlock } from './rtcp.js';

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEQ_MOD = 0x10000;

export class ReceiverStats {
  ssrc = 0;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private badSeq = SEQ_MOD + 1;
  received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private lastTransit: number | undefined;
  /** Interarrival jitter in timestamp units, RFC 3550 A.8 (kept as a float; reported truncated). */
  jitter = 0;
  private started = false;
  /** Middle 32 bits of the last SR's NTP time and when it arrived (ms), for LSR/DLSR (§6.4.1). */
  lastSr = 0;
  lastSrAt = 0;

  private init(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.cycles = 0;
    this.badSeq = SEQ_MOD + 1;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.lastTransit = undefined;
    this.jitter = 0;
  }

  reset(ssrc: number): void {
    this.ssrc = ssrc;
    this.started = false;
    this.init(0);
  }

  /**
   * Records one packet. `arrival` is the arrival time in timestamp units; pass undefined for packets
   * whose timestamp does not follow the sampling clock (RFC 4733 events keep their start timestamp).
   * Returns false if the packet was judged out of sequence (a jump not yet confirmed).
   */
  update(seq: number, rtpTimestamp: number, arrival: number | undefined): boolean {
    let udelta: number;
    if (!this.started) {
      this.started = true;
      this.init(seq);
      udelta = 0;
    } else udelta = (seq - this.maxSeq + SEQ_MOD) % SEQ_MOD;
    if (udelta === 0) {
      // first packet, or a duplicate of the highest: nothing moves
    } else if (udelta < MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += SEQ_MOD; // wrapped
      this.maxSeq = seq;
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
      // very large jump: accept only if the next packet continues from it (source restarted)
      if (seq === this.badSeq) {
        this.init(seq);
        this.maxSeq = seq;
      } else {
        this.badSeq = (seq + 1) % SEQ_MOD;
        return false;
      }
    }
    // else: duplicate or reordered packet, counted as received (A.1)
    this.received++;
    if (arrival !== undefined) {
      const transit = arrival - rtpTimestamp;
      if (this.lastTransit !== undefined) {
        // transit differences wrap with the 32-bit timestamp; fold into a signed range
        let d = Math.abs(transit - this.lastTransit);
        if (d > 0x80000000) d = 0x100000000 - d;
        this.jitter += (d - this.jitter) / 16; // A.8: J += (|D| - J) / 16
      }
      this.lastTransit = transit;
    }
    return true;
  }

  get extendedMax(): number {
    return this.cycles + this.maxSeq;
  }

  get expected(): number {
    return this.started ? this.extendedMax - this.baseSeq + 1 : 0;
  }

  /** Cumulative packets lost (A.3); negative if duplicates outnumber losses. */
  get lost(): number {
    return this.expected - this.received;
  }

  /** Builds an RTCP report block and starts a new fraction-lost interval (A.3). */
  reportBlock(nowMs: number): ReportBlock | undefined {
    if (!this.started) return undefined;
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fraction = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval << 8) / expectedInterval);
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, fraction),
      cumulativeLost: this.lost,
      extendedHighestSeq: this.extendedMax >>> 0,
      jitter: Math.floor(this.jitter) >>> 0,
      lastSr: this.lastSr,
      delaySinceLastSr: this.lastSrAt === 0 ? 0 : Math.floor(((nowMs - this.lastSrAt) / 1000) * 65536) >>> 0,
    };
  }
}
