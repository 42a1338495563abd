/**
 * Small pieces the cloud TTS adapters share: turning vendor bytes into PCM16 samples at the leg's
 * rate, the two timeouts every streaming synthesis has, and their settings.
 */
import { Resampler } from '../../media/resampler.js';
import type { Clock, TimerHandle } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { ProviderRateLimitedError, redact, retryAfterSeconds } from '../llm/http-errors.js';
import { numberOption, type ResolvedProviderSettings } from '../settings.js';

/**
 * Little-endian 16-bit samples from a byte stream. A network chunk may end in the middle of a
 * sample, so the odd byte is carried over to the next chunk instead of being dropped or misread.
 */
export class Pcm16leBytes {
  #odd: number | undefined;

  push(chunk: Uint8Array): Int16Array {
    let bytes = chunk;
    if (this.#odd !== undefined) {
      const joined = new Uint8Array(chunk.length + 1);
      joined[0] = this.#odd;
      joined.set(chunk, 1);
      bytes = joined;
      this.#odd = undefined;
    }
    if (bytes.length % 2 === 1) {
      this.#odd = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const out = new Int16Array(bytes.length / 2);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
    return out;
  }

  /** Whether a half sample is still waiting (a stream that ended here was cut). */
  get pending(): boolean {
    return this.#odd !== undefined;
  }
}

/**
 * A vendor's audio stream at the leg's rate: passed through when the vendor produced that rate, else
 * resampled on the fly (chunks of any size, flushed at the end; no 20 ms framing: the playout frames).
 */
export class VendorAudioResampler {
  readonly #resampler: Resampler | undefined;

  constructor(from: number, to: number) {
    this.#resampler = from === to ? undefined : new Resampler(from, to);
  }

  get resampling(): boolean {
    return this.#resampler !== undefined;
  }

  process(pcm: Int16Array): Int16Array {
    return this.#resampler ? this.#resampler.process(pcm) : pcm;
  }

  flush(): Int16Array {
    return this.#resampler ? this.#resampler.flush() : new Int16Array(0);
  }
}

/**
 * The vendor rate to ask for: the leg's own rate when the vendor makes it (no resampling hop),
 * else the lowest native rate above it (least work, no lost band), else the highest it has.
 */
export function pickVendorRate(native: readonly number[], want: number): number {
  if (native.includes(want)) return want;
  const sorted = [...native].sort((a, b) => a - b);
  return sorted.find((r) => r > want) ?? (sorted[sorted.length - 1] as number);
}

export interface TtsTimeouts {
  /** From starting the request to the first audio: a caller is waiting in silence. */
  firstAudioMs: number;
  /** Longest gap between two pieces of audio once it has started. */
  idleMs: number;
}

/** `first_audio_timeout_ms` (default 5000) and `idle_timeout_ms` (default 10000), both > 0. */
export function ttsTimeouts(s: ResolvedProviderSettings): TtsTimeouts {
  const positive = (key: string, dflt: number) => {
    const v = numberOption(s, key);
    if (v !== undefined && v <= 0) throw new ProviderError('provider_bad_request', `${s.provider} option ${key} must be > 0, got ${v}`, false);
    return v ?? dflt;
  };
  return { firstAudioMs: positive('first_audio_timeout_ms', 5000), idleMs: positive('idle_timeout_ms', 10_000) };
}

/**
 * One armed timer at a time: first audio, then idle. When it fires it records a provider_timeout
 * and calls `onFire` (which closes the connection so the waiting read ends).
 */
export class SynthesisTimer {
  #timer: TimerHandle | undefined;
  fired: ProviderError | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly name: string,
    private readonly onFire: () => void,
  ) {}

  arm(ms: number, what: string): void {
    this.clear();
    this.#timer = this.clock.setTimer(ms, () => {
      this.#timer = undefined;
      this.fired = new ProviderError('provider_timeout', `${this.name}: ${what} within ${ms} ms`, true);
      this.onFire();
    });
  }

  clear(): void {
    if (this.#timer) this.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }
}

/** A settings string option restricted to some values. */
export function oneOf<T extends string>(s: ResolvedProviderSettings, key: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ProviderError('provider_bad_request', `${s.provider} option ${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, false);
  }
  return value as T;
}

/** `en-US` -> `en`: the vendors here take ISO 639-1 language codes. */
export function iso639_1(language: string | undefined): string | undefined {
  if (language === undefined || language === '') return undefined;
  return language.split(/[-_]/)[0]?.toLowerCase();
}

/** A wss:// URL from a base the agent gave, accepting http(s):// too; trailing slashes dropped. */
export function wsBase(base: string): string {
  return base.replace(/\/+$/, '').replace(/^http(s?):\/\//, 'ws$1://');
}

const MAX_MESSAGE = 400;

/**
 * A vendor's HTTP refusal (a plain POST, or a WebSocket upgrade answered with a status) as the
 * runtime's error: 401/403 auth, 429 rate limit with the server's wait, 408 timeout, 5xx
 * unavailable (retryable), other 4xx bad request. `message` is the vendor's own words.
 */
export function statusError(
  name: string,
  status: number,
  headers: Headers,
  message: string | undefined,
  secret: string | undefined,
  opts: { nowMs?: number; quotaExhausted?: boolean } = {},
): ProviderError {
  let text = redact(`${name}: HTTP ${status}${message ? `: ${message}` : ''}`, secret);
  if (text.length > MAX_MESSAGE) text = `${text.slice(0, MAX_MESSAGE)}...`;
  if (status === 401 || status === 403) return new ProviderError('provider_auth_failed', text, false);
  if (status === 429) {
    const wait = retryAfterSeconds(headers, opts.nowMs ?? Date.now());
    // An account out of credit answers 429 too; waiting will not help it.
    return new ProviderRateLimitedError(wait === undefined ? text : `${text}; retry after ${wait} s`, opts.quotaExhausted !== true, wait);
  }
  if (status === 408) return new ProviderError('provider_timeout', text, true);
  if (status >= 500) return new ProviderError('provider_unavailable', text, true);
  if (status >= 400) return new ProviderError('provider_bad_request', text, false);
  return new ProviderError('provider_failed', text, true);
}

/** A vendor's JSON message as an object; anything else is a provider_failed (never a crash). */
export function parseJsonObject(name: string, text: string): Record<string, unknown> {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new ProviderError('provider_failed', `${name}: a message that is not JSON`, true);
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new ProviderError('provider_failed', `${name}: a message that is not a JSON object`, true);
  return m as Record<string, unknown>;
}

/** Standard base64 (RFC 4648 section 4), as the vendors send audio in JSON. */
export function isBase64(v: unknown): v is string {
  return typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v);
}
