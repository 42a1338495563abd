/**
 * The send path of one leg: queued PCM → codec → RTP packet → socket, one packet per 20 ms tick of
 * the pacing clock (the session owns the registration and calls sendOne() once per grid point owed).
 *
 * - With no audio queued we send encoded silence rather than nothing, so NAT bindings stay open and
 *   peers that hang up on "no RTP" do not.
 * - On hold (a direction without send) nothing is sent and the queue is frozen, but RTP timestamps
 *   keep advancing with time (RFC 3550 §5.1) and the marker bit flags the resumed stream.
 * - RFC 4733 digits take the place of audio while they play; speech stays queued behind them.
 *
 * Hot path: sendOne() allocates one packet Buffer (the socket keeps it until sent) and nothing else;
 * it reads the socket's `conn`/`sendTo` fields directly rather than calling through another object.
 */
import { randomBytes } from 'node:crypto';
import type { Codec, StreamEncoder } from '../../media/codecs.js';
import { canSend, type NegotiatedMedia } from '../sdp/types.js';
import { FRAME_MS, OutgoingQueue } from './audio-queues.js';
import { DtmfSender } from './dtmf.js';
import type { MediaEmitter, MediaSessionStats } from './media-events.js';
import type { MediaSocket } from './media-socket.js';
import { allocRtp } from './packet.js';

export class RtpSender {
  readonly ssrc: number;
  /** RTP timestamp of the next packet; the RTCP SR reports it (RFC 3550 §6.4.1). */
  ts: number;
  private seq: number;
  private marker = true;
  private neg: NegotiatedMedia | undefined;
  private codec: Codec | undefined;
  private encoder: StreamEncoder | undefined;
  private tsPerFrame = 160;
  private silencePayload: Uint8Array | undefined;
  private silenceFrame = new Int16Array(160);
  private readonly outQ = new OutgoingQueue(160);
  private wasPlaying = false;
  private playedMsTotal = 0;
  private dtmfOut: DtmfSender | undefined;

  constructor(
    private readonly socket: MediaSocket,
    private readonly counters: MediaSessionStats,
    private readonly events: MediaEmitter,
    private readonly sendSilenceWhenIdle: boolean,
  ) {
    const rnd = randomBytes(10);
    // RFC 3550 §5.1/§8: random SSRC, initial sequence number and timestamp.
    this.ssrc = rnd.readUInt32BE(0);
    this.seq = rnd.readUInt16BE(4);
    this.ts = rnd.readUInt32BE(6);
  }

  /** The negotiated media in force (direction, payload types); set on start and each update. */
  setMedia(n: NegotiatedMedia): void {
    if (this.neg && !canSend(this.neg.direction) && canSend(n.direction)) this.marker = true; // resumed stream
    this.neg = n;
  }

  /** A new codec (start, or a re-INVITE that changed it): new encoder, silence, DTMF clock. */
  setCodec(codec: Codec, frameSize: number): void {
    const rateChanged = this.codec !== undefined && this.codec.sampleRate !== codec.sampleRate;
    this.codec = codec;
    this.tsPerFrame = (codec.clockRate * FRAME_MS) / 1000;
    this.encoder = codec.createEncoder();
    this.silenceFrame = new Int16Array(frameSize);
    // Stateless codecs: encode silence once. Stateful (G.722): run the stream encoder on it per tick.
    this.silencePayload = codec.stateful ? undefined : codec.encode(this.silenceFrame);
    // Queued PCM survives a codec switch at the same rate (PCMU <-> PCMA after a re-INVITE, RFC 3264 §8);
    // frames at another rate cannot be played at the new one and are dropped.
    if (rateChanged) this.outQ.clear();
    this.outQ.frameSize = frameSize;
    this.dtmfOut = new DtmfSender({ samplesPerTick: this.tsPerFrame });
    this.marker = true;
  }

  // ---------------------------------------------------------------- what the application queues

  write(pcm: Int16Array): void {
    this.outQ.push(pcm);
  }

  clear(): number {
    const frames = this.outQ.clear();
    if (frames > 0 && this.wasPlaying) {
      this.wasPlaying = false;
      this.events.emit({ type: 'drained', playedMs: this.playedMsTotal, cleared: true });
    }
    return frames * FRAME_MS;
  }

  get playedMs(): number {
    return this.playedMsTotal;
  }

  get queuedMs(): number {
    return this.outQ.length * FRAME_MS;
  }

  sendDtmf(digits: string, durationMs: number): boolean {
    if (!this.dtmfOut || !this.neg || this.neg.dtmfPayloadType === null) return false;
    this.dtmfOut.enqueue(digits, durationMs, FRAME_MS);
    return true;
  }

  // ---------------------------------------------------------------- the 20 ms tick

  /** Grid points the loop stalled past are skipped, not burst: the timestamp still follows time (§5.1). */
  skip(frames: number): void {
    this.ts = (this.ts + frames * this.tsPerFrame) >>> 0;
  }

  /** One grid point: a DTMF packet, a queued frame, silence, or (on hold) nothing. */
  sendOne(): void {
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
        this.events.emit({ type: 'dtmf-sent', digit: dtmf.digit });
      }
    } else {
      const frame = this.outQ.shift();
      if (frame) {
        this.sendFrame(n.payloadType, frame);
        this.playedMsTotal += FRAME_MS;
        this.wasPlaying = true;
        if (this.outQ.length === 0) {
          this.wasPlaying = false;
          this.events.emit({ type: 'drained', playedMs: this.playedMsTotal, cleared: false });
        }
      } else if (this.sendSilenceWhenIdle) {
        if (this.silencePayload) this.transmit(n.payloadType, this.marker, this.ts, this.silencePayload);
        else this.sendFrame(n.payloadType, this.silenceFrame);
      }
    }
    this.ts = (this.ts + this.tsPerFrame) >>> 0;
  }

  /**
   * Encodes a PCM frame straight into a new packet (no intermediate payload buffer), with room for
   * the SRTP tag when the media is encrypted, so that it is protected where it is.
   */
  private sendFrame(pt: number, frame: Int16Array): void {
    const len = (this.codec as Codec).encodedSize(frame.length);
    const pkt = allocRtp(pt, this.marker, this.seq, this.ts, this.ssrc, len + this.srtpRoom());
    (this.encoder as StreamEncoder).encodeInto(frame, pkt.subarray(12, 12 + len));
    this.sendPacket(pkt, len);
  }

  private transmit(pt: number, marker: boolean, ts: number, payload: Uint8Array): void {
    const pkt = allocRtp(pt, marker, this.seq, ts, this.ssrc, payload.length + this.srtpRoom());
    pkt.set(payload, 12);
    this.sendPacket(pkt, payload.length);
  }

  /** Bytes to leave after a packet for its SRTP tag (0 for plain RTP). */
  private srtpRoom(): number {
    return this.socket.srtp?.out.rtpOverhead ?? 0;
  }

  /** Sends a packet built with the current sequence number (12 + payloadLength bytes, then the SRTP room), then advances it. */
  private sendPacket(pkt: Buffer, payloadLength: number): void {
    const s = this.socket;
    if (s.conn === 'connecting') {
      this.counters.droppedWhileConnecting++; // Node drops sends made mid-connect(); lasts < 1 ms
      return;
    }
    this.marker = false;
    this.seq = (this.seq + 1) & 0xffff;
    try {
      const out = s.srtp ? s.srtp.out.protectRtpInPlace(pkt, 12 + payloadLength) : pkt;
      if (s.conn === 'connected') s.rtp.send(out);
      else if (s.sendTo) s.rtp.send(out, s.sendTo.port, s.sendTo.address);
      this.counters.packetsSent++;
      this.counters.bytesSent += payloadLength; // RFC 3550 §6.4.1 octet count: payload only
    } catch (err) {
      s.onError(err as Error);
    }
  }
}
