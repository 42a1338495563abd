import type { CallOptions } from '../calls/call-object.js';

/** Everything a worker needs to place a claimed call, read in the claim transaction. */
export interface ClaimedCall {
  id: string;
  orgId: string;
  agentId: string;
  trunk: {
    id: string;
    host: string;
    port: number;
    transport: 'udp' | 'tcp' | 'tls';
    username: string | null;
    /** Encrypted (crypto/secret-box.ts); the dialer decrypts it just before authenticating. */
    passwordEnc: string | null;
    /** PEM trust anchors for its TLS server, besides the default CAs. */
    tlsCaPem: string | null;
    /** Its codec order (null: the worker's default). */
    codecs: string[] | null;
    /** SRTP for its calls' media (the trunk's media_encryption). */
    mediaEncryption: 'disabled' | 'optional' | 'required';
  };
  /** The call's own digest credentials, used instead of the trunk's (the password encrypted). */
  sipAuth: { username: string; passwordEnc: string } | null;
  fromNumber: string;
  to: string;
  options: CallOptions;
  callContext: string | null;
  dynamicVariables: Record<string, string>;
  metadata: unknown;
  /** The metadata's JSON text as the client sent it (null: none); http tools send it verbatim. */
  metadataJson?: string | null;
  scheduledAt: Date;
  workerId: string;
  leaseExpiresAt: Date;
  /** An inbound call: it rings here already (status ringing) and is answered, not dialed. */
  inbound?: boolean;
}

/**
 * Places a claimed call. The real implementation (SIP UA + media) is wired elsewhere.
 *
 * Contract:
 * - Immediately before sending the INVITE, call `beginDial` (dial-guard.ts) and send nothing when it
 *   returns false: the call was canceled or re-queued meanwhile. That check is what makes "never
 *   dial a number twice" hold.
 * - The returned promise settles when this worker no longer holds the call (it ended). While it is
 *   pending the dispatcher's heartbeat keeps the call's lease alive; if it rejects while the call is
 *   still `dispatching` (never dialed), the dispatcher ends the call `failed` / `dial_error`.
 */
export interface Dialer {
  dial(call: ClaimedCall): Promise<void>;
}

/** Structured logger (pino and Fastify's logger fit). */
export interface DispatchLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Writes to stderr, so that an error is never dropped when no logger is given. */
export const consoleLogger: DispatchLogger = {
  info: () => undefined,
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};
