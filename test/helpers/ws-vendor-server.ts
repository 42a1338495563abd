/**
 * What the local vendor WebSocket servers (deepgram-protocol-server.ts, openai-transcription-server.ts)
 * share: an HTTP server on 127.0.0.1 port 0 whose upgrades are scripted per connection (accept,
 * accept late, refuse with a status and body, never answer), a record of what each client sent
 * (path, query, headers, text messages, audio), and faults injected once a client has sent so many
 * audio messages (drop the TCP connection, a malformed frame, a vendor error then a close frame).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

export type Fault =
  /** Destroys the TCP connection with no close frame. */
  | { kind: 'drop'; afterAudio: number }
  /** Sends a text frame that is not JSON. */
  | { kind: 'malformed'; afterAudio: number; text?: string }
  /** Sends `message` (the vendor's error message) if given, then a close frame. */
  | { kind: 'close'; afterAudio: number; code: number; reason: string; message?: unknown };

export type UpgradeScript =
  /** `mute`: the upgrade succeeds but the vendor logic never runs (nothing is ever answered). */
  | { kind: 'accept'; openDelayMs?: number; fault?: Fault; mute?: boolean }
  | { kind: 'reject'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Takes the TCP connection and never answers the upgrade. */
  | { kind: 'hang' };

export interface Session {
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Text messages from the client, parsed when JSON. */
  texts: unknown[];
  audioMessages: number;
  audioBytes: number;
  /** The audio messages' raw payloads, in arrival order. */
  audio: Buffer[];
  /** Resolves with the close code once the connection is gone (for any reason). */
  closed: Promise<{ code: number; ms: number }>;
  isClosed: boolean;
  /** Set once a fault fired: the vendor logic must stay silent after it. */
  faulted: boolean;
  openedAt: number;
}

export interface VendorHooks {
  /** The audio this message carries (decoded from the vendor's framing), or undefined when it is not audio. */
  audioOf(data: RawData, isBinary: boolean): Buffer | undefined;
  /** The vendor's logic for one accepted connection. */
  onConnection(ws: WebSocket, session: Session): void;
}

export class WsVendorServer {
  readonly sessions: Session[] = [];
  readonly #script: UpgradeScript[] = [];
  readonly #server: Server;
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  readonly #sockets = new Set<Socket>();

  private constructor(
    private readonly hooks: VendorHooks,
    private readonly basePath: string,
  ) {
    this.#server = createServer((_req, res) => {
      res.writeHead(426).end('upgrade required');
    });
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(req, socket, head));
  }

  static async start(hooks: VendorHooks, basePath: string): Promise<WsVendorServer> {
    const s = new WsVendorServer(hooks, basePath);
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  /** The base_url a client is given, e.g. ws://127.0.0.1:1234/v1 (an http:// base works as well). */
  get baseUrl(): string {
    return `ws://127.0.0.1:${(this.#server.address() as AddressInfo).port}${this.basePath}`;
  }

  /** How the next connection's upgrade is answered (default: accept). */
  next(script: UpgradeScript): this {
    this.#script.push(script);
    return this;
  }

  get last(): Session {
    const s = this.sessions.at(-1);
    if (!s) throw new Error('no session yet');
    return s;
  }

  async close(): Promise<void> {
    for (const c of this.#wss.clients) c.terminate();
    for (const s of this.#sockets) s.destroy();
    this.#wss.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const script = this.#script.shift() ?? { kind: 'accept' };
    let markClosed!: (v: { code: number; ms: number }) => void;
    const session: Session = {
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      texts: [],
      audioMessages: 0,
      audioBytes: 0,
      audio: [],
      closed: new Promise((resolve) => (markClosed = resolve)),
      isClosed: false,
      faulted: false,
      openedAt: performance.now(),
    };
    this.sessions.push(session);
    socket.on('error', () => undefined);
    if (script.kind === 'hang') {
      // Read (and discard) so the client's hang-up is seen; the HTTP server's sockets are half-open, so end ours too.
      socket.resume();
      socket.once('end', () => socket.destroy());
      socket.once('close', () => {
        session.isClosed = true;
        markClosed({ code: 1006, ms: performance.now() });
      });
      return;
    }
    if (script.kind === 'reject') {
      const body = script.body === undefined ? '' : typeof script.body === 'string' ? script.body : JSON.stringify(script.body);
      const headers = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close', ...script.headers };
      const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
      socket.end(`HTTP/1.1 ${script.status} ${STATUS_CODES[script.status] ?? 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n${body}`);
      session.isClosed = true;
      markClosed({ code: 1006, ms: performance.now() });
      return;
    }
    const accept = () => {
      if (socket.destroyed) {
        session.isClosed = true;
        markClosed({ code: 1006, ms: performance.now() });
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws, session, script.fault, markClosed, script.mute === true));
    };
    if (script.openDelayMs) setTimeout(accept, script.openDelayMs);
    else accept();
  }

  #connected(ws: WebSocket, session: Session, fault: Fault | undefined, markClosed: (v: { code: number; ms: number }) => void, mute: boolean): void {
    ws.on('close', (code) => {
      session.isClosed = true;
      markClosed({ code, ms: performance.now() });
    });
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (session.faulted) return;
      const audio = this.hooks.audioOf(data, isBinary);
      if (audio === undefined) {
        const text = String(data);
        try {
          session.texts.push(JSON.parse(text));
        } catch {
          session.texts.push(text);
        }
        return;
      }
      session.audioMessages++;
      session.audioBytes += audio.length;
      session.audio.push(audio);
      if (fault && session.audioMessages >= fault.afterAudio) {
        session.faulted = true;
        if (fault.kind === 'drop') {
          ws.terminate();
        } else if (fault.kind === 'malformed') {
          ws.send(fault.text ?? '{"type": "Results", "channel": ');
        } else {
          if (fault.message !== undefined) ws.send(JSON.stringify(fault.message));
          ws.close(fault.code, fault.reason);
        }
      }
    });
    if (!mute) this.hooks.onConnection(ws, session);
  }
}

/** Little-endian PCM16 bytes as samples (copied: a Buffer's offset may be odd). */
export function pcmFromBytes(b: Buffer): Int16Array {
  const out = new Int16Array(Math.floor(b.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(i * 2);
  return out;
}

export function rawToBuffer(data: RawData): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
}
