/** Typed results for everything that parses untrusted input: malformed SIP never throws. */

export type ParseErrorCode =
  | 'empty'
  | 'start-line'
  | 'header-line'
  | 'missing-header'
  | 'bad-header'
  | 'bad-uri'
  /** A Request-URI of a scheme we do not serve (not sip, sips or tel): answered 416 (RFC 3261 §8.2.2.1). */
  | 'unsupported-uri-scheme'
  /** A request of a SIP version other than 2.0: answered 505 (RFC 3261 §21.5.7). */
  | 'sip-version'
  | 'content-length'
  | 'truncated-body'
  | 'too-large';

export interface SipParseError {
  readonly kind: 'sip-parse-error';
  readonly code: ParseErrorCode;
  readonly message: string;
}

export type Result<T, E = SipParseError> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail(code: ParseErrorCode, message: string): { ok: false; error: SipParseError } {
  return { ok: false, error: { kind: 'sip-parse-error', code, message } };
}
