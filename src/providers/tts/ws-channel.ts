/**
 * A vendor WebSocket read as a queue of events, so a TTS adapter can be written as one loop
 * (`await next()`) that an abort or a timeout ends by closing the socket. Every way the connection
 * can fail becomes an event carrying a ProviderError, never an uncaught 'error'.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { ProviderError } from '../errors.js';
import { redact } from '../llm/http-errors.js';

export type WsEvent =
  | { type: 'open' }
  | { type: 'text'; text: string }
  | { type: 'binary'; data: Buffer }
  /** The server refused the upgrade with an HTTP status (401, 429, 5xx...). */
  | { type: 'rejected'; status: number; headers: Headers; body: string }
  /** The socket could not be opened or failed (ECONNREFUSED, reset). */
  | { type: 'failed'; opened: boolean; error: Error }
  | { type: 'close'; code: number; reason: string }
  /** We closed it ourselves (abort, timeout, done). */
  | { type: 'stopped' }
  /** The signal given to next() was aborted while waiting; the channel itself is untouched. */
  | { type: 'interrupted' };

const MAX_REJECTION_BODY = 64 * 1024;

export class WsChannel {
  readonly #ws: WebSocket;
  readonly #queue: WsEvent[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #opened = false;
  #socket: Socket | undefined;
  #onClose: (() => void) | undefined;

  constructor(url: string, headers: Record<string, string>) {
    // No automatic redirects: a redirect could carry the key's header to another host.
    this.#ws = new WebSocket(url, { headers, perMessageDeflate: false, followRedirects: false });
    const ws = this.#ws;
    // The TCP (or TLS) socket under the WebSocket, so an idle pooled connection can be unref'd.
    ws.on('upgrade', (res: IncomingMessage) => {
      this.#socket = res.socket as Socket;
    });
    ws.on('open', () => {
      this.#opened = true;
      this.#push({ type: 'open' });
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      this.#push(isBinary ? { type: 'binary', data: buf } : { type: 'text', text: buf.toString('utf8') });
    });
    ws.on('unexpected-response', (req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_REJECTION_BODY) chunks.push(c);
        size += c.length;
      });
      const done = () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        this.#push({ type: 'rejected', status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_REJECTION_BODY) });
        req.destroy();
      };
      res.once('end', done);
      res.once('error', done);
    });
    ws.on('error', (error: Error) => this.#push({ type: 'failed', opened: this.#opened, error }));
    ws.on('close', (code: number, reason: Buffer) => {
      this.#push({ type: 'close', code, reason: reason.toString('utf8') });
      this.#onClose?.();
    });
  }

  /**
   * The next event; after the channel ended (close, failure, stop) it keeps answering 'stopped'.
   * With a signal, an abort while waiting answers 'interrupted' and leaves the socket open (a
   * caller that keeps connections for reuse decides itself what to do with it).
   */
  async next(signal?: AbortSignal): Promise<WsEvent> {
    for (;;) {
      const ev = this.#queue.shift();
      if (ev) return ev;
      if (this.#ended) return { type: 'stopped' };
      if (signal?.aborted) return { type: 'interrupted' };
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Open and not ended by us: a request sent now can be answered. */
  get open(): boolean {
    return !this.#ended && this.#ws.readyState === WebSocket.OPEN;
  }

  /**
   * Drops the messages that arrived while nobody was reading (an idle pooled connection: late
   * pieces of a cancelled generation). False when the connection failed or closed meanwhile.
   */
  discardPending(): boolean {
    const dead = this.#queue.some((ev) => ev.type !== 'text' && ev.type !== 'binary');
    this.#queue.length = 0;
    return !dead && this.open;
  }

  /**
   * An idle connection must not keep the process alive (its socket is unref'd while idle), and
   * `onClose` runs if the server closes it meanwhile (so a pool can forget it at once).
   */
  setIdle(idle: boolean, onClose?: () => void): void {
    if (idle) this.#socket?.unref();
    else this.#socket?.ref();
    this.#onClose = idle ? onClose : undefined;
  }

  send(message: unknown): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(message));
  }

  /** Polite close (the exchange is complete). */
  close(): void {
    this.#end();
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(1000);
    else this.#ws.terminate();
  }

  /** Closes at once, without the closing handshake (abort, timeout, protocol error). */
  terminate(): void {
    this.#end();
    this.#ws.terminate();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue.length = 0;
    this.#queue.push({ type: 'stopped' });
    this.#wakeUp();
  }

  #push(ev: WsEvent): void {
    if (this.#ended) return;
    this.#queue.push(ev);
    this.#wakeUp();
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}

/** A failure to reach the vendor or a connection lost mid-stream, as the runtime's error. */
export function socketFailure(name: string, ev: { opened: boolean; error: Error }, secret: string | undefined): ProviderError {
  const cause = (ev.error as NodeJS.ErrnoException).code ?? ev.error.message;
  const what = ev.opened ? 'the connection failed mid-stream' : 'could not connect';
  return new ProviderError(ev.opened ? 'provider_failed' : 'provider_unavailable', redact(`${name}: ${what}: ${cause}`, secret), true, { cause: ev.error });
}
