import { ProviderError } from '../errors.js';

/** A 429: `retryAfterSeconds` when the server said how long to wait (Retry-After, retry-after-ms). */
export class ProviderRateLimitedError extends ProviderError {
  constructor(
    message: string,
    retryable: boolean,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super('provider_rate_limited', message, retryable);
  }
}

interface VendorError {
  message?: string;
  type?: string;
  code?: string;
}

/**
 * Reads the vendor's error body. OpenAI documents `{"error": {"message", "type", "code"}}`; vLLM
 * answers `{"object": "error", "message", "type", "code"}` and Ollama `{"error": "text"}`, so all
 * three shapes are understood. Anything else is shown as (truncated) text.
 */
export function parseVendorError(body: string): VendorError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.trim() === '' ? {} : { message: body.trim() };
  }
  if (typeof parsed !== 'object' || parsed === null) return { message: String(parsed) };
  const top = parsed as Record<string, unknown>;
  const inner = typeof top.error === 'object' && top.error !== null ? (top.error as Record<string, unknown>) : top;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
  const out: VendorError = {};
  const message = typeof top.error === 'string' ? top.error : str(inner.message);
  if (message !== undefined) out.message = message;
  const type = str(inner.type);
  if (type !== undefined) out.type = type;
  const code = str(inner.code);
  if (code !== undefined) out.code = code;
  return out;
}

/** Removes the key from any text we are about to put in an error (OpenAI echoes part of a bad key). */
export function redact(text: string, secret: string | undefined): string {
  if (secret === undefined || secret.length < 4) return text;
  return text.split(secret).join('[redacted]');
}

/** Seconds to wait from `retry-after-ms` (OpenAI) or `retry-after` (RFC 9110: seconds or an HTTP date). */
export function retryAfterSeconds(headers: Headers, nowMs: number): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms / 1000;
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - nowMs) / 1000);
}

const MAX_MESSAGE = 400;

/** Maps a non-2xx answer to a ProviderError the runtime can act on (retry, fall back, or give up). */
export function errorFromResponse(
  provider: string,
  status: number,
  headers: Headers,
  body: string,
  secret: string | undefined,
  nowMs: number = Date.now(),
): ProviderError {
  const v = parseVendorError(body);
  const detail = [v.type && `type ${v.type}`, v.code && `code ${v.code}`].filter(Boolean).join(', ');
  let text = `${provider}: HTTP ${status}${v.message ? `: ${v.message}` : ''}${detail ? ` (${detail})` : ''}`;
  text = redact(text, secret);
  if (text.length > MAX_MESSAGE) text = `${text.slice(0, MAX_MESSAGE)}...`;
  if (status === 401 || status === 403) return new ProviderError('provider_auth_failed', text, false);
  if (status === 429) {
    const wait = retryAfterSeconds(headers, nowMs);
    // OpenAI answers 429 insufficient_quota when the account is out of credit: waiting won't help.
    const retryable = v.code !== 'insufficient_quota' && v.type !== 'insufficient_quota';
    return new ProviderRateLimitedError(wait === undefined ? text : `${text}; retry after ${wait} s`, retryable, wait);
  }
  if (status === 408) return new ProviderError('provider_timeout', text, true);
  if (status >= 500) return new ProviderError('provider_failed', text, true);
  if (status >= 400) return new ProviderError('provider_bad_request', text, false);
  return new ProviderError('provider_failed', text, false);
}
