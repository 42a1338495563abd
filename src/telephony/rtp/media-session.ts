/**
 * MediaSession: the RTP/RTCP endpoint of one call leg.
 *
 * - One UDP socket per leg on an even port from a PortPool, RTCP on port + 1 (RFC 3550 §11) unless
 *   rtcp-mux (RFC 5761) was negotiated. Symmetric RTP (RFC 4961): we send from the port we receive on.
 * - The socket stays unconnected until the first valid RTP packet arrives: if it comes from another
 *   address than the SDP's (NAT, SBC), we latch to that source (once, within `latchWindowMs`); then
 *   the socket is connect()ed so sends are synchronous and cheaper and the kernel filters strangers.
 *   With no inbound packet within the window we connect to the SDP address.
 * - Sending is paced by the shared PacingClock: one packet per 20 ms. When no audio is queued we send
 *   encoded silence rather than nothing, so NAT bindings stay open and peers that hang up on "no RTP"
 *   do not. Hold (direction without send) sends nothing and freezes the queue; RTP timestamps keep
 *   advancing with time (RFC 3550 §5.1) and the marker bit flags the resumed stream.
 * - Receiving: parse → filter (version, PT, source) → jitter buffer → decode → one 20 ms frame event
 *   per tick. Everything malformed is counted and dropped; nothing thrown reaches the event loop.
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { getCodec, type Codec, type StreamDecoder, type StreamEncoder } from '../../media/codecs.js';
import { samplesPerFrame } from '../../media/frames.js';
import { createOffer } from '../sdp/offer.js';
import { negotiate } from '../sdp/negotiate.js';
import { answerOffer } from '../sdp/answer.js';
import { canReceive, canSend, type NegotiatedMedia, type OfferCodecToken, type OfferSpec } from '../sdp/types.js';
import { OutgoingQueue, SampleFifo } from './audio-queues.js';
import { DtmfReceiver, DtmfSender } from './dtmf.js';
import { JitterBuffer } from './jitter-buffer.js';
import { allocRtp, buildRtp, looksLikeRtcp, parseRtp } from './packet.js';
import { LegSchedule, PacingClock, type PacingRegistration } from './pacing-clock.js';
import type { PortPool } from './port-pool.js';
import { ReceiverStats } from './receiver-stats.js';
import { buildRtcpCompound, ntpMiddle, parseRtcp, toNtp, type RtcpPacket } from './rtcp.js';
import { emptyStats, recordLateness, type MediaEvent, type MediaEventType, type MediaSessionStats } from './media-events.js';

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
  /** Send encoded silence when the queue is empty (keeps NAT pinholes open). Default true. */
  sendSilenceWhenIdle?: boolean;
  cname?: string;
}

type Listener = (e: MediaEvent) => void;
type ConnState = 'none' | 'connecting' | 'connected';

const FRAME_MS = 20;
const PT_CN = 13; // RFC 3389 comfort noise: we do not negotiate it, so it is ignored quietly

export class MediaSession {
  readonly localPort: number;
  readonly localAddress: string;
  readonly advertiseAddress: string;
  private readonly rtp: Socket;
  private readonly rtcp: Socket;
  private readonly pool: PortPool;
  private readonly clock: PacingClock;
  private readonly codecsOffered: readonly OfferCodecToken[];
  private readonly opts: Required<Pick<MediaSessionOptions, 'jitterTargetMs' | 'rtpTimeoutMs' | 'rtcpIntervalMs' | 'latchWindowMs' | 'sendSilenceWhenIdle'>>;
  private readonly cname: string;
  private readonly listeners = new Map<MediaEventType | '*', Set<Listener>>();
  private state: 'open' | 'started' | 'closed' = 'open';
  private neg: NegotiatedMedia | undefined;
  private codec: Codec | undefined;
  private encoder: StreamEncoder | undefined;
  private decoder: StreamDecoder | undefined;
  private frameSize = 160;
  private tsPerFrame = 160;
  private silencePayload: Uint8Array | undefined;
  private silenceFrame = new Int16Array(160);
  private reg: PacingRegistration | undefined;
  private schedule: LegSchedule | undefined;
  private conn: ConnState = 'none';
  private sendTo: { address: string; port: number } | undefined;
  private latchDeadline = 0;
  private readonly ssrc: number;
  private seq: number;
  private ts: number;
  private marker = true;
  private readonly outQ = new OutgoingQueue(160);
  private wasPlaying = false;
  private playedMsTotal = 0;
  private jitter = new JitterBuffer<Uint8Array>();
  private readonly fifo = new SampleFifo(1920);
  private lastDecoded: Int16Array | undefined;
  private concealRun = 0;
  private dtmfOut: DtmfSender | undefined;
  private dtmfIn: DtmfReceiver | undefined;
  private remoteSsrc: number | undefined;
  private readonly rx = new ReceiverStats();
  private lastRtpAt = 0;
  private timeoutReported = false;
  private nextRtcpAt = 0;
  private readonly counters: MediaSessionStats = emptyStats();
  private myOffer: OfferSpec | undefined;
  private lastLocalSdp: { sessionId: string; version: number; sdp: string } | undefined;

  private constructor(opts: MediaSessionOptions, port: number, rtp: Socket, rtcp: Socket) {
    this.localPort = port;
    this.localAddress = opts.localAddress;
    this.advertiseAddress = opts.advertiseAddress ?? opts.localAddress;
    this.rtp = rtp;
    this.rtcp = rtcp;
    this.pool = opts.portPool;
    this.clock = opts.clock ?? PacingClock.shared();
    this.codecsOffered = opts.codecs ?? ['PCMU', 'PCMA', 'telephone-event'];
    this.opts = {
      jitterTargetMs: opts.jitterTargetMs ?? 60,
      rtpTimeoutMs: opts.rtpTimeoutMs ?? 30000,
      rtcpIntervalMs: opts.rtcpIntervalMs ?? 5000,
      latchWindowMs: opts.latchWindowMs ?? 10000,
      sendSilenceWhenIdle: opts.sendSilenceWhenIdle ?? true,
    };
    const rnd = randomBytes(10);
    // RFC 3550 §5.1/§8: random SSRC, initial sequence number and timestamp.
    this.ssrc = rnd.readUInt32BE(0);
    this.seq = rnd.readUInt16BE(4);
    this.ts = rnd.readUInt32BE(6);
    this.cname = opts.cname ?? `outcall-${rnd.toString('hex', 0, 4)}@${this.advertiseAddress}`;
    rtp.on('message', (msg, rinfo) => this.onRtpMessage(msg, rinfo));
    rtcp.on('message', (msg) => this.onRtcpMessage(msg));
    // ICMP port-unreachable on a connected socket surfaces as ECONNREFUSED: count it, keep going.
    rtp.on('error', (err) => this.onSocketError(err));
    rtcp.on('error', (err) => this.onSocketError(err));
  }

  /** Binds RTP (even port) and RTCP (port + 1) sockets; retries other ports if one is taken. */
  static async open(opts: MediaSessionOptions): Promise<MediaSession> {
    if (isIP(opts.localAddress) === 0) throw new RangeError(`localAddress is not an IP: ${opts.localAddress}`);
    const type = isIP(opts.localAddress) === 6 ? 'udp6' : 'udp4';
    let lastErr: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = opts.portPool.acquire();
      const rtp = createSocket({ type });
      const rtcp = createSocket({ type });
      try {
        await bind(rtp, port, opts.localAddress);
        await bind(rtcp, port + 1, opts.localAddress);
        return new MediaSession(opts, port, rtp, rtcp);
      } catch (err) {
        lastErr = err;
        await Promise.all([closeQuietly(rtp), closeQuietly(rtcp)]);
        opts.portPool.release(port);
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
    throw new Error(`could not bind an RTP port pair: ${String(lastErr)}`);
  }

  // ---------------------------------------------------------------- events

  /** Subscribes to one event type (discriminated by `type`); returns an unsubscribe function. */
  on<K extends MediaEventType>(type: K, listener: (e: Extract<MediaEvent, { type: K }>) => void): () => void;
  on(type: '*', listener: (e: MediaEvent) => void): () => void;
  on(type: MediaEventType | '*', listener: Listener): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  private emit(e: MediaEvent): void {
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

  // ---------------------------------------------------------------- SDP helpers

  /** Our SDP offer for this leg; remembered for negotiateAnswer(). */
  offer(opts: { sessionId?: string; sessionVersion?: number } = {}): string {
    const spec: OfferSpec = { address: this.advertiseAddress, port: this.localPort, codecs: this.codecsOffered, ...opts };
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
    this.lastRtpAt = now;
    this.nextRtcpAt = now + this.rtcpDelay();
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
      const rateChanged = this.codec !== undefined && this.codec.sampleRate !== codec.sampleRate;
      this.codec = codec;
      this.frameSize = samplesPerFrame(codec.sampleRate);
      this.tsPerFrame = (codec.clockRate * FRAME_MS) / 1000;
      this.encoder = codec.createEncoder();
      this.decoder = codec.createDecoder();
      this.silenceFrame = new Int16Array(this.frameSize);
      // Stateless codecs: encode silence once. Stateful (G.722): run the stream encoder on it per tick.
      this.silencePayload = codec.stateful ? undefined : codec.encode(this.silenceFrame);
      // Queued PCM survives a codec switch at the same rate (PCMU <-> PCMA after a re-INVITE, RFC 3264 §8);
      // frames at another rate cannot be played at the new one and are dropped.
      if (rateChanged) this.outQ.clear();
      this.outQ.frameSize = this.frameSize;
      this.resetReceive();
      this.dtmfIn = new DtmfReceiver(codec.clockRate);
      this.dtmfOut = new DtmfSender({ samplesPerTick: this.tsPerFrame });
      this.marker = true;
    }
    if (first || prev?.remoteAddress !== n.remoteAddress || prev?.remotePort !== n.remotePort) {
      this.disconnect();
      this.sendTo = { address: n.remoteAddress, port: n.remotePort };
      this.latchDeadline = now + this.opts.latchWindowMs;
      this.timeoutReported = false;
      this.lastRtpAt = now;
    }
    if (prev && !canSend(prev.direction) && canSend(n.direction)) this.marker = true; // resumed stream
    if (prev && !canReceive(prev.direction) && canReceive(n.direction)) this.lastRtpAt = now;
  }

  private resetReceive(): void {
    const target = Math.max(1, Math.round(this.opts.jitterTargetMs / FRAME_MS));
    this.jitter = new JitterBuffer<Uint8Array>({ targetPackets: target });
    this.fifo.clear();
    this.lastDecoded = undefined;
    this.remoteSsrc = undefined;
  }

  /** Sends RTCP BYE (best effort), leaves the clock, closes sockets, returns the port. Idempotent. */
  async close(reason?: string): Promise<void> {
    if (this.state === 'closed') return;
    const wasStarted = this.state === 'started';
    this.state = 'closed';
    this.reg?.unregister();
    this.reg = undefined;
    // The BYE must leave before the socket closes: an unconnected send resolves its address first.
    if (wasStarted) await new Promise<void>((resolve) => this.sendRtcp(true, reason, () => resolve()));
    await Promise.all([closeQuietly(this.rtp), closeQuietly(this.rtcp)]);
    this.pool.release(this.localPort);
    this.listeners.clear();
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
    this.outQ.push(pcm);
  }

  /**
   * Drops queued audio (barge-in). Returns how many ms of it will never be played. Queued DTMF
   * digits are not affected (they are commands, not speech).
   */
  clear(): number {
    const frames = this.outQ.clear();
    if (frames > 0 && this.wasPlaying) {
      this.wasPlaying = false;
      this.emit({ type: 'drained', playedMs: this.playedMsTotal, cleared: true });
    }
    return frames * FRAME_MS;
  }

  /** ms of written audio actually sent so far. */
  get playedMs(): number {
    return this.playedMsTotal;
  }

  /** ms of audio still queued. */
  get queuedMs(): number {
    return this.outQ.length * FRAME_MS;
  }

  /**
   * Queues RFC 4733 digits (0-9 * # A-D). Returns false if no telephone-event was negotiated.
   * Throws RangeError for characters that are not DTMF digits.
   */
  sendDtmf(digits: string, durationMs = 100): boolean {
    if (!this.dtmfOut || !this.neg || this.neg.dtmfPayloadType === null) return false;
    this.dtmfOut.enqueue(digits, durationMs, FRAME_MS);
    return true;
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
      this.ts = (this.ts + skipped * this.tsPerFrame) >>> 0;
    }
    for (let k = 0; k < count; k++) {
      recordLateness(this.counters.sendDeviationHistogram, Math.abs(now - (sched.firstTaken + k * sched.periodMs)));
      this.sendOne();
      this.playoutOne();
      if (this.state !== 'started') return; // a listener closed us mid-tick
    }
    if (count > 0) this.housekeeping(now);
  }

  private sendOne(): void {
    const n = this.neg as NegotiatedMedia;
    if (!canSend(n.direction)) {
      this.ts = (this.ts + this.tsPerFrame) >>> 0; // on hold: timestamps keep following time
      this.marker = true;
      return;
    }
    const dtmf = n.dtmfPayloadType !== null ? this.dtmfOut?.tick(this.ts) : undefined;
    if (dtmf) {
      this.transmit(n.dtmfPayloadType as number, dtmf.marker, dtmf.timestamp, dtmf.payload);
      if (dtmf.last) {
        this.counters.dtmfSent++;
        this.emit({ type: 'dtmf-sent', digit: dtmf.digit });
      }
    } else {
      const frame = this.outQ.shift();
      if (frame) {
        this.sendFrame(n.payloadType, frame);
        this.playedMsTotal += FRAME_MS;
        this.wasPlaying = true;
        if (this.outQ.length === 0) {
          this.wasPlaying = false;
          this.emit({ type: 'drained', playedMs: this.playedMsTotal, cleared: false });
        }
      } else if (this.opts.sendSilenceWhenIdle) {
        if (this.silencePayload) this.transmit(n.payloadType, this.marker, this.ts, this.silencePayload);
        else this.sendFrame(n.payloadType, this.silenceFrame);
      }
    }
    this.ts = (this.ts + this.tsPerFrame) >>> 0;
  }

  /** Encodes a PCM frame straight into a new packet (no intermediate payload buffer). */
  private sendFrame(pt: number, frame: Int16Array): void {
    const len = (this.codec as Codec).encodedSize(frame.length);
    const pkt = allocRtp(pt, this.marker, this.seq, this.ts, this.ssrc, len);
    (this.encoder as StreamEncoder).encodeInto(frame, pkt.subarray(12));
    this.sendPacket(pkt, len);
  }

  private transmit(pt: number, marker: boolean, ts: number, payload: Uint8Array): void {
    this.sendPacket(buildRtp(pt, marker, this.seq, ts, this.ssrc, payload), payload.length);
  }

  /** Sends a packet built with the current sequence number, then advances it. */
  private sendPacket(pkt: Buffer, payloadLength: number): void {
    if (this.conn === 'connecting') {
      this.counters.droppedWhileConnecting++; // Node drops sends made mid-connect(); lasts < 1 ms
      return;
    }
    this.marker = false;
    this.seq = (this.seq + 1) & 0xffff;
    try {
      if (this.conn === 'connected') this.rtp.send(pkt);
      else if (this.sendTo) this.rtp.send(pkt, this.sendTo.port, this.sendTo.address);
      this.counters.packetsSent++;
      this.counters.bytesSent += payloadLength; // RFC 3550 §6.4.1 octet count: payload only
    } catch (err) {
      this.onSocketError(err as Error);
    }
  }

  private playoutOne(): void {
    const codec = this.codec as Codec;
    if (!canReceive((this.neg as NegotiatedMedia).direction) && this.jitter.size === 0 && this.fifo.length === 0) return;
    let concealed = false;
    while (this.fifo.length < this.frameSize) {
      const r = this.jitter.pop();
      if (r.kind === 'idle') break;
      if (r.kind === 'packet') {
        const pcm = (this.decoder as StreamDecoder).decode(r.payload);
        this.lastDecoded = pcm;
        this.concealRun = 0;
        if (this.fifo.length === 0 && pcm.length === this.frameSize) {
          // Common case (ptime 20 both ways): the decoded packet is the frame; skip the FIFO copies.
          this.counters.framesEmitted++;
          this.emit({ type: 'frame', frame: pcm, sampleRate: codec.sampleRate, concealed });
          return;
        }
        this.fifo.append(pcm);
      } else {
        // Loss concealment: one attenuated repeat of the last packet, then silence.
        concealed = true;
        this.counters.concealedPackets++;
        const n = this.lastDecoded?.length || this.frameSize;
        // (lastDecoded may have been emitted as a frame: map() makes a copy, never mutating it)
        if (this.concealRun === 0 && this.lastDecoded) this.fifo.append(this.lastDecoded.map((s) => s >> 1));
        else this.fifo.appendSilence(n);
        this.concealRun++;
      }
    }
    if (this.fifo.length >= this.frameSize) {
      this.counters.framesEmitted++;
      this.emit({ type: 'frame', frame: this.fifo.take(this.frameSize), sampleRate: codec.sampleRate, concealed });
    }
  }

  private housekeeping(now: number): void {
    const n = this.neg as NegotiatedMedia;
    if (this.conn === 'none' && now >= this.latchDeadline && this.sendTo) this.connectTo(this.sendTo.address, this.sendTo.port);
    const stale = this.dtmfIn?.flushStale(now);
    if (stale) this.emitDtmf(stale.digit, stale.durationMs);
    if (this.opts.rtpTimeoutMs > 0 && canReceive(n.direction) && !this.timeoutReported && now - this.lastRtpAt >= this.opts.rtpTimeoutMs) {
      this.timeoutReported = true;
      this.emit({ type: 'rtp-timeout', silentMs: Math.round(now - this.lastRtpAt) });
    }
    if (now >= this.nextRtcpAt) {
      this.nextRtcpAt = now + this.rtcpDelay();
      this.sendRtcp(false);
    }
  }

  /** RFC 3550 §6.3.1: randomise the interval to [0.5, 1.5] × mean so endpoints do not synchronise. */
  private rtcpDelay(): number {
    return this.opts.rtcpIntervalMs * (0.5 + Math.random());
  }

  // ---------------------------------------------------------------- receive path

  private onRtpMessage(msg: Buffer, rinfo: RemoteInfo): void {
    this.counters.rtpDatagrams++;
    if (this.state !== 'started') {
      this.counters.droppedNotStarted++;
      return;
    }
    const n = this.neg as NegotiatedMedia;
    if (n.rtcpMux && looksLikeRtcp(msg)) {
      this.counters.rtpDatagrams--; // accounted as RTCP instead
      this.onRtcpMessage(msg);
      return;
    }
    const r = parseRtp(msg);
    if (!r.ok) {
      this.counters.malformed++;
      return;
    }
    const p = r.packet;
    const isAudio = n.recvPayloadTypes.includes(p.payloadType);
    const isDtmf = !isAudio && n.dtmfRecvPayloadTypes.includes(p.payloadType);
    if (!isAudio && !isDtmf) {
      if (p.payloadType === PT_CN) this.counters.comfortNoise++;
      else this.counters.unexpectedPayloadType++;
      return;
    }
    if (isDtmf && p.payload.length < 4) {
      this.counters.malformed++; // RFC 4733 §2.3: an event is 4 octets
      return;
    }
    if (this.conn !== 'connected' && !this.acceptSource(rinfo)) {
      this.counters.foreignSource++;
      return;
    }
    const now = this.clock.time.now();
    if (this.remoteSsrc !== p.ssrc) {
      // New or changed source (RFC 3550 §8.2: e.g. the far end's media server switched streams).
      if (this.remoteSsrc !== undefined) {
        this.counters.ssrcChanges++;
        this.decoder = (this.codec as Codec).createDecoder(); // a new stream starts from a fresh ADPCM state
      }
      this.remoteSsrc = p.ssrc;
      this.jitter.reset();
      this.rx.reset(p.ssrc);
    }
    const clockRate = (this.codec as Codec).clockRate;
    if (!this.rx.update(p.sequenceNumber, p.timestamp, isAudio ? (now * clockRate) / 1000 : undefined)) {
      this.counters.outOfSequence++;
      return;
    }
    this.counters.packetsReceived++;
    this.counters.bytesReceived += p.payload.length;
    this.lastRtpAt = now;
    this.timeoutReported = false;
    if (isAudio) {
      const res = this.jitter.push(p.sequenceNumber, p.payload);
      if (res === 'late') this.counters.late++;
      else if (res === 'duplicate') this.counters.duplicates++;
      return;
    }
    const got = this.dtmfIn?.receive(p.timestamp, p.payload, now);
    if (got === 'malformed') this.counters.malformed++;
    else if (got) for (const d of got) this.emitDtmf(d.digit, d.durationMs);
  }

  private emitDtmf(digit: string, durationMs: number): void {
    this.counters.dtmfReceived++;
    this.emit({ type: 'dtmf', digit, durationMs });
  }

  /** Symmetric RTP latching (RFC 4961 §5 / common SBC practice). Called before we are connected. */
  private acceptSource(rinfo: RemoteInfo): boolean {
    const target = this.sendTo;
    if (!target) return false;
    if (rinfo.address === target.address && rinfo.port === target.port) {
      this.connectTo(target.address, target.port);
      return true;
    }
    if (this.clock.time.now() > this.latchDeadline) return false;
    const n = this.neg as NegotiatedMedia;
    this.emit({ type: 'remote-latched', address: rinfo.address, port: rinfo.port, sdpAddress: n.remoteAddress, sdpPort: n.remotePort });
    this.counters.latched++;
    this.sendTo = { address: rinfo.address, port: rinfo.port };
    this.connectTo(rinfo.address, rinfo.port);
    return true;
  }

  private connectTo(address: string, port: number): void {
    if (this.conn !== 'none' || this.state === 'closed') return;
    this.conn = 'connecting';
    this.rtp.connect(port, address, () => {
      if (this.conn === 'connecting') this.conn = 'connected';
    });
  }

  private disconnect(): void {
    if (this.conn === 'connected') {
      try {
        this.rtp.disconnect();
      } catch (err) {
        this.onSocketError(err as Error);
      }
    }
    this.conn = 'none';
  }

  private onSocketError(err: Error): void {
    this.counters.socketErrors++;
    // ECONNREFUSED (peer port closed) is routine; report the first of each kind only.
    if (this.counters.socketErrors <= 3) this.emit({ type: 'socket-error', error: err });
  }

  // ---------------------------------------------------------------- RTCP

  private onRtcpMessage(msg: Buffer): void {
    this.counters.rtcpDatagrams++;
    if (this.state !== 'started') return;
    const r = parseRtcp(msg);
    if (!r.ok) {
      this.counters.rtcpMalformed++;
      return;
    }
    this.counters.rtcpReceived++;
    const now = this.clock.time.now();
    for (const p of r.packets) {
      if (p.type === 'sr' && p.ssrc === this.rx.ssrc) {
        this.rx.lastSr = ntpMiddle(p.ntpSec, p.ntpFrac);
        this.rx.lastSrAt = now;
      }
      if (p.type === 'bye') this.emit({ type: 'remote-bye', ...(p.reason !== undefined ? { reason: p.reason } : {}) });
    }
    this.emit({ type: 'rtcp', packets: r.packets as RtcpPacket[] });
  }

  private sendRtcp(bye: boolean, reason?: string, done?: () => void): void {
    const n = this.neg;
    if (!n || !this.sendTo) {
      done?.();
      return;
    }
    // a send error is reported through the callback instead of the 'error' event when one is given
    const cb = done
      ? (err: Error | null): void => {
          if (err) this.onSocketError(err);
          done();
        }
      : undefined;
    const now = this.clock.time.now();
    const block = this.rx.reportBlock(now);
    const ntp = toNtp(this.clock.time.wallClockMs());
    const sent = this.counters.packetsSent > 0;
    const pkt = buildRtcpCompound({
      ssrc: this.ssrc,
      cname: this.cname,
      ...(sent
        ? { sender: { ntpSec: ntp.ntpSec, ntpFrac: ntp.ntpFrac, rtpTimestamp: this.ts, packetCount: this.counters.packetsSent >>> 0, octetCount: this.counters.bytesSent >>> 0 } }
        : {}),
      ...(block ? { reports: [block] } : {}),
      ...(bye ? { bye: reason !== undefined ? { reason } : {} } : {}),
    });
    try {
      // With rtcp-mux RTCP shares the RTP socket and address (RFC 5761 §5.1.3).
      const host = this.sendTo.address;
      if (n.rtcpMux) {
        if (this.conn === 'connected') this.rtp.send(pkt, cb);
        else if (this.conn === 'none') this.rtp.send(pkt, this.sendTo.port, host, cb);
        else done?.();
      } else {
        const port = host === n.remoteAddress ? n.rtcpPort : this.sendTo.port + 1; // latched: assume port+1
        this.rtcp.send(pkt, port, host, cb);
      }
      this.counters.rtcpSent++;
    } catch (err) {
      this.onSocketError(err as Error);
      done?.();
    }
  }

  // ---------------------------------------------------------------- stats

  stats(): MediaSessionStats {
    return {
      ...this.counters,
      sendDeviationHistogram: this.counters.sendDeviationHistogram.slice(),
      packetsLost: Math.max(0, this.rx.lost),
      jitterMs: this.codec ? (this.rx.jitter / this.codec.clockRate) * 1000 : 0,
      jitterBuffer: { ...this.jitter.stats, depth: this.jitter.size },
      playedMs: this.playedMsTotal,
      queuedMs: this.queuedMs,
      ssrc: this.ssrc,
      remoteSsrc: this.remoteSsrc ?? null,
      remote: this.sendTo ? { ...this.sendTo } : null,
      connected: this.conn === 'connected',
    };
  }

  /** Restarts the send-deviation histogram (benchmarks skip their warm-up this way). */
  resetSendDeviation(): void {
    this.counters.sendDeviationHistogram.fill(0);
  }
}

function bind(s: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    s.once('error', onError);
    s.bind({ port, address, exclusive: true }, () => {
      s.off('error', onError);
      resolve();
    });
  });
}

function closeQuietly(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch (err) {
      // ERR_SOCKET_DGRAM_NOT_RUNNING: never bound or already closed — nothing left to release.
      if ((err as NodeJS.ErrnoException).code !== 'ERR_SOCKET_DGRAM_NOT_RUNNING') throw err;
      resolve();
    }
  });
}
