/** The MediaSession's event union, its listener registry and its statistics shape. */
import type { RtcpPacket } from './rtcp.js';

export type MediaEvent =
  /** One decoded 20 ms frame from the jitter buffer, at the codec's sample rate, once per tick while receiving. */
  | { type: 'frame'; frame: Int16Array; sampleRate: number; concealed: boolean }
  /** An RFC 4733 digit the remote sent, reported once per event. */
  | { type: 'dtmf'; digit: string; durationMs: number }
  /** A digit queued by sendDtmf() finished (its last end packet went out). */
  | { type: 'dtmf-sent'; digit: string }
  /** The outgoing queue ran empty (cleared: because of clear()). playedMs is the running total. */
  | { type: 'drained'; playedMs: number; cleared: boolean }
  /** No RTP for rtpTimeoutMs while we expect to receive (re-armed when packets resume). */
  | { type: 'rtp-timeout'; silentMs: number }
  /** Symmetric RTP: media came from another source than the SDP said; we now send there. */
  | { type: 'remote-latched'; address: string; port: number; sdpAddress: string; sdpPort: number }
  | { type: 'rtcp'; packets: RtcpPacket[] }
  | { type: 'remote-bye'; reason?: string }
  /** A socket error (e.g. ECONNREFUSED from ICMP); the session keeps running. First 3 only. */
  | { type: 'socket-error'; error: Error };

export type MediaEventType = MediaEvent['type'];

type Listener = (e: MediaEvent) => void;

/**
 * Listeners of one session, by event type ('*' gets all). The sender, the receiver, the RTCP reporter
 * and the socket each hold this one object and call emit() on it directly (one call per event, as
 * when it was a method of the session: a 'frame' event goes out on every tick).
 */
export class MediaEmitter {
  private readonly listeners = new Map<MediaEventType | '*', Set<Listener>>();

  constructor(private readonly counters: MediaSessionStats) {}

  on(type: MediaEventType | '*', listener: Listener): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit(e: MediaEvent): void {
    for (const key of [e.type, '*'] as const) {
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const l of set) {
        try {
          l(e);
        } catch (err) {
          // A listener bug must not kill the socket handler or the shared clock (other calls).
          this.counters.listenerErrors++;
          process.emitWarning(`MediaSession listener for '${e.type}' threw: ${String(err)}`);
        }
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}

/** Send-time deviation histogram: bucket i counts packets sent [i, i+1) × BUCKET_MS off the 20 ms grid. */
export const DEVIATION_BUCKET_MS = 0.25;
export const DEVIATION_BUCKETS = 201; // 0 .. 50 ms; the last bucket collects everything beyond

export function recordLateness(h: number[], ms: number): void {
  const i = Math.min(DEVIATION_BUCKETS - 1, Math.floor(ms / DEVIATION_BUCKET_MS));
  h[i] = (h[i] ?? 0) + 1;
}

/** Percentile (0-100) of a deviation histogram, in ms (upper edge of the bucket). */
export function histogramPercentile(h: readonly number[], p: number): number {
  const total = h.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const want = (p / 100) * total;
  let acc = 0;
  for (let i = 0; i < h.length; i++) {
    acc += h[i] ?? 0;
    if (acc >= want) return (i + 1) * DEVIATION_BUCKET_MS;
  }
  return h.length * DEVIATION_BUCKET_MS;
}

export interface MediaSessionStats {
  /** Datagrams that reached the RTP socket (every one ends in exactly one counter below or in packetsReceived). */
  rtpDatagrams: number;
  rtcpDatagrams: number;
  packetsSent: number;
  /** Payload octets sent (the RTCP SR octet count, RFC 3550 §6.4.1). */
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Cumulative lost per RFC 3550 A.3 (expected − received, floored at 0). */
  packetsLost: number;
  /** Interarrival jitter (RFC 3550 A.8) in ms. */
  jitterMs: number;
  malformed: number;
  /** SRTP/SRTCP packets dropped: the authentication tag did not verify (RFC 3711 §3.3 step 5). */
  srtpAuthFailed: number;
  /** SRTP/SRTCP packets dropped as replays (RFC 3711 §3.3.2). */
  srtpReplayed: number;
  unexpectedPayloadType: number;
  comfortNoise: number;
  foreignSource: number;
  outOfSequence: number;
  late: number;
  duplicates: number;
  concealedPackets: number;
  /** Audio played as loss concealment, in ms (concealedPackets at their length). */
  concealedMs: number;
  framesEmitted: number;
  skippedTicks: number;
  droppedNotStarted: number;
  droppedWhileConnecting: number;
  socketErrors: number;
  listenerErrors: number;
  ssrcChanges: number;
  latched: number;
  rtcpSent: number;
  rtcpReceived: number;
  rtcpMalformed: number;
  dtmfSent: number;
  dtmfReceived: number;
  sendDeviationHistogram: number[];
  jitterBuffer: { pushed: number; duplicates: number; late: number; overflowDropped: number; missing: number; resyncs: number; depth: number };
  playedMs: number;
  queuedMs: number;
  ssrc: number;
  remoteSsrc: number | null;
  remote: { address: string; port: number } | null;
  connected: boolean;
}

export function emptyStats(): MediaSessionStats {
  return {
    rtpDatagrams: 0,
    rtcpDatagrams: 0,
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    packetsLost: 0,
    jitterMs: 0,
    malformed: 0,
    srtpAuthFailed: 0,
    srtpReplayed: 0,
    unexpectedPayloadType: 0,
    comfortNoise: 0,
    foreignSource: 0,
    outOfSequence: 0,
    late: 0,
    duplicates: 0,
    concealedPackets: 0,
    concealedMs: 0,
    framesEmitted: 0,
    skippedTicks: 0,
    droppedNotStarted: 0,
    droppedWhileConnecting: 0,
    socketErrors: 0,
    listenerErrors: 0,
    ssrcChanges: 0,
    latched: 0,
    rtcpSent: 0,
    rtcpReceived: 0,
    rtcpMalformed: 0,
    dtmfSent: 0,
    dtmfReceived: 0,
    sendDeviationHistogram: new Array<number>(DEVIATION_BUCKETS).fill(0),
    jitterBuffer: { pushed: 0, duplicates: 0, late: 0, overflowDropped: 0, missing: 0, resyncs: 0, depth: 0 },
    playedMs: 0,
    queuedMs: 0,
    ssrc: 0,
    remoteSsrc: null,
    remote: null,
    connected: false,
  };
}

/** Counts an SRTP/SRTCP packet the unprotector dropped, by why. */
export function countSrtpDrop(c: MediaSessionStats, reason: 'short' | 'auth' | 'replay' | 'malformed'): void {
  if (reason === 'auth') c.srtpAuthFailed++;
  else if (reason === 'replay') c.srtpReplayed++;
  else c.malformed++;
}
