/**
 * RTCP of one leg (RFC 3550 §6): a compound SR or RR + SDES CNAME (§6.1) every few seconds, a BYE
 * (§6.6) on close, and the reports the far end sends us (their SR time feeds our LSR/DLSR, §6.4.1).
 *
 * Not on the per-packet path: one report per rtcpIntervalMs (5 s by default); the session's tick only
 * compares the clock with `nextAt`.
 */
import type { Clock } from '../../time/clock.js';
import type { NegotiatedMedia } from '../sdp/types.js';
import type { MediaEmitter, MediaSessionStats } from './media-events.js';
import type { MediaSocket } from './media-socket.js';
import type { ReceiverStats } from './receiver-stats.js';
import { buildRtcpCompound, ntpMiddle, parseRtcp, toNtp, type RtcpPacket } from './rtcp.js';
import type { RtpSender } from './rtp-sender.js';

export class RtcpReporter {
  /** When the next report is due (Clock time); the session's tick compares it, report() moves it on. */
  nextAt = 0;
  private neg: NegotiatedMedia | undefined;
  private running = false;

  constructor(
    private readonly socket: MediaSocket,
    private readonly sender: RtpSender,
    /** The receiver's statistics of the source it listens to: our report block (§6.4.1). */
    private readonly rx: ReceiverStats,
    private readonly counters: MediaSessionStats,
    private readonly events: MediaEmitter,
    private readonly clock: Clock,
    private readonly cname: string,
    private readonly intervalMs: number,
  ) {}

  setMedia(n: NegotiatedMedia): void {
    this.neg = n;
  }

  /** Accepts reports from now on; the first one of ours goes out after a randomised interval. */
  start(now: number): void {
    this.running = true;
    this.nextAt = now + this.delay();
  }

  stop(): void {
    this.running = false;
  }

  /** Sends the SR/RR that is due (now >= nextAt) and schedules the next one. */
  report(now: number): void {
    this.nextAt = now + this.delay();
    this.send(false);
  }

  /** RFC 3550 §6.3.1: randomise the interval to [0.5, 1.5] × mean so endpoints do not synchronise. */
  private delay(): number {
    return this.intervalMs * (0.5 + Math.random());
  }

  /** Sends a BYE (§6.6, best effort); resolves once it has left, so the socket may close after it. */
  bye(reason: string | undefined): Promise<void> {
    return new Promise<void>((resolve) => this.send(true, reason, () => resolve()));
  }

  /** An RTCP datagram: from the RTCP socket, or from the RTP socket under rtcp-mux (RFC 5761 §4). */
  onRtcp(msg: Buffer): void {
    this.counters.rtcpDatagrams++;
    if (!this.running) return;
    const plain = this.socket.plain(msg, 'rtcp');
    if (!plain) return;
    const r = parseRtcp(plain);
    if (!r.ok) {
      this.counters.rtcpMalformed++;
      return;
    }
    this.counters.rtcpReceived++;
    const now = this.clock.now();
    for (const p of r.packets) {
      if (p.type === 'sr' && p.ssrc === this.rx.ssrc) {
        this.rx.lastSr = ntpMiddle(p.ntpSec, p.ntpFrac);
        this.rx.lastSrAt = now;
      }
      if (p.type === 'bye') this.events.emit({ type: 'remote-bye', ...(p.reason !== undefined ? { reason: p.reason } : {}) });
    }
    this.events.emit({ type: 'rtcp', packets: r.packets as RtcpPacket[] });
  }

  private send(bye: boolean, reason?: string, done?: () => void): void {
    const n = this.neg;
    const s = this.socket;
    const target = s.sendTo;
    if (!n || !target) {
      done?.();
      return;
    }
    // a send error is reported through the callback instead of the 'error' event when one is given
    const cb = done
      ? (err: Error | null): void => {
          if (err) s.onError(err);
          done();
        }
      : undefined;
    const now = this.clock.now();
    const block = this.rx.reportBlock(now);
    const ntp = toNtp(this.clock.wallClockMs());
    // §6.4: an SR once we have sent RTP, an RR before that.
    const sent = this.counters.packetsSent > 0;
    const compound = buildRtcpCompound({
      ssrc: this.sender.ssrc,
      cname: this.cname,
      ...(sent
        ? {
            sender: {
              ntpSec: ntp.ntpSec,
              ntpFrac: ntp.ntpFrac,
              rtpTimestamp: this.sender.ts,
              packetCount: this.counters.packetsSent >>> 0,
              octetCount: this.counters.bytesSent >>> 0,
            },
          }
        : {}),
      ...(block ? { reports: [block] } : {}),
      ...(bye ? { bye: reason !== undefined ? { reason } : {} } : {}),
    });
    const pkt = s.srtp ? s.srtp.out.protectRtcp(compound) : compound;
    try {
      // With rtcp-mux RTCP shares the RTP socket and address (RFC 5761 §5.1.3).
      const host = target.address;
      if (n.rtcpMux) {
        if (s.conn === 'connected') s.rtp.send(pkt, cb);
        else if (s.conn === 'none') s.rtp.send(pkt, target.port, host, cb);
        else done?.();
      } else {
        const port = host === n.remoteAddress ? n.rtcpPort : target.port + 1; // latched: assume port+1
        s.rtcp.send(pkt, port, host, cb);
      }
      this.counters.rtcpSent++;
    } catch (err) {
      s.onError(err as Error);
      done?.();
    }
  }
}
