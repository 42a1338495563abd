/** A provider failure the voice runtime can act on: a stable code, and whether trying again may help. */
export type ProviderErrorCode =
  | 'provider_unavailable' // the engine or service cannot be reached or started
  | 'provider_timeout'
  | 'provider_rate_limited'
  | 'provider_auth_failed'
  | 'provider_bad_request'
  | 'provider_failed' // it started and then failed
  | 'unsupported_audio'; // e.g. a recognizer given a sample rate it has no model for

export class ProviderError extends Error {
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
  }
}
