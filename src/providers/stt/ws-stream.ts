import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { realClock, type Clock, type TimerHandle } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { errorFromResponse, redact } from '../llm/http-errors.js';
import { SttEventQueue } from './event-queue.js';
import type { SttEvent, SttStream } from './types.js';

/**
 * What every cloud recognizer reached over one WebSocket per stream has in common: connecting with
 * a deadline, holding audio pushed before the socket opens (the pipeline pushes synchronously right
 * after start()) and sending it in order once open, mapping a refused upgrade (401, 429 with
 * retry-after, 5xx) and a dropped connection to ProviderErrors, ending quietly and at once on
 * abort, and settling after end() within a deadline. Vendor adapters (deepgram.ts, openai.ts)
 * supply the protocol: the opening messages, how a frame is encoded, what a message means.
 */
export interface WsSttConfig {
  provider: string;
  url: string;
  headers: Record<string, string>;
  /** The API key: removed from every error message. */
  secret: string;
  /** The socket must be open within this long (a slow or black-holed endpoint is a timeout). */
  connectTimeoutMs: number;
  /** After end(), the vendor must settle (last result, close) within this long. */
  endTimeoutMs: number;
  clock?: Clock;
  signal?: AbortSignal;
  /** Rewrites a vendor's upgrade-error body into OpenAI's `{"error": {...}}` shape for errorFromResponse. */
  normalizeErrorBody?: (body: string) => string;
}

/** Unsent audio beyond this many bytes means the network cannot keep up with a live call. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;

export abstract class WsSttStream implements SttStream {
  protected readonly events = new SttEventQueue();
  protected readonly cfg: WsSttConfig;
  protected readonly clock: Clock;
  /** Samples pushed so far (at the stream's rate): the time base of results. */
  protected samples = 0;
  #ws: WebSocket | undefined;
  #pending: Array<string | Buffer> = [];
  #open = false;
  #ended = false;
  #done = false;
  #connectTimer: TimerHandle | undefined;
  #endTimer: TimerHandle | undefined;
  readonly #onAbort = () => this.#abort();

  constructor(cfg: WsSttConfig) {
    this.cfg = cfg;
    this.clock = cfg.clock ?? realClock;
  }

  /** Called by the subclass constructor once its own fields are set. */
  protected connect(): void {
    const signal = this.cfg.signal;
    if (signal?.aborted) return this.#finish(undefined);
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.cfg.url, { headers: this.cfg.headers, perMessageDeflate: false });
    } catch (err) {
      return this.#finish(new ProviderError('provider_bad_request', `${this.cfg.provider}: bad URL: ${this.#msg(err)}`, false, { cause: err }));
    }
    this.#ws = ws;
    this.#connectTimer = this.clock.setTimer(this.cfg.connectTimeoutMs, () => {
      this.#fail(new ProviderError('provider_timeout', `${this.cfg.provider}: the connection did not open within ${this.cfg.connectTimeoutMs} ms`, true));
    });
    ws.on('open', () => this.#onOpen());
    ws.on('message', (data, isBinary) => {
      if (this.#done || isBinary) return;
      try {
        this.onText(String(data));
      } catch (err) {
        // A frame we cannot understand (bad JSON, wrong shape) ends the stream as a failure, never a crash.
        this.#fail(err instanceof ProviderError ? err : new ProviderError('provider_failed', `${this.cfg.provider}: bad message from the server: ${this.#msg(err)}`, true));
      }
    });
    ws.on('unexpected-response', (req, res) => this.#onRefused(req, res));
    ws.on('error', (err) => {
      const failure = this.#open
        ? new ProviderError('provider_failed', `${this.cfg.provider}: connection failed mid-stream: ${this.#msg(err)}`, true, { cause: err })
        : new ProviderError('provider_unavailable', `${this.cfg.provider}: cannot connect: ${this.#msg(err)}`, true, { cause: err });
      this.#fail(failure);
    });
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString('utf8')));
  }

  [Symbol.asyncIterator](): AsyncIterator<SttEvent> {
    return this.events[Symbol.asyncIterator]();
  }

  get ended(): boolean {
    return this.#ended;
  }

  get done(): boolean {
    return this.#done;
  }

  push(frame: Int16Array): void {
    if (this.#ended || this.#done) return;
    this.samples += frame.length;
    for (const msg of this.encodeAudio(frame)) this.send(msg);
  }

  end(): void {
    if (this.#ended || this.#done) return;
    this.#ended = true;
    // While still connecting, the connect deadline runs first; the settle deadline starts after it.
    const wait = this.cfg.endTimeoutMs + (this.#open ? 0 : this.cfg.connectTimeoutMs);
    this.#endTimer = this.clock.setTimer(wait, () => {
      this.#fail(new ProviderError('provider_timeout', `${this.cfg.provider}: no final result within ${this.cfg.endTimeoutMs} ms after the end of the audio`, true));
    });
    this.onEnd();
  }

  /** Sends now when open, else queues in order behind the opening messages. */
  protected send(msg: string | Buffer): void {
    if (this.#done) return;
    const ws = this.#ws;
    if (!this.#open || !ws) {
      this.#pending.push(msg);
      return;
    }
    ws.send(msg);
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.#fail(new ProviderError('provider_failed', `${this.cfg.provider}: the network fell behind the audio (${ws.bufferedAmount} bytes unsent)`, true));
    }
  }

  protected emit(ev: SttEvent): void {
    if (!this.#done) this.events.emit(ev);
  }

  /** The stream is over: closes the socket and emits `closed` (after `error` when given). */
  protected finish(error?: ProviderError): void {
    this.#finish(error);
  }

  /** Messages sent first on open, before any queued audio (configuration). */
  protected abstract openingMessages(): Array<string | Buffer>;
  /** The wire messages for one frame (may be none while a codec fills). */
  protected abstract encodeAudio(frame: Int16Array): Array<string | Buffer>;
  /** One text message from the server. Throwing makes the stream fail with provider_failed. */
  protected abstract onText(text: string): void;
  /** end() was called: send the vendor's "no more audio" messages. */
  protected abstract onEnd(): void;
  /** The server closed the socket; undefined when this close is a clean end of the stream. */
  protected abstract closeError(code: number, reason: string): ProviderError | undefined;

  #onOpen(): void {
    const ws = this.#ws;
    if (this.#done || !ws) return;
    if (this.#connectTimer) this.clock.clearTimer(this.#connectTimer);
    this.#open = true;
    const queued = [...this.openingMessages(), ...this.#pending];
    this.#pending = [];
    for (const m of queued) this.send(m);
  }

  #onRefused(req: { destroy(): void }, res: IncomingMessage): void {
    const status = res.statusCode ?? 0;
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_ERROR_BODY) chunks.push(c);
    });
    const done = () => {
      req.destroy();
      let body = Buffer.concat(chunks).toString('utf8');
      if (this.cfg.normalizeErrorBody) body = this.cfg.normalizeErrorBody(body);
      const err = errorFromResponse(this.cfg.provider, status, headers, body, this.cfg.secret);
      // A 5xx at the upgrade means the service cannot take the stream now: unavailable, retryable.
      this.#fail(status >= 500 ? new ProviderError('provider_unavailable', err.message, true) : err);
    };
    res.once('end', done);
    res.once('error', done);
  }

  #onClose(code: number, reason: string): void {
    if (this.#done) return;
    const err = this.closeError(code, redact(reason, this.cfg.secret));
    if (err) return this.#finish(err);
    if (this.#ended) return this.#finish(undefined);
    // A clean close we did not ask for, before end(): the call is still talking, so it is a failure.
    this.#finish(new ProviderError('provider_failed', `${this.cfg.provider}: the server closed the stream (${code}${reason ? ` ${reason}` : ''}) while audio was still flowing`, true));
  }

  #abort(): void {
    if (this.#done) return;
    this.#finish(undefined);
  }

  #fail(err: ProviderError): void {
    this.#finish(err);
  }

  #finish(error: ProviderError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#connectTimer) this.clock.clearTimer(this.#connectTimer);
    if (this.#endTimer) this.clock.clearTimer(this.#endTimer);
    this.cfg.signal?.removeEventListener('abort', this.#onAbort);
    this.#pending = [];
    const ws = this.#ws;
    if (ws) {
      ws.removeAllListeners('message');
      ws.on('error', () => undefined); // late socket errors after we are done have nowhere to go
      // A clean close when the exchange finished; otherwise (abort, failure) drop the TCP connection at once.
      if (!error && this.#ended && ws.readyState === WebSocket.OPEN) ws.close(1000);
      else ws.terminate();
    }
    if (error) {
      // Messages are redacted where they are made; this is the last guard (it loses a 429's subclass, so only when needed).
      const safe = error.message.includes(this.cfg.secret) && this.cfg.secret.length >= 4
        ? new ProviderError(error.code, redact(error.message, this.cfg.secret), error.retryable)
        : error;
      this.events.emit({ type: 'error', error: safe });
    }
    this.events.emit({ type: 'closed' });
  }

  #msg(err: unknown): string {
    return redact(err instanceof Error ? err.message : String(err), this.cfg.secret);
  }
}

/** `https://x/v1` -> `wss://x/v1`, `http` -> `ws`; ws(s) URLs unchanged. */
export function toWsUrl(base: string): string {
  return base.replace(/^http(s?):\/\//i, (_m, s: string) => `ws${s}://`).replace(/\/+$/, '');
}
