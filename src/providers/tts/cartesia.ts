/**
 * Cartesia text to speech over its WebSocket (https://docs.cartesia.ai/api-reference/tts/websocket):
 * `wss://api.cartesia.ai/tts/websocket` with `Authorization: Bearer <key>` and `Cartesia-Version`
 * headers (https://docs.cartesia.ai/api-reference, "API Conventions"; headers rather than query
 * parameters so the key never sits in a URL). One request message per utterance:
 * `{model_id, transcript, voice: {mode: "id", id}, output_format: {container: "raw", encoding:
 * "pcm_s16le", sample_rate}, context_id, continue: false, language?}`; the server answers
 * `{"type": "chunk", "data": base64}` messages, then `{"type": "done"}`, or
 * `{"type": "error", "done": true, ...}` (`error` + `status_code` in older versions, `title`,
 * `message`, `error_code` in newer ones; both are read). Timestamps and flush_done are ignored.
 *
 * Connections are kept between utterances (pooled-synthesis.ts): one utterance at a time per
 * connection, a new context_id each; a clean `done` or a barge-in (the documented cancel for the
 * context) leaves the connection for the next one; an error, a timeout, a malformed message or a
 * lost connection closes it. The reference recommends "many generations over a single WebSocket"
 * with a context per generation; the socket also multiplexes contexts, but a connection here
 * serves one synthesis at a time, so one call's broken socket never fails another call's audio.
 *
 * Rates: raw pcm_s16le at any sample_rate the docs list (8000 to 48000), so every leg gets its
 * own rate straight from the vendor: no resampling at all.
 */
import { realClock, type Clock } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { ProviderRateLimitedError, parseVendorError, redact } from '../llm/http-errors.js';
import { requireApiKey, stringOption, type ResolvedProviderSettings } from '../settings.js';
import { isBase64, parseJsonObject, Pcm16leBytes, iso639_1, statusError, ttsTimeouts, wsBase, type TtsTimeouts } from './cloud-audio.js';
import { pooledSynthesis, type ContextProtocol } from './pooled-synthesis.js';
import type { TtsProvider, TtsRequest } from './types.js';
import { WsChannel } from './ws-channel.js';
import { WsPool } from './ws-pool.js';

export const CARTESIA_BASE_URL = 'wss://api.cartesia.ai';
export const CARTESIA_DEFAULT_MODEL = 'sonic-3';
/** The API version this adapter was written against (the dated reference it follows). */
export const CARTESIA_VERSION = '2026-03-01';
/** A stock voice from Cartesia's own SDK examples. */
export const CARTESIA_DEFAULT_VOICE = '6ccbfb76-1fc6-48f7-b71d-91ac6298247b';
export const CARTESIA_RATES = [8000, 16000, 22050, 24000, 44100, 48000] as const;

/**
 * Idle connections are closed after this long. Cartesia closes idle WebSockets after 5 minutes
 * (https://docs.cartesia.ai/use-the-api/concurrency-limits-and-timeouts, "WebSocket timeouts");
 * well under it, so a pooled connection is rarely one the server is about to drop, and a quiet
 * worker does not hold sockets that count against the account's WebSocket limit (the same page:
 * parallel connections are limited to 10x the concurrency limit).
 */
export const CARTESIA_POOL_IDLE_MS = 30_000;
/** Idle connections kept per (url, key, version); more are closed when they come back. */
export const CARTESIA_POOL_MAX_IDLE = 4;

/** Idle connections by endpoint, key and version (one set per worker thread). */
const pool = new WsPool({ idleMs: CARTESIA_POOL_IDLE_MS, maxIdle: CARTESIA_POOL_MAX_IDLE });

export interface CartesiaTtsOptions {
  apiKey: string;
  /** Scheme and host, e.g. wss://api.cartesia.ai */
  baseUrl?: string;
  model?: string;
  voice?: string;
  /** ISO 639-1, e.g. en. */
  language?: string;
  version?: string;
  timeouts?: TtsTimeouts;
  clock?: Clock;
}

export class CartesiaTts implements TtsProvider {
  readonly name = 'cartesia';
  readonly capabilities = { streaming: true, nativeSampleRates: CARTESIA_RATES };
  private readonly clock: Clock;
  private readonly timeouts: TtsTimeouts;
  readonly url: string;

  constructor(private readonly opts: CartesiaTtsOptions) {
    this.clock = opts.clock ?? realClock;
    this.timeouts = opts.timeouts ?? { firstAudioMs: 5000, idleMs: 10_000 };
    this.url = `${wsBase(opts.baseUrl ?? CARTESIA_BASE_URL)}/tts/websocket`;
  }

  request(req: TtsRequest, contextId: string): Record<string, unknown> {
    const msg: Record<string, unknown> = {
      model_id: this.opts.model ?? CARTESIA_DEFAULT_MODEL,
      transcript: req.text,
      voice: { mode: 'id', id: req.voice ?? this.opts.voice ?? CARTESIA_DEFAULT_VOICE },
      output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: req.sampleRate },
      context_id: contextId,
      continue: false,
    };
    if (this.opts.language) msg.language = this.opts.language;
    return msg;
  }

  /** Opens the connection ahead of the next utterance (the reference: "set up the WebSocket before the first generation"). */
  prepare(): void {
    pool.warm(this.poolKey, () => this.connect(), this.clock, this.timeouts.firstAudioMs);
  }

  private get poolKey(): string {
    return WsPool.key(this.url, this.opts.apiKey, this.opts.version ?? CARTESIA_VERSION);
  }

  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    const secret = this.opts.apiKey;
    const bytes = new Pcm16leBytes();
    const audio = pooledSynthesis({
      pool,
      key: this.poolKey,
      connect: () => this.connect(),
      protocol: this.protocol(req, secret),
      clock: this.clock,
      timeouts: this.timeouts,
      secret,
      signal: req.signal,
    });
    for await (const raw of audio) {
      const pcm = bytes.push(raw);
      if (pcm.length > 0) yield pcm;
    }
  }

  private protocol(req: TtsRequest, secret: string): ContextProtocol {
    const name = this.name;
    return {
      name,
      start: (contextId) => [this.request(req, contextId)],
      read: (text, contextId) => {
        const m = this.parse(text);
        // Responses name their context (the reference: "responses for a context contain the
        // context_id you passed in"): late pieces of a cancelled earlier utterance are not ours.
        if (m.context_id !== undefined && m.context_id !== contextId) return { kind: 'other' };
        if (m.type === 'error' || (typeof m.error === 'string' && m.type === undefined)) throw messageError(name, m, secret);
        const done = m.type === 'done' || m.done === true;
        if (m.type === 'chunk' && typeof m.data === 'string') return { kind: 'audio', audio: Buffer.from(m.data, 'base64'), done };
        return done ? { kind: 'done' } : { kind: 'none' };
      },
      // Barge-in: the documented cancel for the context (`{"context_id": ..., "cancel": true}`,
      // in the reference's messages) stops the vendor generating it.
      cancel: (contextId) => ({ context_id: contextId, cancel: true }),
      rejected: (ev) => {
        const v = parseVendorError(ev.body);
        return statusError(name, ev.status, ev.headers, [v.message, v.code].filter(Boolean).join(' ') || undefined, secret);
      },
      closed: (ev) => new ProviderError('provider_failed', redact(`${name}: the connection closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''}) before the audio was complete`, secret), true),
    };
  }

  private connect(): WsChannel {
    return new WsChannel(this.url, { authorization: `Bearer ${this.opts.apiKey}`, 'cartesia-version': this.opts.version ?? CARTESIA_VERSION });
  }

  private parse(text: string): Record<string, unknown> {
    const m = parseJsonObject(this.name, text);
    const data = (m as { data?: unknown }).data;
    if ((m as { type?: unknown }).type === 'chunk' && !isBase64(data)) {
      throw new ProviderError('provider_failed', `${this.name}: a chunk whose data is not base64`, true);
    }
    return m;
  }
}

/** An error message on the socket: by its status_code when it has one, else by its error_code. */
function messageError(name: string, m: Record<string, unknown>, secret: string): ProviderError {
  const s = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const words = [s(m.title), s(m.message) ?? s(m.error), s(m.error_code) && `(${s(m.error_code)})`].filter(Boolean).join(' ') || 'unknown error';
  const status = typeof m.status_code === 'number' ? m.status_code : undefined;
  const code = (s(m.error_code) ?? '').toLowerCase();
  const text = redact(`${name}: ${words}`, secret).slice(0, 400);
  // An account out of credit, whatever status it comes with: waiting will not help.
  if (/quota|credit/.test(code)) return new ProviderRateLimitedError(text, false, undefined);
  if (status !== undefined && status >= 400) return statusError(name, status, new Headers(), words, secret);
  if (/auth|api_key|unauthori/.test(code)) return new ProviderError('provider_auth_failed', text, false);
  if (/rate|concurren/.test(code)) return new ProviderRateLimitedError(text, true, undefined);
  if (/not_found|invalid|unsupported/.test(code)) return new ProviderError('provider_bad_request', text, false);
  return new ProviderError('provider_failed', text, true);
}

/** Checks an agent's Cartesia settings without the network (model and voice names are not checked). */
export function checkCartesiaTtsSettings(s: ResolvedProviderSettings): Omit<CartesiaTtsOptions, 'apiKey' | 'clock'> {
  const out: Omit<CartesiaTtsOptions, 'apiKey' | 'clock'> = { timeouts: ttsTimeouts(s) };
  const version = stringOption(s, 'cartesia_version');
  if (version !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(version)) throw new ProviderError('provider_bad_request', `cartesia option cartesia_version must be a date (YYYY-MM-DD), got ${JSON.stringify(version)}`, false);
    out.version = version;
  }
  if (s.base_url) out.baseUrl = s.base_url;
  if (s.model) out.model = s.model;
  if (s.voice) out.voice = s.voice;
  const lang = iso639_1(s.language);
  if (lang) out.language = lang;
  return out;
}

export function createCartesiaTts(s: ResolvedProviderSettings, extra: { clock?: Clock } = {}): CartesiaTts {
  const opts: CartesiaTtsOptions = { ...checkCartesiaTtsSettings(s), apiKey: requireApiKey('tts', s) };
  if (extra.clock) opts.clock = extra.clock;
  return new CartesiaTts(opts);
}
