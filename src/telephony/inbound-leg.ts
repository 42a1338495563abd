/**
 * InboundLeg: one incoming call with its media, the callee-side twin of CallLeg (same write/onAudio/
 * on/hangup surface, same LegEvent union).
 *
 * - ringing(): 180. answer(): opens a MediaSession on a port from the pool, answers the INVITE's offer
 *   with our preferred codec among those offered (answer-codec.ts, wideband first), starts media and
 *   sends the 200 (RFC 3264 §6: the offer was in the INVITE, so the answer goes in the 2xx, §13.3.1.1).
 *   An offer we cannot answer (no common codec, garbage, offerless INVITE) is rejected with 488.
 * - Media starts with the 200, before the ACK: the caller may send RTP as soon as it has our answer.
 * - re-INVITEs (hold/unhold/refresh) are answered by the MediaSession keeping the codec (RFC 3264 §8).
 * - Every way it ends (our BYE or rejection, the caller's BYE or CANCEL, no ACK, UA shutdown) closes the
 *   media and returns its port exactly once, then `ended` resolves.
 */
import { chooseAnswerCodec, WIDEBAND_ANSWER_PREFERENCE, type AudioCodecToken } from './answer-codec.js';
import type { LegEnded, LegEvent } from './leg-events.js';
import { LegListeners } from './leg-listeners.js';
import { describe, parseInfoDtmf } from './leg-helpers.js';
import { MediaSession, mediaQualityOf, type MediaQuality, type PacingClock, type PortPool } from './rtp/index.js';
import type { MediaEncryption } from './sdp/crypto.js';
import { mapOutcome, type InboundCall, type InboundEnded } from './sip/index.js';

export interface InboundLegOptions {
  readonly portPool: PortPool;
  /** Address the RTP socket binds to. */
  readonly localAddress: string;
  /** Address written into our SDP; required when localAddress is a wildcard. */
  readonly advertiseAddress?: string;
  /** Codecs we accept, in preference order. Default wideband first: L16/16000, G722, PCMU, PCMA. */
  readonly codecs?: readonly AudioCodecToken[];
  /** SRTP (RFC 4568 SDES): the trunk's media_encryption; an offer it cannot accept gets 488. Default 'disabled'. */
  readonly mediaEncryption?: MediaEncryption;
  readonly pacing?: PacingClock;
  /** Hang up when no RTP arrived for this long after answer. Default 30000; 0 = never. */
  readonly rtpTimeoutMs?: number;
  readonly jitterTargetMs?: number;
}

export class InboundLeg {
  readonly callId: string;
  /** Resolves once, after the media (if any) is closed and its port returned. Never rejects. */
  readonly ended: Promise<LegEnded>;

  private resolveEnded: (e: LegEnded) => void = () => undefined;
  private readonly listeners: LegListeners;
  private readonly offMedia: Array<() => void> = [];
  private media: MediaSession | undefined;
  private answering = false;
  private isAnswered = false;
  /** Our answer as sent in the 183 (early media); the 200 repeats it. */
  private earlySdp: string | undefined;
  private finishing = false;
  private rtpTimedOut = false;
  /** cancel() refused it before the answer: it ends `canceled`, not as a failure. */
  private canceledHere = false;

  constructor(
    readonly call: InboundCall,
    private readonly opts: InboundLegOptions,
  ) {
    this.callId = call.callId;
    this.listeners = new LegListeners(`InboundLeg ${call.callId}`);
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    call.onReinvite = (remoteOffer) => {
      const m = this.media;
      if (!m || this.finishing || remoteOffer === undefined) throw new Error('re-INVITE without an offer or without running media');
      return m.answerReOffer(remoteOffer).sdp;
    };
    call.on((ev) => {
      if (ev.type === 'ended') this.finish(ev).then(undefined, (err: unknown) => process.emitWarning(`InboundLeg finish failed: ${String(err)}`));
      else if (ev.type === 'transfer-progress') this.listeners.emit({ type: 'transfer-progress', statusCode: ev.statusCode, final: ev.final });
      else if (ev.type === 'info') {
        // DTMF by SIP INFO, as on an outbound leg (callers whose gateway does not send RFC 4733).
        const d = parseInfoDtmf(ev.contentType, ev.body);
        if (d) this.listeners.emit({ type: 'dtmf', ...d });
      }
    });
  }

  /** The number the caller dialed (Request-URI user). */
  get dialed(): string {
    return this.call.dialed;
  }

  get answered(): boolean {
    return this.isAnswered;
  }

  /** PCM rate of write()/onAudio frames (16000 for L16/16000 and G.722, 8000 for G.711); undefined before answer or early media. */
  get sampleRate(): number | undefined {
    return this.isAnswered || this.earlySdp !== undefined ? this.media?.negotiated?.sampleRate : undefined;
  }

  get codec(): string | undefined {
    return this.isAnswered ? this.media?.negotiated?.codec : undefined;
  }

  on(listener: (e: LegEvent) => void): () => void {
    return this.listeners.on(listener);
  }

  /** 20 ms frames heard from the caller, at sampleRate, after answer. */
  onAudio(listener: (frame: Int16Array) => void): () => void {
    return this.listeners.onAudio(listener);
  }

  ringing(): void {
    if (this.finishing || this.answering) return;
    this.call.ringing();
    this.listeners.emit({ type: 'ringing', earlyMedia: false });
  }

  /**
   * Early media: answers the offer in a 183 and starts media, so write() plays to the caller before
   * any answer (a network's announcement, ringback). answer() later sends the same SDP in the 200;
   * reject() ends it unanswered. Rejects as answer() does.
   */
  async earlyMedia(): Promise<void> {
    if (this.finishing || this.answering || this.earlySdp !== undefined) throw new Error(`earlyMedia() on a leg that is ${this.finishing ? 'over' : 'already answering'}`);
    this.answering = true;
    try {
      const sdp = await this.openMedia();
      this.earlySdp = sdp;
      this.call.progress(sdp);
      this.listeners.emit({ type: 'ringing', earlyMedia: true, earlySampleRate: this.media?.negotiated?.sampleRate ?? 8000 });
    } finally {
      this.answering = false;
    }
  }

  /**
   * Answers with our codec choice; resolves when the 200 is sent and media runs. Rejects (after answering
   * 488 to the INVITE) when the offer cannot be answered, and when the call already ended (caller canceled).
   */
  async answer(): Promise<void> {
    if (this.finishing || this.answering) throw new Error(`answer() on a leg that is ${this.finishing ? 'over' : 'already answering'}`);
    this.answering = true;
    const sdp = this.earlySdp ?? (await this.openMedia());
    if (this.finishing || !this.call.sm.is('offered', 'ringing')) throw new Error('the call ended before it could be answered');
    this.call.answer(sdp);
    this.isAnswered = true;
    const n = this.media?.negotiated;
    this.listeners.emit({ type: 'answered', codec: n?.codec ?? 'PCMU', sampleRate: n?.sampleRate ?? 8000 });
  }

  /** Opens and starts the media on our answer to the INVITE's offer; our SDP. Rejects with 488 what cannot be answered. */
  private async openMedia(): Promise<string> {
    const offer = this.call.remoteSdp;
    let codec: AudioCodecToken | undefined;
    try {
      codec = offer === undefined ? undefined : chooseAnswerCodec(offer, this.opts.codecs ?? WIDEBAND_ANSWER_PREFERENCE);
    } catch (err) {
      this.call.reject(488, 'Not Acceptable Here');
      throw new Error(`unusable SDP offer: ${describe(err)}`);
    }
    if (codec === undefined) {
      this.call.reject(488, 'Not Acceptable Here');
      throw new Error(offer === undefined ? 'offerless INVITE: not supported' : 'no codec in common with the offer');
    }
    const media = await MediaSession.open({
      localAddress: this.opts.localAddress,
      portPool: this.opts.portPool,
      codecs: [codec, 'telephone-event'],
      ...(this.opts.mediaEncryption !== undefined ? { encryption: this.opts.mediaEncryption } : {}),
      ...(this.opts.advertiseAddress !== undefined ? { advertiseAddress: this.opts.advertiseAddress } : {}),
      ...(this.opts.pacing !== undefined ? { clock: this.opts.pacing } : {}),
      ...(this.opts.rtpTimeoutMs !== undefined ? { rtpTimeoutMs: this.opts.rtpTimeoutMs } : {}),
      ...(this.opts.jitterTargetMs !== undefined ? { jitterTargetMs: this.opts.jitterTargetMs } : {}),
    });
    if (this.finishing || !this.call.sm.is('offered', 'ringing')) {
      // The caller canceled while the port was being bound.
      await media.close();
      throw new Error('the call ended before it could be answered');
    }
    this.media = media;
    let sdp: string;
    try {
      sdp = media.answerReOffer(offer as string).sdp;
    } catch (err) {
      this.call.reject(488, 'Not Acceptable Here');
      throw new Error(`cannot answer the offer: ${describe(err)}`);
    }
    this.offMedia.push(
      media.on('frame', (e) => {
        this.listeners.audio(e.frame);
      }),
      media.on('dtmf', (e) => this.listeners.emit({ type: 'dtmf', digit: e.digit, durationMs: e.durationMs })),
      media.on('drained', (e) => {
        if (!e.cleared) this.listeners.emit({ type: 'drained' });
      }),
      media.on('rtp-timeout', () => {
        this.rtpTimedOut = true;
        void this.call.hangup();
      }),
    );
    return sdp;
  }

  /** A final non-2xx before answer (486 busy, 603 decline, 503 failure, ...). */
  reject(status: number, reason?: string): void {
    if (this.isAnswered || this.finishing) return;
    this.call.reject(status, reason);
  }

  /**
   * Stop ringing without answering (the call was called off on our side): 480 Temporarily
   * Unavailable (RFC 3261 §21.4.18), and the leg ends `canceled`. After the answer it hangs up.
   */
  async cancel(): Promise<LegEnded> {
    if (this.isAnswered) return this.hangup();
    if (!this.finishing) {
      this.canceledHere = true;
      this.call.reject(480, 'Temporarily Unavailable');
    }
    return this.ended;
  }

  /** RFC 4733 digits to the caller; throws before the answer, on a bad digit, or when the caller offered no telephone-event. */
  sendDtmf(digits: string, durationMs = 100): void {
    if (!this.isAnswered || this.finishing || !this.media) throw new Error('InboundLeg.sendDtmf() needs an answered, live call');
    if (!this.media.sendDtmf(digits, durationMs)) throw new Error('the caller offered no telephone-event: digits cannot be sent');
  }

  /** How this leg's audio fared (the call's metrics.media); undefined when no media ever ran. */
  mediaQuality(): MediaQuality | undefined {
    return this.media ? mediaQualityOf(this.media.stats()) : undefined;
  }

  /** Blind transfer (REFER) of the caller; resolves with the REFER's final status (the transfer_call tool). */
  transfer(target: string): Promise<number> {
    return this.call.transfer(target);
  }

  /** BYE after answer (sent once the ACK arrived), 480 before. Resolves when media is closed. */
  async hangup(): Promise<LegEnded> {
    if (!this.finishing) await this.call.hangup();
    return this.ended;
  }

  /** Queues PCM16 at sampleRate. Throws before answer (or early media); a no-op once the call is over. */
  write(frame: Int16Array): void {
    if (!this.isAnswered && this.earlySdp === undefined) throw new Error('InboundLeg.write() before answer');
    if (this.finishing) return;
    this.media?.write(frame);
  }

  /** Drops queued audio; returns the ms that will never be played. */
  clear(): number {
    return this.finishing || !this.media ? 0 : this.media.clear();
  }

  get queuedMs(): number {
    return this.media?.queuedMs ?? 0;
  }

  get playedMs(): number {
    return this.media?.playedMs ?? 0;
  }

  get localPort(): number | undefined {
    return this.media?.localPort;
  }

  private async finish(ev: InboundEnded): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    for (const off of this.offMedia) off();
    try {
      await this.media?.close(this.rtpTimedOut ? 'rtp_timeout' : undefined);
    } catch (err) {
      process.emitWarning(`InboundLeg: closing media failed: ${String(err)}`);
    }
    const outcome = (ev.sipStatusCode === 487 || this.canceledHere) && !ev.answered ? 'canceled' : mapOutcome({ answered: ev.answered, sipStatusCode: ev.sipStatusCode });
    const ended: LegEnded = {
      type: 'ended',
      sipStatusCode: ev.sipStatusCode,
      reason: this.rtpTimedOut ? 'rtp_timeout' : ev.reason,
      by: this.rtpTimedOut ? 'timeout' : ev.by,
      outcome,
    };
    this.listeners.end(ended);
    this.resolveEnded(ended);
  }
}
