import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What the receiver does with the next request: answer with a status (and a body; after delayMs), or hang (never answer). */
export type Behavior = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | 'hang';

/** A real HTTP server on 127.0.0.1 that records webhook requests and answers as scripted. */
export class WebhookReceiver {
  readonly received: Received[] = [];
  readonly #script: Behavior[] = [];
  #server: http.Server | undefined;
  #hung: http.ServerResponse[] = [];
  #otherwise: Behavior = { status: 200 };
  #timers = new Set<NodeJS.Timeout>();
  port = 0;
  /** Requests received and not answered yet (hung ones included), and the most there ever were at once. */
  inFlight = 0;
  peakInFlight = 0;

  /** Answers in order; when the script runs out, as `otherwise` says (200 unless set). */
  answer(...behaviors: Behavior[]): void {
    this.#script.push(...behaviors);
  }

  /** What every request past the script gets. */
  otherwise(b: Behavior): this {
    this.#otherwise = b;
    return this;
  }

  async start(port = 0): Promise<this> {
    this.#server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        this.inFlight++;
        this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
        let open = true;
        const done = () => {
          if (open) this.inFlight--;
          open = false;
        };
        res.on('close', done);
        const b = this.#script.shift() ?? this.#otherwise;
        if (b === 'hang') {
          this.#hung.push(res);
          return;
        }
        const send = () => {
          res.writeHead(b.status, b.headers);
          res.end(b.body ?? 'ok');
        };
        if (!b.delayMs) return send();
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          send();
        }, b.delayMs);
        this.#timers.add(timer);
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
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
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
