/**
 * CallLeg: one outbound call with its media, the unit the platform drives.
 *
 * Composes the SIP UAC (sip/OutboundCall) with one RTP endpoint (rtp/MediaSession):
 * - dial: open the MediaSession (an even port from the pool), put its SDP offer in the INVITE
 *   (RFC 3264 §5: the offer goes in the INVITE, so the answer must be in the 2xx, §13.2.1).
 * - answer: negotiate the 2xx's SDP; media starts before 'answered' is emitted, so write() works from
 *   the first listener. An unusable answer (no common codec, port 0, garbage) cannot be refused with a
 *   4xx any more (the 2xx is final, RFC 3261 §13.2.2.4): we ACK, hang up with BYE and end 'failed'.
 * - re-INVITE (hold/unhold/refresh, RFC 3264 §8): answered through MediaSession.answerReOffer; an
 *   offerless re-INVITE (§14.2) gets a fresh offer in our 2xx and its answer from the ACK. The PCM rate
 *   announced in 'answered' is a contract for the whole call: if a re-INVITE moves to a codec with
 *   another rate, the leg resamples both directions.
 * - no RTP for rtpTimeoutMs after answer (while we expect to receive): BYE, reason 'rtp_timeout'.
 * - every way a call ends (our BYE/CANCEL, theirs, ring timeout, failure, UA shutdown) goes through
 *   finish(): the media is closed and its port returned exactly once, then `ended` resolves.
 */
import { DTMF_DIGITS, MediaSession, mediaQualityOf, type MediaQuality, type MediaSessionStats } from './rtp/index.js';
import type { NegotiatedMedia } from './sdp/index.js';
import type { CallEvent, EndedEvent, OutboundCall } from './sip/index.js';
import { offerTokens, type CallLegOptions, type LegEnded, type LegEvent } from './leg-events.js';
import { LegListeners } from './leg-listeners.js';
import { describe, origin, parseInfoDtmf, rateBridge, withoutOrigin, type RateBridge } from './leg-helpers.js';

type Override = { readonly reason: string; readonly by: LegEnded['by']; readonly outcome: LegEnded['outcome'] };


export class CallLeg {
  readonly callId: string;
  /** Resolves once, after the media is closed and its port returned. Never rejects. */
  readonly ended: Promise<LegEnded>;

  private resolveEnded: (e: LegEnded) => void = () => undefined;
  private readonly listeners: LegListeners;
  private readonly offMedia: Array<() => void> = [];
  private offCall: () => void = () => undefined;
  private isAnswered = false;
  private finishing = false;
  /** Why WE ended an answered call, when it was not a plain hangup (rewrites the SIP ended event). */
  private override: Override | undefined;
  /** The last SDP we sent (offer or answer): o= session id/version continuity (RFC 3264 §8). */
  private localSdp: string;
  private offerlessPending = false;
  /** INFO DTMF requests go out one after the other (each waits for the previous final response). */
  private infoChain: Promise<void> = Promise.resolve();
  /** PCM rate promised in 'answered'; write()/onAudio keep it for the whole call. */
  private legRate: number | undefined;
  private bridge: RateBridge | undefined;
  /** Early media (a 183 with SDP) is being received: the media runs receive-only until the answer. */
  private earlyStarted = false;

  private constructor(
    private readonly call: OutboundCall,
    private readonly media: MediaSession,
    offer: string,
  ) {
    this.callId = call.callId;
    this.listeners = new LegListeners(`CallLeg ${call.callId}`);
    this.localSdp = offer;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    this.offMedia.push(
      media.on('frame', (e) => {
        // Before the answer, frames are early media: only its watchers get them (RFC 3960).
        if (!this.isAnswered) {
          if (this.earlyStarted) this.listeners.earlyAudio(e.frame);
          return;
        }
        if (!this.listeners.hearing) return;
        const b = this.bridge;
        const out = b && e.sampleRate === b.mediaRate ? b.inFrames.push(b.in.process(e.frame)) : [e.frame];
        for (const f of out) this.listeners.audio(f);
      }),
      media.on('dtmf', (e) => this.listeners.emit({ type: 'dtmf', digit: e.digit, durationMs: e.durationMs })),
      media.on('drained', (e) => {
        if (!e.cleared) this.listeners.emit({ type: 'drained' });
      }),
      media.on('rtp-timeout', () => this.endAnswered({ reason: 'rtp_timeout', by: 'timeout', outcome: 'completed' })),
    );
    // Replay what already happened (nothing normally: events arrive from the socket, after dial returns).
    for (const ev of [...call.history]) this.onCallEvent(ev);
    if (!this.finishing) this.offCall = call.on((ev) => this.onCallEvent(ev));
  }

  /** Opens the media, builds the SDP offer and sends the INVITE. Throws (port returned) on bad options. */
  static async dial(opts: CallLegOptions): Promise<CallLeg> {
    const codecs = offerTokens(opts.codecs);
    const media = await MediaSession.open({
      localAddress: opts.localAddress,
      portPool: opts.portPool,
      codecs,
      ...(opts.mediaEncryption !== undefined ? { encryption: opts.mediaEncryption } : {}),
      ...(opts.advertiseAddress !== undefined ? { advertiseAddress: opts.advertiseAddress } : {}),
      ...(opts.pacing !== undefined ? { clock: opts.pacing } : {}),
      ...(opts.rtpTimeoutMs !== undefined ? { rtpTimeoutMs: opts.rtpTimeoutMs } : {}),
      ...(opts.jitterTargetMs !== undefined ? { jitterTargetMs: opts.jitterTargetMs } : {}),
    });
    let leg: CallLeg | undefined;
    try {
      const offer = media.offer();
      const call = opts.ua.dial({
        ...opts.dial,
        sdpOffer: offer,
        // Only reachable after answer (the SIP layer answers re-INVITEs in the confirmed dialog only),
        // by which time the leg exists.
        onReinvite: (remoteOffer) => {
          if (!leg) throw new Error('re-INVITE before the leg exists');
          return leg.answerReinvite(remoteOffer);
        },
      });
      leg = new CallLeg(call, media, offer);
      return leg;
    } catch (err) {
      await media.close();
      throw err;
    }
  }

  get answered(): boolean {
    return this.isAnswered;
  }

  /** PCM rate of write()/onAudio frames (8000 for G.711, 16000 for L16/16000); undefined before answer. */
  get sampleRate(): number | undefined {
    return this.legRate;
  }

  get codec(): string | undefined {
    return this.isAnswered ? this.media.negotiated?.codec : undefined;
  }

  get localPort(): number {
    return this.media.localPort;
  }

  on(listener: (e: LegEvent) => void): () => void {
    return this.listeners.on(listener);
  }

  /** 20 ms frames heard from the callee (after the jitter buffer), at sampleRate, after answer. */
  onAudio(listener: (frame: Int16Array) => void): () => void {
    return this.listeners.onAudio(listener);
  }

  /**
   * 20 ms frames of early media (a 183 with SDP: ringback, or a network's intercept announcement),
   * before the answer, at the 'ringing' event's earlySampleRate. Never answered to: nothing is sent.
   */
  onEarlyAudio(listener: (frame: Int16Array) => void): () => void {
    return this.listeners.onEarlyAudio(listener);
  }

  /**
   * Queues PCM16 at sampleRate, in 20 ms frames. Throws before answer: audio must never go out on early
   * media (a 183 with SDP is the network's ringback/announcements, and the callee cannot hear it).
   * After the call ended it is a no-op (a pipeline racing with hangup must not crash).
   */
  write(frame: Int16Array): void {
    if (!this.isAnswered) throw new Error('CallLeg.write() before answer: no audio is sent on early media');
    if (this.finishing) return;
    const b = this.bridge;
    if (!b) this.media.write(frame);
    else for (const f of b.outFrames.push(b.out.process(frame))) this.media.write(f);
  }

  /** Drops queued audio (barge-in); returns the ms that will never be played. */
  clear(): number {
    return this.finishing ? 0 : this.media.clear();
  }

  get playedMs(): number {
    return this.media.playedMs;
  }

  get queuedMs(): number {
    return this.media.queuedMs;
  }

  /**
   * Sends digits (0-9 * # A-D) as RFC 4733 telephone-events, or by SIP INFO when the callee did not accept
   * telephone-event. Throws before answer, after the end, and (RangeError) for characters that are not digits.
   */
  sendDtmf(digits: string, durationMs = 100): void {
    if (!this.isAnswered || this.finishing) throw new Error('CallLeg.sendDtmf() needs an answered, live call');
    if (this.media.sendDtmf(digits, durationMs)) return;
    // No telephone-event in the answer: fall back to SIP INFO application/dtmf-relay, one request per
    // digit, in order (the de-facto format of Cisco/Asterisk; RFC 6086 gives INFO its framework).
    for (const d of digits) {
      if (!DTMF_DIGITS.includes(d.toUpperCase())) throw new RangeError(`not a DTMF digit: ${d}`);
    }
    for (const d of digits.toUpperCase()) {
      this.infoChain = this.infoChain
        .then(() => (this.finishing ? 0 : this.call.sendInfo(`Signal=${d}\r\nDuration=${Math.round(durationMs)}\r\n`)))
        .then(
          (status) => {
            if (status >= 300) process.emitWarning(`CallLeg ${this.callId}: INFO DTMF '${d}' refused with ${status}`);
          },
          (err: unknown) => process.emitWarning(`CallLeg ${this.callId}: INFO DTMF '${d}' failed: ${String(err)}`),
        );
    }
  }

  /** CANCEL before answer, BYE after (the SIP layer picks). Resolves when media is closed. */
  async cancel(): Promise<LegEnded> {
    if (!this.finishing) await this.call.cancel();
    return this.ended;
  }

  async hangup(): Promise<LegEnded> {
    if (!this.finishing) await this.call.hangup();
    return this.ended;
  }

  /** Blind transfer with REFER (RFC 3515); resolves with the REFER's final status (202 = accepted). */
  transfer(target: string): Promise<number> {
    return this.call.transfer(target);
  }

  /** RTP counters of this leg (benchmarks, diagnostics). */
  mediaStats(): MediaSessionStats {
    return this.media.stats();
  }

  /** How this leg's audio fared (the call's metrics.media); readable after the call ended. */
  mediaQuality(): MediaQuality {
    return mediaQualityOf(this.media.stats());
  }

  // ---------------------------------------------------------------- SIP events

  private onCallEvent(ev: CallEvent): void {
    switch (ev.type) {
      case 'trying':
        this.listeners.emit({ type: 'trying' });
        return;
      case 'ringing': {
        // Early media (183 + SDP) is received, never sent to: nobody is there to hear us. Its answer
        // is previewed here; the 2xx carries the same answer (RFC 3261 §13.2.1, RFC 3264 §4).
        const rate = ev.remoteSdp !== undefined ? this.startEarlyMedia(ev.remoteSdp) : undefined;
        this.listeners.emit({ type: 'ringing', earlyMedia: ev.earlyMedia, ...(rate !== undefined ? { earlySampleRate: rate } : {}) });
        return;
      }
      case 'answered':
        this.onAnswered(ev.remoteSdp);
        return;
      case 'info': {
        // DTMF by SIP INFO (trunks without RFC 4733): application/dtmf-relay "Signal=5\r\nDuration=160"
        // or application/dtmf "5".
        const d = parseInfoDtmf(ev.contentType, ev.body);
        if (d) this.listeners.emit({ type: 'dtmf', ...d });
        return;
      }
      case 'transfer-progress':
        this.listeners.emit({ type: 'transfer-progress', statusCode: ev.statusCode, final: ev.final });
        return;
      case 'reinvited':
        if (this.offerlessPending) this.onOfferlessAnswer(ev.remoteSdp);
        return;
      case 'ended':
        this.finish(ev).then(undefined, (err: unknown) => process.emitWarning(`CallLeg finish failed: ${String(err)}`));
        return;
      default:
        return;
    }
  }

  /** Receive-only media on the early dialog's answer; its PCM rate, or undefined when it cannot run. */
  private startEarlyMedia(remoteSdp: string): number | undefined {
    if (this.isAnswered || this.finishing) return undefined;
    if (this.earlyStarted) return this.media.negotiated?.sampleRate;
    try {
      const n = this.media.negotiateAnswer(remoteSdp);
      this.media.start({ ...n, direction: 'recvonly' });
      this.earlyStarted = true;
      return n.sampleRate;
    } catch {
      // Early SDP we cannot use: the call goes on without hearing it (the 2xx's answer decides).
      return undefined;
    }
  }

  private onAnswered(remoteSdp: string): void {
    let n: NegotiatedMedia;
    try {
      n = this.media.negotiateAnswer(remoteSdp);
      if (this.earlyStarted) this.media.update(n);
      else this.media.start(n);
    } catch (err) {
      this.endAnswered({ reason: `sdp_negotiation_failed: ${describe(err)}`, by: 'error', outcome: 'failed' });
      return;
    }
    this.isAnswered = true;
    this.legRate = n.sampleRate;
    this.listeners.emit({ type: 'answered', codec: n.codec, sampleRate: n.sampleRate });
  }

  /** Hang up an answered call for a reason of ours (the BYE's result is appended by finish()). */
  private endAnswered(o: Override): void {
    if (this.finishing || this.override || this.call.state !== 'answered') return;
    this.override = o;
    // Never rejects (OutboundCall.ended); finish() runs from the 'ended' event.
    void this.call.hangup();
  }

  /** onReinvite hook: our answer to their offer, or (offerless, RFC 3261 §14.2) a fresh offer. */
  private answerReinvite(remoteOffer: string | undefined): string {
    if (this.finishing || !this.isAnswered) throw new Error('re-INVITE while the leg has no running media');
    if (remoteOffer === undefined) {
      const { sessionId, version } = origin(this.localSdp);
      let sdp = this.media.offer({ sessionId, sessionVersion: version });
      // RFC 3264 §8: the version goes up by one only if the description changed.
      if (withoutOrigin(sdp) !== withoutOrigin(this.localSdp)) sdp = this.media.offer({ sessionId, sessionVersion: version + 1 });
      this.localSdp = sdp;
      this.offerlessPending = true;
      return sdp;
    }
    // SdpError propagates: the SIP layer answers 488 (RFC 3261 §14.2) and the old media stays.
    const queued = this.media.queuedMs;
    const r = this.media.answerReOffer(remoteOffer);
    this.localSdp = r.sdp;
    this.syncRate(queued);
    return r.sdp;
  }

  /**
   * After a re-negotiation: if the codec's PCM rate is no longer the one promised at answer (e.g. an SBC
   * re-INVITE moves an L16/G.722 call to PCMU), bridge it with resamplers so the consumer's frames keep
   * their rate. Queued audio at the old rate was dropped by the media; report that as drained so a
   * consumer waiting for its prompt to finish does not wait forever.
   */
  private syncRate(queuedBefore: number): void {
    const rate = this.media.negotiated?.sampleRate;
    const legRate = this.legRate;
    if (rate === undefined || legRate === undefined) return;
    if (rate === legRate) this.bridge = undefined;
    else if (this.bridge?.mediaRate !== rate) {
      this.bridge = rateBridge(legRate, rate);
    }
    if (queuedBefore > 0 && this.media.queuedMs === 0) this.listeners.emit({ type: 'drained' });
  }

  private onOfferlessAnswer(answer: string | undefined): void {
    this.offerlessPending = false;
    if (answer === undefined) return; // ACK without the answer: keep the media as it was
    try {
      const queued = this.media.queuedMs;
      this.media.update(this.media.negotiateAnswer(answer));
      this.syncRate(queued);
    } catch (err) {
      this.endAnswered({ reason: `sdp_negotiation_failed: re-INVITE answer: ${describe(err)}`, by: 'error', outcome: 'failed' });
    }
  }

  // ---------------------------------------------------------------- the one way out

  private async finish(ev: EndedEvent): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    this.offCall();
    for (const off of this.offMedia) off();
    try {
      await this.media.close(this.override?.reason);
    } catch (err) {
      process.emitWarning(`CallLeg: closing media failed: ${String(err)}`);
    }
    const o = this.override;
    const ended: LegEnded = o
      ? {
          type: 'ended',
          sipStatusCode: ev.sipStatusCode,
          // rtp_timeout stays a bare machine-readable reason; a negotiation failure says how we hung up.
          reason: o.reason === 'rtp_timeout' ? o.reason : `${o.reason}; hung up: ${ev.reason}`,
          by: o.by,
          outcome: o.outcome,
        }
      : { type: 'ended', sipStatusCode: ev.sipStatusCode, reason: ev.reason, by: ev.by, outcome: ev.outcome };
    this.listeners.end(ended);
    this.resolveEnded(ended);
  }
}
