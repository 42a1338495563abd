/**
 * RTP media for call legs.
 *
 * Contract (what the call-leg integration composes with the SIP UA):
 * - `const s = await MediaSession.open({ localAddress, advertiseAddress?, portPool, codecs?, clock? })`
 *   binds an even RTP port (RTCP on +1). `s.localPort`.
 * - SDP: `s.offer()` → our INVITE body; `s.negotiateAnswer(answerSdp)` → NegotiatedMedia (throws
 *   SdpError); `s.start(negotiated)`. Mid-call re-INVITE: `s.answerReOffer(offerSdp)` → { sdp, media }
 *   (applies it), or compute with sdp/answerOffer and call `s.update(media)`.
 * - Audio out: `s.write(pcm)` (PCM16 at negotiated.sampleRate, 20 ms frames), `s.clear()` → ms dropped,
 *   `s.playedMs`, `s.queuedMs`. With nothing queued the leg sends encoded silence (keeps NAT open).
 * - Audio in: `s.on('frame', e => e.frame)` one 20 ms frame per tick after the jitter buffer.
 * - DTMF: `s.sendDtmf('123#', 100)` (RFC 4733), `s.on('dtmf', e => e.digit)`.
 * - Other events (MediaEvent union): 'dtmf-sent' | 'drained' | 'rtp-timeout' | 'remote-latched' | 'rtcp'
 *   | 'remote-bye' | 'socket-error'; `s.on('*', e => ...)` gets all.
 * - `s.stats()` counters; `await s.close()` (RTCP BYE, frees the port).
 * - One `PacingClock.shared()` per process paces every leg; inject `new PacingClock({ time: new
 *   VirtualClock({ nodeRounding: true }) })` (test/helpers/virtual-clock.ts) in tests.
 */
export { MediaSession, type MediaSessionOptions } from './media-session.js';
export {
  type MediaEvent,
  type MediaEventType,
  type MediaSessionStats,
  histogramPercentile,
  DEVIATION_BUCKET_MS,
} from './media-events.js';
export { mediaQualityOf, type MediaQuality } from './media-quality.js';
export { PacingClock, LegSchedule, type PacedLeg, type PacingRegistration, type PacingClockOptions, type PacingClockStats } from './pacing-clock.js';
export { PortPool, PortPoolExhaustedError, type PortPoolOptions } from './port-pool.js';
export { parseRtp, serializeRtp, buildRtp, rtpPacketSize, looksLikeRtcp, type RtpHeader, type RtpPacket, type RtpParseResult, type RtpParseError } from './packet.js';
export { parseRtcp, buildRtcpCompound, toNtp, ntpMiddle, type RtcpPacket, type ReportBlock, type SenderInfo, type RtcpParseResult } from './rtcp.js';
export { JitterBuffer, type JitterBufferOptions, type JitterPop, type JitterBufferStats } from './jitter-buffer.js';
export {
  DtmfSender,
  DtmfReceiver,
  encodeTelephoneEvent,
  decodeTelephoneEvent,
  digitToEvent,
  eventToDigit,
  DTMF_DIGITS,
  type TelephoneEvent,
  type DtmfPacket,
  type DtmfReceived,
} from './dtmf.js';
export { ReceiverStats } from './receiver-stats.js';
