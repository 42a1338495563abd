/** Public surface of the SIP layer (RFC 3261 UAC, and a UAS for incoming calls): what the call-leg composition and the workers import. */
export { UserAgent, type UserAgentOptions, type UserAgentListenOptions, type UserAgentStats } from './user-agent.js';
export { OutboundCall, type CallState } from './call.js';
export { Registration, type RegistrationOptions, type RegistrationState, type RegistrationStatus } from './registration.js';
export { InboundCall, type InboundCallState, type InboundEvent, type InboundEnded } from './inbound-call.js';
export type { CallEvent, DialOptions, EndedBy, EndedEvent, ReinviteHook, SipTarget, CustomHeader, TransportName } from './call-types.js';
export { mapOutcome, type CallOutcome, type OutcomeInput } from './outcome.js';
export type { DigestCredentials } from './digest.js';
export { UdpTransport, type UdpTransportOptions } from './udp-transport.js';
export { StreamTransport, type TcpTransportOptions, type TlsTransportOptions, type TlsClientTransportOptions } from './stream-transport.js';
export type { SipTransport, HostPort, SendTarget, TlsPeer, TransportProtocol, TransportStats } from './transport.js';
export { DEFAULT_TIMERS, type TimerConfig } from './timers.js';
export type { Logger } from './logger.js';
export { parseMessage } from './parser.js';
export { serializeMessage } from './serializer.js';
export type { SipMessage, SipRequest, SipResponse } from './message.js';
export type { SipParseError, Result } from './errors.js';
