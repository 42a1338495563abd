import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What the receiver does with the next request: answer with a status (and a body), or hang (never answer). */
export type Behavior = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A real HTTP server on 127.0.0.1 that records webhook requests and answers as scripted. */
export class WebhookReceiver {
  readonly received: Received[] = [];
  readonly #script: Behavior[] = [];
  #server: http.Server | undefined;
  #hung: http.ServerResponse[] = [];
  port = 0;

  /** Answers in order; when the script runs out, 200. */
  answer(...behaviors: Behavior[]): void {
    this.#script.push(...behaviors);
  }

  async start(port = 0): Promise<this> {
    this.#server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const b = this.#script.shift() ?? { status: 200 };
        if (b === 'hang') {
          this.#hung.push(res);
          return;
        }
        res.writeHead(b.status, b.headers);
        res.end(b.body ?? 'ok');
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    for (const r of this.#hung) r.destroy();
    this.#hung = [];
    const s = this.#server;
    this.#server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }
}
