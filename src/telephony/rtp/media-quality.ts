/**
 * How a call's audio fared on one leg, as the call's metrics report it: the RFC 3550 receiver figures
 * (loss, interarrival jitter) plus what only the receiving end knows (packets that came after their
 * playout time, audio played as concealment) and what only the sender knows (audio sent late because
 * our own loop stalled). A carrier's loss shows as packets_lost; a stall of ours as send_stalled_ms.
 */
import { histogramPercentile, type MediaSessionStats } from './media-events.js';

export interface MediaQuality {
  packetsSent: number;
  packetsReceived: number;
  /** Cumulative lost (RFC 3550 A.3): expected - received, floored at 0. */
  packetsLost: number;
  /** Arrived after their playout slot had been concealed: dropped, their audio not heard. */
  latePackets: number;
  /** Audio played as loss concealment (missing or late packets), ms. */
  concealedMs: number;
  /** Interarrival jitter (RFC 3550 A.8), ms. */
  jitterMs: number;
  /** How long our pacing loop stalled past its burst bound (grid points skipped): the audio after it went out that much later, ms. */
  sendStalledMs: number;
  /** 99th percentile of how late our packets left against their 20 ms grid, ms (a 0.25 ms histogram). */
  sendLatenessP99Ms: number;
}

/** The quality figures of a media session's counters; periodMs is the pacing grid's period (the packet time). */
export function mediaQualityOf(s: MediaSessionStats, periodMs = 20): MediaQuality {
  return {
    packetsSent: s.packetsSent,
    packetsReceived: s.packetsReceived,
    packetsLost: s.packetsLost,
    latePackets: s.late,
    concealedMs: Math.round(s.concealedMs),
    jitterMs: Math.round(s.jitterMs * 10) / 10,
    sendStalledMs: s.skippedTicks * periodMs,
    sendLatenessP99Ms: histogramPercentile(s.sendDeviationHistogram, 99),
  };
}
