/**
 * Receive-side jitter buffer: reorders by RTP sequence number, drops duplicates and packets that
 * arrive after their playout slot, and conceals gaps. Fixed target depth (default 3 packets = 60 ms
 * at ptime 20) with a prefetch phase: playout starts only once `targetPackets` are buffered, and
 * after a long underrun (the peer went silent or on hold) it re-enters prefetch instead of emitting
 * endless concealment. Not adaptive beyond that: telephony jitter on a trunk is small and a fixed
 * 40-60 ms keeps the agent's reaction latency predictable.
 *
 * Sequence numbers are 16-bit and wrap (RFC 3550 §5.1); they are extended to a monotonic counter
 * relative to the highest seen (the logic of RFC 3550 Appendix A.1, simplified).
 */

export interface JitterBufferOptions {
  /** Packets buffered before playout starts. Default 3 (60 ms at 20 ms ptime). */
  targetPackets?: number;
  /** Hard cap; beyond it the oldest packets are dropped to bound latency. Default target + 7. */
  maxPackets?: number;
  /** Consecutive empty pops after which playout stops and prefetch restarts. Default 10 (200 ms). */
  maxUnderrun?: number;
}

export type JitterPop<T> =
  | { kind: 'packet'; payload: T; seq: number }
  /** A packet is missing (lost or late): the caller conceals one packet's worth of audio. */
  | { kind: 'missing'; seq: number }
  /** Nothing to play (prefetching, or idle after a long underrun). */
  | { kind: 'idle' };

export interface JitterBufferStats {
  pushed: number;
  duplicates: number;
  late: number;
  overflowDropped: number;
  missing: number;
  resyncs: number;
}

const SEQ_MOD = 0x10000;
const MAX_MISORDER = 100; // packets; RFC 3550 A.1 uses the same bound
const MAX_JUMP = 3000; // packets (60 s at 20 ms); A.1's MAX_DROPOUT

export class JitterBuffer<T> {
  private readonly target: number;
  private readonly max: number;
  private readonly maxUnderrun: number;
  private readonly packets = new Map<number, T>();
  /** Highest extended sequence number received, or undefined before the first packet. */
  private highest: number | undefined;
  /** Extended seq of the next packet to play, when playing. */
  private nextPlay: number | undefined;
  private playing = false;
  private underrun = 0;
  private jumpCandidate = -1;
  readonly stats: JitterBufferStats = { pushed: 0, duplicates: 0, late: 0, overflowDropped: 0, missing: 0, resyncs: 0 };

  constructor(opts: JitterBufferOptions = {}) {
    this.target = Math.max(1, opts.targetPackets ?? 3);
    this.max = Math.max(this.target + 1, opts.maxPackets ?? this.target + 7);
    this.maxUnderrun = opts.maxUnderrun ?? 10;
  }

  get size(): number {
    return this.packets.size;
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  /** Extends a 16-bit sequence number to the counter closest to the highest seen. */
  private extend(seq: number): number {
    if (this.highest === undefined) return seq + SEQ_MOD; // start one cycle up so early reorder stays positive
    const base = this.highest - (this.highest % SEQ_MOD);
    let ext = base + seq;
    if (ext - this.highest > SEQ_MOD / 2) ext -= SEQ_MOD;
    else if (this.highest - ext > SEQ_MOD / 2) ext += SEQ_MOD;
    return ext;
  }

  /** Adds a received packet. Returns what happened to it. */
  push(seq16: number, payload: T): 'queued' | 'duplicate' | 'late' {
    const seq = this.extend(seq16 & 0xffff);
    // A jump far outside the reorder window (peer restarted its sequence without a new SSRC) is
    // believed only when the next packet continues from it, as RFC 3550 A.1 does with bad_seq.
    if (this.nextPlay !== undefined && (seq < this.nextPlay - MAX_MISORDER || seq - this.nextPlay > MAX_JUMP)) {
      if ((seq16 & 0xffff) === this.jumpCandidate) {
        this.reset();
        this.stats.resyncs++;
        return this.push(seq16, payload);
      }
      this.jumpCandidate = (seq16 + 1) & 0xffff;
      this.stats.late++;
      return 'late';
    }
    if (this.nextPlay !== undefined && seq < this.nextPlay) {
      // Its playout slot has passed (it was concealed already): playing it now would add delay.
      this.stats.late++;
      return 'late';
    }
    if (this.packets.has(seq)) {
      this.stats.duplicates++;
      return 'duplicate';
    }
    this.packets.set(seq, payload);
    this.stats.pushed++;
    if (this.highest === undefined || seq > this.highest) this.highest = seq;
    while (this.packets.size > this.max) {
      // Over the cap: drop the oldest and move the playout point past it (bounded latency).
      const oldest = Math.min(...this.packets.keys());
      this.packets.delete(oldest);
      this.stats.overflowDropped++;
      if (this.nextPlay !== undefined && this.nextPlay <= oldest) this.nextPlay = oldest + 1;
    }
    return 'queued';
  }

  /** Takes the next packet for playout (call once per packet interval). */
  pop(): JitterPop<T> {
    if (!this.playing) {
      if (this.packets.size < this.target) return { kind: 'idle' };
      this.playing = true;
      this.underrun = 0;
      this.nextPlay = Math.min(...this.packets.keys());
    }
    const seq = this.nextPlay as number;
    const p = this.packets.get(seq);
    this.nextPlay = seq + 1;
    if (p !== undefined) {
      this.packets.delete(seq);
      this.underrun = 0;
      return { kind: 'packet', payload: p, seq: seq % SEQ_MOD };
    }
    if (this.packets.size === 0) {
      this.underrun++;
      if (this.underrun >= this.maxUnderrun) {
        // Long silence: stop concealing and wait for a fresh prefetch. Keep `highest` so that
        // stale packets are still recognised as late relative to nextPlay.
        this.playing = false;
        return { kind: 'idle' };
      }
    }
    this.stats.missing++;
    return { kind: 'missing', seq: seq % SEQ_MOD };
  }

  /** Forgets everything (new SSRC, re-INVITE to a new source). */
  reset(): void {
    this.packets.clear();
    this.highest = undefined;
    this.nextPlay = undefined;
    this.playing = false;
    this.underrun = 0;
    this.jumpCandidate = -1;
  }
}
