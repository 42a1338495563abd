/** A real HTTP server on 127.0.0.1 playing a customer's tool endpoint: records requests, answers as scripted. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ToolRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An answer (after delayMs, if given), or never one. */
export type ToolAnswer = { status: number; body?: string; contentType?: string; delayMs?: number } | 'hang' | 'cut';

export class ToolServer {
  readonly requests: ToolRequest[] = [];
  /** What to answer; called per request (default: 200 {"ok":true}). */
  answer: (req: ToolRequest) => ToolAnswer = () => ({ status: 200, body: '{"ok":true}', contentType: 'application/json' });
  #server: http.Server | undefined;
  #hung: http.ServerResponse[] = [];
  port = 0;

  async start(): Promise<this> {
    this.#server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const r: ToolRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
        this.requests.push(r);
        const a = this.answer(r);
        if (a === 'hang') return void this.#hung.push(res);
        if (a === 'cut') {
          // Headers and half a body, then the connection drops.
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
          res.write('{"half":');
          setTimeout(() => res.destroy(), 20);
          return;
        }
        const send = () => {
          res.writeHead(a.status, a.contentType ? { 'content-type': a.contentType } : {});
          res.end(a.body ?? '');
        };
        if (a.delayMs) setTimeout(send, a.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/tool'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    for (const r of this.#hung.splice(0)) r.destroy();
    const s = this.#server;
    this.#server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }
}
