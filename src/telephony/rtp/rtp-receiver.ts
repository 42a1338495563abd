/**
 * The receive path of one leg: datagram → parse → filter (version, payload type, source) → jitter
 * buffer → decode → one 20 ms frame event per tick. Everything malformed is counted and dropped;
 * nothing thrown reaches the event loop.
 *
 * - Source: until the socket is connect()ed we accept RTP from the SDP's address, or latch once to
 *   another source (NAT, SBC) within `latchWindowMs` of start()/a new remote (symmetric RTP, RFC 4961);
 *   either way the socket is then connected. With no inbound packet within the window we connect to
 *   the SDP address.
 * - A new SSRC resets the sequence tracking and the jitter buffer (RFC 3550 §8.2).
 * - 'rtp-timeout' once after rtpTimeoutMs without RTP while we expect to receive.
 *
 * Hot path: onRtp() and playoutOne() run once per packet; beyond the parse result and the frame event
 * they allocate nothing in the common case (a 20 ms packet decodes straight into the emitted frame).
 */
import type { RemoteInfo } from 'node:dgram';
import type { Codec, StreamDecoder } from '../../media/codecs.js';
import type { Clock } from '../../time/clock.js';
import { canReceive, type NegotiatedMedia } from '../sdp/types.js';
import { FRAME_MS, SampleFifo } from './audio-queues.js';
import { DtmfReceiver } from './dtmf.js';
import { JitterBuffer } from './jitter-buffer.js';
import type { MediaEmitter, MediaSessionStats } from './media-events.js';
import type { MediaSocket } from './media-socket.js';
import { looksLikeRtcp, parseRtp } from './packet.js';
import type { RtcpReporter } from './rtcp-reporter.js';
import type { ReceiverStats } from './receiver-stats.js';

const PT_CN = 13; // RFC 3389 comfort noise: we do not negotiate it, so it is ignored quietly

export interface RtpReceiverOptions {
  jitterTargetMs: number;
  rtpTimeoutMs: number;
  latchWindowMs: number;
}

export class RtpReceiver {
  private running = false;
  private neg: NegotiatedMedia | undefined;
  private codec: Codec | undefined;
  private decoder: StreamDecoder | undefined;
  private frameSize = 160;
  private jitter = new JitterBuffer<Uint8Array>();
  private readonly fifo = new SampleFifo(1920);
  private lastDecoded: Int16Array | undefined;
  /** Audio played as loss concealment, ms (kept in ms: a re-INVITE may change the codec's rate). */
  private concealedTotalMs = 0;
  private concealRun = 0;
  private dtmfIn: DtmfReceiver | undefined;
  private remoteSsrc: number | undefined;
  private latchDeadline = 0;
  private lastRtpAt = 0;
  private timeoutReported = false;

  constructor(
    private readonly socket: MediaSocket,
    private readonly reporter: RtcpReporter,
    /** Sequence, loss and jitter of the current source (RFC 3550 A.1, A.3, A.8), shared with the reporter. */
    private readonly rx: ReceiverStats,
    private readonly counters: MediaSessionStats,
    private readonly events: MediaEmitter,
    private readonly clock: Clock,
    private readonly opts: RtpReceiverOptions,
  ) {}

  start(now: number): void {
    this.running = true;
    this.lastRtpAt = now;
  }

  stop(): void {
    this.running = false;
  }

  /** The negotiated media in force; re-arms the RTP timeout when a hold ends (nothing came while held). */
  setMedia(n: NegotiatedMedia, now: number): void {
    if (this.neg && !canReceive(this.neg.direction) && canReceive(n.direction)) this.lastRtpAt = now;
    this.neg = n;
  }

  /** A new codec: new decoder and DTMF clock, and the receive state starts over. */
  setCodec(codec: Codec, frameSize: number): void {
    this.codec = codec;
    this.frameSize = frameSize;
    this.decoder = codec.createDecoder();
    const target = Math.max(1, Math.round(this.opts.jitterTargetMs / FRAME_MS));
    this.jitter = new JitterBuffer<Uint8Array>({ targetPackets: target });
    this.fifo.clear();
    this.lastDecoded = undefined;
    this.remoteSsrc = undefined;
    this.dtmfIn = new DtmfReceiver(codec.clockRate);
  }

  /** A new remote from the SDP: the latch window opens again and the RTP timeout restarts. */
  expectSource(now: number): void {
    this.latchDeadline = now + this.opts.latchWindowMs;
    this.timeoutReported = false;
    this.lastRtpAt = now;
  }

  // ---------------------------------------------------------------- per datagram

  onRtp(msg: Buffer, rinfo: RemoteInfo): void {
    this.counters.rtpDatagrams++;
    if (!this.running) {
      this.counters.droppedNotStarted++;
      return;
    }
    const n = this.neg as NegotiatedMedia;
    if (n.rtcpMux && looksLikeRtcp(msg)) {
      this.counters.rtpDatagrams--; // accounted as RTCP instead
      this.reporter.onRtcp(msg);
      return;
    }
    const plain = this.socket.plain(msg, 'rtp');
    if (!plain) return;
    const r = parseRtp(plain);
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
    if (this.socket.conn !== 'connected' && !this.acceptSource(rinfo)) {
      this.counters.foreignSource++;
      return;
    }
    const now = this.clock.now();
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

  /** Symmetric RTP latching (RFC 4961 §5 / common SBC practice). Called before we are connected. */
  private acceptSource(rinfo: RemoteInfo): boolean {
    const target = this.socket.sendTo;
    if (!target) return false;
    if (rinfo.address === target.address && rinfo.port === target.port) {
      this.socket.connectTo(target.address, target.port);
      return true;
    }
    if (this.clock.now() > this.latchDeadline) return false;
    const n = this.neg as NegotiatedMedia;
    this.events.emit({ type: 'remote-latched', address: rinfo.address, port: rinfo.port, sdpAddress: n.remoteAddress, sdpPort: n.remotePort });
    this.counters.latched++;
    this.socket.sendTo = { address: rinfo.address, port: rinfo.port };
    this.socket.connectTo(rinfo.address, rinfo.port);
    return true;
  }

  private emitDtmf(digit: string, durationMs: number): void {
    this.counters.dtmfReceived++;
    this.events.emit({ type: 'dtmf', digit, durationMs });
  }

  // ---------------------------------------------------------------- per tick

  /** One 20 ms frame out of the jitter buffer, concealing a lost packet; nothing while held and empty. */
  playoutOne(): void {
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
          this.events.emit({ type: 'frame', frame: pcm, sampleRate: codec.sampleRate, concealed });
          return;
        }
        this.fifo.append(pcm);
      } else {
        // Loss concealment: one attenuated repeat of the last packet, then silence.
        concealed = true;
        this.counters.concealedPackets++;
        const n = this.lastDecoded?.length || this.frameSize;
        this.concealedTotalMs += (n / codec.sampleRate) * 1000;
        // (lastDecoded may have been emitted as a frame: map() makes a copy, never mutating it)
        if (this.concealRun === 0 && this.lastDecoded) this.fifo.append(this.lastDecoded.map((s) => s >> 1));
        else this.fifo.appendSilence(n);
        this.concealRun++;
      }
    }
    if (this.fifo.length >= this.frameSize) {
      this.counters.framesEmitted++;
      this.events.emit({ type: 'frame', frame: this.fifo.take(this.frameSize), sampleRate: codec.sampleRate, concealed });
    }
  }

  /** Once per tick that sent packets: the end of the latch window, stale DTMF, the RTP timeout. */
  housekeeping(now: number): void {
    const s = this.socket;
    if (s.conn === 'none' && now >= this.latchDeadline && s.sendTo) s.connectTo(s.sendTo.address, s.sendTo.port);
    const stale = this.dtmfIn?.flushStale(now);
    if (stale) this.emitDtmf(stale.digit, stale.durationMs);
    const n = this.neg as NegotiatedMedia;
    if (this.opts.rtpTimeoutMs > 0 && canReceive(n.direction) && !this.timeoutReported && now - this.lastRtpAt >= this.opts.rtpTimeoutMs) {
      this.timeoutReported = true;
      this.events.emit({ type: 'rtp-timeout', silentMs: Math.round(now - this.lastRtpAt) });
    }
  }

  // ---------------------------------------------------------------- stats

  /** The SSRC we currently receive, null before the first packet. */
  get sourceSsrc(): number | null {
    return this.remoteSsrc ?? null;
  }

  /** Cumulative packets lost (RFC 3550 A.3), floored at 0 (duplicates can make it negative). */
  get packetsLost(): number {
    return Math.max(0, this.rx.lost);
  }

  /** Audio played as loss concealment (a packet missing or late at its playout), in ms. */
  get concealedMs(): number {
    return this.concealedTotalMs;
  }

  /** Interarrival jitter (RFC 3550 A.8) in ms. */
  get jitterMs(): number {
    return this.codec ? (this.rx.jitter / this.codec.clockRate) * 1000 : 0;
  }

  get jitterBufferStats(): MediaSessionStats['jitterBuffer'] {
    return { ...this.jitter.stats, depth: this.jitter.size };
  }
}
