/**
 * SDP offer/answer for the single audio stream of a call (RFC 4566 syntax, RFC 3264 model).
 *
 * Contract:
 * - `createOffer(spec: OfferSpec): string` — our INVITE body. Codec tokens in preference order:
 *   'PCMU' | 'PCMA' | 'G722' | 'L16/16000' | 'telephone-event' (one telephone-event PT per RTP clock
 *   rate: 101 for 8000, which also serves G.722, and 102 for L16/16000).
 * - `negotiate(spec, answerSdp): NegotiatedMedia` — after the 200 OK / reliable 18x answer.
 * - `answerOffer(remoteOfferSdp, local: AnswerLocal): { sdp, media, sessionId, sessionVersion }` — for
 *   a re-INVITE (hold/unhold/refresh/new address); keep sessionId and pass back the returned version
 *   and sdp as `sessionVersion`/`previousSdp` next time.
 * - Every failure is an `SdpError` with a stable `code` (SdpErrorCode); nothing else is thrown for
 *   remote input. NegotiatedMedia is plain data (safe to post to a worker thread) and is what
 *   `MediaSession.start()/update()` take.
 */
export { createOffer } from './offer.js';
export { negotiate } from './negotiate.js';
export { answerOffer, originOf, type AnswerLocal, type AnswerResult } from './answer.js';
export {
  SdpError,
  canSend,
  canReceive,
  type Direction,
  type NegotiatedMedia,
  type OfferCodecToken,
  type OfferSpec,
  type SdpErrorCode,
} from './types.js';
