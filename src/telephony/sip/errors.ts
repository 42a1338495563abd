/** Typed results for everything that parses untrusted input: malformed SIP never throws. */

export type ParseErrorCode =
  | 'empty'
  | 'start-line'
  | 'header-line'
  | 'missing-header'
  | 'bad-header'
  | 'bad-uri'
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
