/**
 * A vendor WebSocket read as a queue of events, so a TTS adapter can be written as one loop
 * (`await next()`) that an abort or a timeout ends by closing the socket. Every way the connection
 * can fail becomes an event carrying a ProviderError, never an uncaught 'error'.
 */
import type { IncomingMessage } from 'node:http';
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
  | { type: 'stopped' };

const MAX_REJECTION_BODY = 64 * 1024;

export class WsChannel {
  readonly #ws: WebSocket;
  readonly #queue: WsEvent[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #opened = false;

  constructor(url: string, headers: Record<string, string>) {
    // No automatic redirects: a redirect could carry the key's header to another host.
    this.#ws = new WebSocket(url, { headers, perMessageDeflate: false, followRedirects: false });
    const ws = this.#ws;
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
    ws.on('close', (code: number, reason: Buffer) => this.#push({ type: 'close', code, reason: reason.toString('utf8') }));
  }

  /** The next event; after the channel ended (close, failure, stop) it keeps answering 'stopped'. */
  async next(): Promise<WsEvent> {
    for (;;) {
      const ev = this.#queue.shift();
      if (ev) return ev;
      if (this.#ended) return { type: 'stopped' };
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
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
