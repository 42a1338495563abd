/**
 * Public surface of the telephony layer. The platform drives calls through CallLeg (SIP + media);
 * the layers underneath stay importable for workers that need them (UserAgent, PortPool, PacingClock).
 */
export { CallLeg } from './call-leg.js';
export { InboundLeg, type InboundLegOptions } from './inbound-leg.js';
export { chooseAnswerCodec, WIDEBAND_ANSWER_PREFERENCE, type AudioCodecToken } from './answer-codec.js';
export type { CallLegOptions, LegEvent, LegEnded, LegOutcome } from './leg-events.js';
export {
  UserAgent,
  InboundCall,
  mapOutcome,
  type UserAgentOptions,
  type UserAgentListenOptions,
  type UserAgentStats,
  type DialOptions,
  type CallOutcome,
  type EndedBy,
  type SipTarget,
  type CustomHeader,
  type DigestCredentials,
  type Logger,
} from './sip/index.js';
export { PacingClock, PortPool, PortPoolExhaustedError, type MediaSessionStats, type PacingClockStats } from './rtp/index.js';
export { SdpError, type SdpErrorCode, type NegotiatedMedia } from './sdp/index.js';
