/**
 * MediaSession: the RTP/RTCP endpoint of one call leg. It owns the sockets (media-socket.ts) and the
 * leg's place on the shared PacingClock, and composes three parts that each do one job:
 *
 * - RtpSender (rtp-sender.ts): queued PCM → encoded RTP, one packet per 20 ms; silence when idle,
 *   nothing on hold; RFC 4733 digits.
 * - RtpReceiver (rtp-receiver.ts): parse, source check and symmetric-RTP latching (RFC 4961), jitter
 *   buffer, decode, one 20 ms frame event per tick, the RTP timeout.
 * - RtcpReporter (rtcp-reporter.ts): SR/RR every few seconds (RFC 3550 §6.2, §6.4), BYE on close.
 *
 * One pacing tick is one call to onTick() here, which calls sender.sendOne() and receiver.playoutOne()
 * directly for each 20 ms grid point owed: the same calls per packet as when all of it was one class.
 * The session keeps the tick (not the sender) because the tick drives playout and housekeeping too.
 */
import { getCodec } from '../../media/codecs.js';
import { samplesPerFrame } from '../../media/frames.js';
import { createOffer } from '../sdp/offer.js';
import { negotiate } from '../sdp/negotiate.js';
import { answerOffer } from '../sdp/answer.js';
import type { NegotiatedMedia, OfferCodecToken, OfferSpec } from '../sdp/types.js';
import { newLocalCrypto, type LocalCrypto, type MediaEncryption } from '../sdp/crypto.js';
import { MediaCrypto } from './srtp/media-crypto.js';
import { FRAME_MS } from './audio-queues.js';
import { LegSchedule, PacingClock, type PacingRegistration } from './pacing-clock.js';
import type { PortPool } from './port-pool.js';
import { ReceiverStats } from './receiver-stats.js';
import { emptyStats, MediaEmitter, recordLateness, type MediaEvent, type MediaEventType, type MediaSessionStats } from './media-events.js';
import { bindPair, MediaSocket, type BoundPair } from './media-socket.js';
import { RtcpReporter } from './rtcp-reporter.js';
import { RtpReceiver } from './rtp-receiver.js';
import { RtpSender } from './rtp-sender.js';

export interface MediaSessionOptions {
  /** Address to bind (e.g. '0.0.0.0' or a specific interface). */
  localAddress: string;
  /** Address written into our SDP; defaults to localAddress (must be set if binding 0.0.0.0). */
  advertiseAddress?: string;
  portPool: PortPool;
  /** Codecs for offer(), in preference order. Default PCMU, PCMA, telephone-event. */
  codecs?: readonly OfferCodecToken[];
  /** The process-wide clock by default. */
  clock?: PacingClock;
  /** Jitter buffer target depth in ms (40-60 sensible). Default 60. */
  jitterTargetMs?: number;
  /** Emit 'rtp-timeout' after this long without RTP while we expect to receive. Default 30000; 0 = off. */
  rtpTimeoutMs?: number;
  /** Mean RTCP report interval (RFC 3550 §6.2 minimum is 5 s). Default 5000. */
  rtcpIntervalMs?: number;
  /** Latch to a different source only within this long after start()/update(). Default 10000. */
  latchWindowMs?: number;
  /**
   * SRTP with SDES keys (sdp/crypto.ts): 'disabled' (default) plain RTP only, 'optional' encrypted when
   * the other side takes a key, 'required' encrypted or no call (the SDP functions throw SdpError).
   */
  encryption?: MediaEncryption;
  /** Send encoded silence when the queue is empty (keeps NAT pinholes open). Default true. */
  sendSilenceWhenIdle?: boolean;
  cname?: string;
}

export class MediaSession {
  readonly localPort: number;
  readonly localAddress: string;
  readonly advertiseAddress: string;
  private readonly pool: PortPool;
  private readonly clock: PacingClock;
  private readonly codecsOffered: readonly OfferCodecToken[];
  private readonly encryption: MediaEncryption;
  /** Our SRTP master keys, one per suite, for the whole session (empty when encryption is disabled). */
  private readonly localCrypto: readonly LocalCrypto[];
  private readonly counters: MediaSessionStats = emptyStats();
  private readonly events = new MediaEmitter(this.counters);
  private readonly socket: MediaSocket;
  private readonly sender: RtpSender;
  private readonly receiver: RtpReceiver;
  private readonly reporter: RtcpReporter;
  private state: 'open' | 'started' | 'closed' = 'open';
  private neg: NegotiatedMedia | undefined;
  private reg: PacingRegistration | undefined;
  private schedule: LegSchedule | undefined;
  private myOffer: OfferSpec | undefined;
  private lastLocalSdp: { sessionId: string; version: number; sdp: string } | undefined;

  private constructor(opts: MediaSessionOptions, bound: BoundPair) {
    this.localPort = bound.port;
    this.localAddress = opts.localAddress;
    this.advertiseAddress = opts.advertiseAddress ?? opts.localAddress;
    this.pool = opts.portPool;
    this.clock = opts.clock ?? PacingClock.shared();
    this.codecsOffered = opts.codecs ?? ['PCMU', 'PCMA', 'telephone-event'];
    this.encryption = opts.encryption ?? 'disabled';
    this.localCrypto = this.encryption === 'disabled' ? [] : newLocalCrypto();
    const time = this.clock.time;
    const rx = new ReceiverStats();
    this.socket = new MediaSocket(bound.rtp, bound.rtcp, this.counters, this.events);
    this.sender = new RtpSender(this.socket, this.counters, this.events, opts.sendSilenceWhenIdle ?? true);
    // RFC 3550 §6.5.1: a CNAME unique to this endpoint; by default it carries our SSRC.
    const cname = opts.cname ?? `outcall-${this.sender.ssrc.toString(16).padStart(8, '0')}@${this.advertiseAddress}`;
    this.reporter = new RtcpReporter(this.socket, this.sender, rx, this.counters, this.events, time, cname, opts.rtcpIntervalMs ?? 5000);
    this.receiver = new RtpReceiver(this.socket, this.reporter, rx, this.counters, this.events, time, {
      jitterTargetMs: opts.jitterTargetMs ?? 60,
      rtpTimeoutMs: opts.rtpTimeoutMs ?? 30000,
      latchWindowMs: opts.latchWindowMs ?? 10000,
    });
    bound.rtp.on('message', (msg, rinfo) => this.receiver.onRtp(msg, rinfo));
    bound.rtcp.on('message', (msg) => this.reporter.onRtcp(msg));
  }

  /** Binds RTP (even port) and RTCP (port + 1) sockets; retries other ports if one is taken. */
  static async open(opts: MediaSessionOptions): Promise<MediaSession> {
    return new MediaSession(opts, await bindPair(opts.localAddress, opts.portPool));
  }

  // ---------------------------------------------------------------- events

  /** Subscribes to one event type (discriminated by `type`); returns an unsubscribe function. */
  on<K extends MediaEventType>(type: K, listener: (e: Extract<MediaEvent, { type: K }>) => void): () => void;
  on(type: '*', listener: (e: MediaEvent) => void): () => void;
  on(type: MediaEventType | '*', listener: (e: MediaEvent) => void): () => void {
    return this.events.on(type, listener);
  }

  // ---------------------------------------------------------------- SDP helpers

  /** Our SDP offer for this leg; remembered for negotiateAnswer(). */
  offer(opts: { sessionId?: string; sessionVersion?: number } = {}): string {
    const spec: OfferSpec = {
      address: this.advertiseAddress,
      port: this.localPort,
      codecs: this.codecsOffered,
      encryption: this.encryption,
      crypto: this.localCrypto,
      ...opts,
    };
    const sdp = createOffer(spec);
    this.myOffer = spec;
    const m = /^o=\S+ (\S+) (\d+)/m.exec(sdp);
    this.lastLocalSdp = { sessionId: m?.[1] ?? '0', version: Number(m?.[2] ?? 1), sdp };
    return sdp;
  }

  /** The answer to our last offer() → NegotiatedMedia (throws SdpError). Does not start media. */
  negotiateAnswer(answerSdp: string): NegotiatedMedia {
    if (!this.myOffer) throw new Error('negotiateAnswer() before offer()');
    return negotiate(this.myOffer, answerSdp);
  }

  /**
   * Handles an offer received mid-call (re-INVITE): builds our answer (same session id, version
   * bumped only if it changed, codec kept) and applies it with update(). Throws SdpError (→ 488).
   */
  answerReOffer(offerSdp: string): { sdp: string; media: NegotiatedMedia } {
    const r = answerOffer(offerSdp, {
      address: this.advertiseAddress,
      port: this.localPort,
      codecs: this.codecsOffered,
      encryption: this.encryption,
      crypto: this.localCrypto,
      ...(this.neg?.srtp ? { currentSuite: this.neg.srtp.suite } : {}),
      ...(this.lastLocalSdp
        ? { sessionId: this.lastLocalSdp.sessionId, sessionVersion: this.lastLocalSdp.version, previousSdp: this.lastLocalSdp.sdp }
        : {}),
      ...(this.neg ? { currentCodec: this.neg.codec } : {}),
    });
    this.lastLocalSdp = { sessionId: r.sessionId, version: r.sessionVersion, sdp: r.sdp };
    if (this.state === 'started') this.update(r.media);
    else this.start(r.media);
    return { sdp: r.sdp, media: r.media };
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts media with the negotiated parameters: joins the pacing clock. */
  start(n: NegotiatedMedia): void {
    if (this.state !== 'open') throw new Error(`start() in state ${this.state}`);
    this.state = 'started';
    this.apply(n, true);
    this.reg = this.clock.register({ onTick: (now) => this.onTick(now) });
    this.schedule = new LegSchedule(this.reg.firstDeadline, FRAME_MS, 3);
    const now = this.clock.time.now();
    this.receiver.start(now);
    this.reporter.start(now);
  }

  /** Applies a re-negotiation (re-INVITE): new remote, codec, direction (hold/unhold). */
  update(n: NegotiatedMedia): void {
    if (this.state !== 'started') throw new Error(`update() in state ${this.state}`);
    this.apply(n, false);
  }

  private apply(n: NegotiatedMedia, first: boolean): void {
    const codec = getCodec(n.codec);
    if (!codec) throw new RangeError(`codec ${n.codec} is not implemented`);
    const prev = this.neg;
    this.neg = n;
    const now = this.clock.time.now();
    if (first || prev?.codec !== n.codec) {
      const frameSize = samplesPerFrame(codec.sampleRate);
      this.sender.setCodec(codec, frameSize);
      this.receiver.setCodec(codec, frameSize);
    }
    if (first || prev?.remoteAddress !== n.remoteAddress || prev?.remotePort !== n.remotePort) {
      this.socket.retarget(n.remoteAddress, n.remotePort);
      this.receiver.expectSource(now);
    }
    // SRTP keys (re)applied before anything is sent or received under the new description.
    const s = this.socket;
    s.srtp = n.srtp === null ? undefined : s.srtp ? s.srtp.update(n.srtp) : MediaCrypto.create(n.srtp);
    this.sender.setMedia(n);
    this.receiver.setMedia(n, now);
    this.reporter.setMedia(n);
  }

  /** Sends RTCP BYE (best effort), leaves the clock, closes sockets, returns the port. Idempotent. */
  async close(reason?: string): Promise<void> {
    if (this.state === 'closed') return;
    const wasStarted = this.state === 'started';
    this.state = 'closed';
    this.receiver.stop();
    this.reporter.stop();
    this.reg?.unregister();
    this.reg = undefined;
    // The BYE must leave before the socket closes: an unconnected send resolves its address first.
    if (wasStarted) await this.reporter.bye(reason);
    await this.socket.close();
    this.pool.release(this.localPort);
    this.events.clear();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get negotiated(): NegotiatedMedia | undefined {
    return this.neg;
  }

  // ---------------------------------------------------------------- outgoing audio

  /**
   * Queues PCM16 at the codec's sample rate (negotiated.sampleRate); split into 20 ms frames, a
   * partial tail is padded with silence (use media/FrameChunker to stream odd-sized chunks). Audio
   * written before start() is discarded when start() fixes the codec.
   */
  write(pcm: Int16Array): void {
    if (this.state === 'closed') return;
    this.sender.write(pcm);
  }

  /**
   * Drops queued audio (barge-in). Returns how many ms of it will never be played. Queued DTMF
   * digits are not affected (they are commands, not speech).
   */
  clear(): number {
    return this.sender.clear();
  }

  /** ms of written audio actually sent so far. */
  get playedMs(): number {
    return this.sender.playedMs;
  }

  /** ms of audio still queued. */
  get queuedMs(): number {
    return this.sender.queuedMs;
  }

  /**
   * Queues RFC 4733 digits (0-9 * # A-D). Returns false if no telephone-event was negotiated.
   * Throws RangeError for characters that are not DTMF digits.
   */
  sendDtmf(digits: string, durationMs = 100): boolean {
    return this.sender.sendDtmf(digits, durationMs);
  }

  // ---------------------------------------------------------------- the 20 ms tick

  private onTick(now: number): void {
    if (this.state !== 'started' || !this.schedule) return;
    const sched = this.schedule;
    const count = sched.take(now);
    const skipped = sched.lastSkipped;
    if (skipped > 0) {
      // Loop stalled beyond the burst bound: skip the grid points (time moves on) rather than burst.
      this.counters.skippedTicks += skipped;
      this.sender.skip(skipped);
    }
    for (let k = 0; k < count; k++) {
      recordLateness(this.counters.sendDeviationHistogram, Math.abs(now - (sched.firstTaken + k * sched.periodMs)));
      this.sender.sendOne();
      this.receiver.playoutOne();
      if (this.state !== 'started') return; // a listener closed us mid-tick
    }
    if (count > 0) {
      this.receiver.housekeeping(now);
      // A report is due every few seconds: compare here so the other ticks make no call for RTCP.
      if (now >= this.reporter.nextAt) this.reporter.report(now);
    }
  }

  // ---------------------------------------------------------------- stats

  stats(): MediaSessionStats {
    const sendTo = this.socket.sendTo;
    return {
      ...this.counters,
      sendDeviationHistogram: this.counters.sendDeviationHistogram.slice(),
      packetsLost: this.receiver.packetsLost,
      jitterMs: this.receiver.jitterMs,
      concealedMs: this.receiver.concealedMs,
      jitterBuffer: this.receiver.jitterBufferStats,
      playedMs: this.sender.playedMs,
      queuedMs: this.sender.queuedMs,
      ssrc: this.sender.ssrc,
      remoteSsrc: this.receiver.sourceSsrc,
      remote: sendTo ? { ...sendTo } : null,
      connected: this.socket.conn === 'connected',
    };
  }

  /** Restarts the send-deviation histogram (benchmarks skip their warm-up this way). */
  resetSendDeviation(): void {
    this.counters.sendDeviationHistogram.fill(0);
  }
}
