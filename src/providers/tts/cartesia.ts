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
 * Connections are kept between utterances (see the pool below): one utterance at a time per
 * connection, a new context_id each; a clean `done` or a barge-in (the documented cancel for the
 * context) leaves the connection for the next one; an error, a timeout, a malformed message or a
 * lost connection closes it. A pooled connection that turns out dead before any audio of the
 * request is replaced once, transparently.
 *
 * Rates: raw pcm_s16le at any sample_rate the docs list (8000 to 48000), so every leg gets its
 * own rate straight from the vendor: no resampling at all.
 */
import { createHash, randomUUID } from 'node:crypto';
import { realClock, type Clock, type TimerHandle } from '../../telephony/clock.js';
import { ProviderError } from '../errors.js';
import { ProviderRateLimitedError, parseVendorError, redact } from '../llm/http-errors.js';
import { requireApiKey, stringOption, type ResolvedProviderSettings } from '../settings.js';
import { isBase64, parseJsonObject, Pcm16leBytes, SynthesisTimer, iso639_1, statusError, ttsTimeouts, wsBase, type TtsTimeouts } from './cloud-audio.js';
import type { TtsProvider, TtsRequest } from './types.js';
import { WsChannel, socketFailure } from './ws-channel.js';

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

interface IdleConnection {
  ch: WsChannel;
  clock: Clock;
  timer: TimerHandle;
}

/**
 * Open connections waiting for the next utterance, by endpoint, key and version. Module state, so
 * one pool per worker thread (each has its own module instances). The reference recommends "many
 * generations over a single WebSocket" with a context per generation
 * (https://docs.cartesia.ai/api-reference/tts/websocket): that saves the TCP + TLS + upgrade set-up
 * on every agent turn. The socket also multiplexes contexts, but here a connection serves one
 * synthesis at a time, so one call's broken socket never fails another call's audio.
 */
const idle = new Map<string, IdleConnection[]>();

function poolKey(url: string, apiKey: string, version: string): string {
  // A digest, so the map's keys are not one more place the key sits in clear.
  return `${url}\n${createHash('sha256').update(apiKey).digest('hex')}\n${version}`;
}

function forget(key: string, c: IdleConnection): boolean {
  const list = idle.get(key);
  const i = list?.indexOf(c) ?? -1;
  if (!list || i < 0) return false;
  list.splice(i, 1);
  if (list.length === 0) idle.delete(key);
  c.clock.clearTimer(c.timer);
  return true;
}

/** The most recently used idle connection still open (warmest), or none. */
function checkOut(key: string): { ch: WsChannel; reused: true } | undefined {
  for (let c = idle.get(key)?.at(-1); c !== undefined; c = idle.get(key)?.at(-1)) {
    forget(key, c);
    c.ch.setIdle(false);
    // What arrived while idle belongs to earlier contexts; a connection that died meanwhile goes.
    if (c.ch.discardPending()) return { ch: c.ch, reused: true };
    c.ch.terminate();
  }
  return undefined;
}

function checkIn(key: string, ch: WsChannel, clock: Clock): void {
  const list = idle.get(key) ?? [];
  if (list.length >= CARTESIA_POOL_MAX_IDLE) {
    ch.close();
    return;
  }
  const c: IdleConnection = {
    ch,
    clock,
    timer: clock.setTimer(CARTESIA_POOL_IDLE_MS, () => {
      if (forget(key, c)) ch.close();
    }),
  };
  list.push(c);
  idle.set(key, list);
  ch.setIdle(true, () => {
    if (forget(key, c)) ch.terminate();
  });
}

/** Closes every idle pooled Cartesia connection of this thread (shutdown, tests). */
export function closeIdleCartesiaConnections(): void {
  for (const [key, list] of [...idle]) {
    for (const c of [...list]) if (forget(key, c)) c.ch.close();
  }
}

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

  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    if (req.signal?.aborted) return;
    const secret = this.opts.apiKey;
    const key = poolKey(this.url, secret, this.opts.version ?? CARTESIA_VERSION);
    let conn = checkOut(key) ?? { ch: this.connect(), reused: false };
    const timer = new SynthesisTimer(this.clock, this.name, () => conn.ch.terminate());
    // A fresh context per utterance (the docs: "each turn in a conversation should correspond to
    // a context"); every message this reader acts on must carry it or no context at all.
    const contextId = randomUUID();
    const bytes = new Pcm16leBytes();
    let audio = false;
    /** The request went out on the current connection (a cancel is owed if we stop early). */
    let sent = false;
    /** How the connection is left: kept for the next utterance, or closed. */
    let outcome: 'done' | 'abandoned' | 'failed' = 'abandoned';
    try {
      timer.arm(this.timeouts.firstAudioMs, 'no first audio');
      if (conn.reused) {
        conn.ch.send(this.request(req, contextId));
        sent = true;
      }
      for (;;) {
        if (audio) timer.arm(this.timeouts.idleMs, 'no audio');
        const ev = await conn.ch.next(req.signal);
        if (audio) timer.clear();
        if (req.signal?.aborted || ev.type === 'interrupted') return;
        if (timer.fired) throw timer.fired;
        // A pooled connection the server closed while it sat idle (its idle limit, a deploy): it
        // fails on first use. Nothing of this request was heard yet, so once, on a new connection.
        if (conn.reused && !audio && (ev.type === 'close' || ev.type === 'failed')) {
          conn.ch.terminate();
          conn = { ch: this.connect(), reused: false };
          sent = false;
          continue;
        }
        switch (ev.type) {
          case 'open':
            conn.ch.send(this.request(req, contextId));
            sent = true;
            break;
          case 'text': {
            const m = this.parse(ev.text);
            // Responses name their context (the reference: "responses for a context contain the
            // context_id you passed in"): late pieces of a cancelled earlier utterance on this
            // connection are not ours.
            if (m.context_id !== undefined && m.context_id !== contextId) break;
            if (m.type === 'error' || (typeof m.error === 'string' && m.type === undefined)) throw messageError(this.name, m, secret);
            if (m.type === 'chunk' && typeof m.data === 'string') {
              const pcm = bytes.push(Buffer.from(m.data, 'base64'));
              if (pcm.length > 0) {
                if (!audio) timer.clear();
                audio = true;
                yield pcm;
                if (req.signal?.aborted) return;
              }
            }
            if (m.type === 'done' || m.done === true) {
              if (!audio) throw new ProviderError('provider_failed', `${this.name}: done without any audio`, true);
              outcome = 'done';
              return;
            }
            break;
          }
          case 'binary':
            throw new ProviderError('provider_failed', `${this.name}: unexpected binary frame (the protocol sends JSON)`, true);
          case 'rejected': {
            const v = parseVendorError(ev.body);
            throw statusError(this.name, ev.status, ev.headers, [v.message, v.code].filter(Boolean).join(' ') || undefined, secret);
          }
          case 'failed':
            throw socketFailure(this.name, ev, secret);
          case 'close':
            throw new ProviderError('provider_failed', redact(`${this.name}: the connection closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''}) before the audio was complete`, secret), true);
          case 'stopped':
            return;
        }
      }
    } catch (err) {
      outcome = 'failed';
      throw err;
    } finally {
      timer.clear();
      const { ch } = conn;
      if (outcome === 'failed' || !ch.open) ch.terminate();
      else if (outcome === 'done') checkIn(key, ch, this.clock);
      else if (sent) {
        // Barge-in (or the consumer stopped reading): the documented cancel for this context
        // (`{"context_id": ..., "cancel": true}`, in the reference's messages) stops the vendor
        // generating it, and the connection serves the next utterance; whatever of this context
        // is still on the wire is skipped by the next reader's context_id check.
        ch.send({ context_id: contextId, cancel: true });
        checkIn(key, ch, this.clock);
      } else checkIn(key, ch, this.clock);
    }
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
