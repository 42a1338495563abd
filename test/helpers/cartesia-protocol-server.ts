/**
 * A local server speaking Cartesia's documented TTS WebSocket (GET /tts/websocket, upgraded, with
 * `Authorization: Bearer` and `Cartesia-Version`): the client sends one generation request
 * `{model_id, transcript, voice: {mode: "id", id}, output_format: {container: "raw", encoding:
 * "pcm_s16le", sample_rate}, context_id, continue}`; the server answers `{"type": "chunk", "data":
 * base64, "done": false, "status_code": 206, "step_time", "context_id"}` messages, then
 * `{"type": "done", "done": true, "status_code": 206, "context_id"}`. Errors are
 * `{"type": "error", "done": true, "title", "message", "error_code", "status_code", "context_id"}`.
 *
 * One connection carries many generations, one context each, and `{"context_id", "cancel": true}`
 * stops a context's audio (https://docs.cartesia.ai/api-reference/tts/websocket). The audio is
 * real speech (espeak-ng) at the asked sample_rate. A scripted behaviour applies to the next
 * generation request (or, for an HTTP refusal, to the next upgrade); every connection and every
 * request is recorded, and idle connections can be closed on command.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CARTESIA_DEFAULT_VOICE } from '../../src/providers/tts/cartesia.js';
import { pcm16le, sleep, speech } from './tts-speech.js';

export type CartesiaBehaviour =
  /** `lateChunks`: on a cancel, that many more chunks of the cancelled context are held back and sent just before the next request's answer on the connection (as pieces still on the wire when the cancel arrives would be). */
  | { kind: 'speak'; chunkDelayMs?: number; lateChunks?: number }
  /** Refuses the next WebSocket upgrade (a new connection) with this HTTP status. */
  | { kind: 'http'; status: number; body: unknown; headers?: Record<string, string> }
  /** Answers the request with this error message (then stays open, as the socket serves other contexts). */
  | { kind: 'error'; status_code: number; title: string; message: string; error_code: string }
  | { kind: 'silent' }
  | { kind: 'drop'; afterChunks: number }
  | { kind: 'stall'; afterChunks: number }
  | { kind: 'malformed'; frame: string };

/** One WebSocket connection (or a refused upgrade). */
export interface CartesiaSession {
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Every message the client sent on this connection, generation requests and cancels. */
  messages: Array<Record<string, unknown>>;
  /** The generation requests served on this connection. */
  requests: CartesiaRequest[];
  /** Resolves when the connection closes while a generation was in progress. */
  closedEarly: Promise<void>;
  /** Resolves when the connection is closed, by either side. */
  closed: Promise<void>;
  isClosed: boolean;
}

/** One generation request (one context). */
export interface CartesiaRequest {
  /** Index of its connection in `sessions`. */
  connection: number;
  message: Record<string, unknown>;
  contextId: unknown;
  /** performance.now() when the request message was read. */
  receivedAt: number;
  /** From the request message read to its first chunk sent. */
  firstAudioMs?: number;
  chunksSent: number;
  cancelled: boolean;
  /** Chunks of this context sent after its cancel (scripted `lateChunks`). */
  lateSent: number;
  finished: boolean;
  /** Resolves when the client stopped this generation before its end: a cancel, or the connection closed. */
  closedEarly: Promise<void>;
}

export const CARTESIA_VOICES = new Set([CARTESIA_DEFAULT_VOICE, 'a0e99841-438c-4a64-b679-ae501e7d6091']);
const RATES = new Set([8000, 16000, 22050, 24000, 44100, 48000]);

interface Live {
  ws: WebSocket;
  tcp: Socket;
  busy: number;
}

export class CartesiaProtocolServer {
  /** Every upgrade attempt, refused ones included, in order. */
  readonly sessions: CartesiaSession[] = [];
  /** Every generation request, over all connections, in order. */
  readonly requests: CartesiaRequest[] = [];
  private readonly upgradeScript: CartesiaBehaviour[] = [];
  private readonly requestScript: CartesiaBehaviour[] = [];
  private readonly live = new Set<Live>();
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  private constructor(readonly apiKey: string) {
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.server.on('upgrade', (req, socket: Duplex, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      let closedEarly!: () => void;
      let closed!: () => void;
      const session: CartesiaSession = {
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        messages: [],
        requests: [],
        closedEarly: new Promise<void>((r) => (closedEarly = r)),
        closed: new Promise<void>((r) => (closed = r)),
        isClosed: false,
      };
      this.sessions.push(session);
      const refuse = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        const text = JSON.stringify(body);
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        socket.end(`HTTP/1.1 ${status} Error\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${extra}connection: close\r\n\r\n${text}`);
        session.isClosed = true;
        closed();
      };
      if (url.pathname !== '/tts/websocket') return refuse(404, { title: 'Not Found', message: 'Not Found', error_code: 'not_found' });
      if (req.headers.authorization !== `Bearer ${this.apiKey}`) return refuse(401, { title: 'Unauthorized', message: 'Invalid API key', error_code: 'invalid_api_key' });
      if (!req.headers['cartesia-version']) return refuse(400, { title: 'Bad Request', message: 'Cartesia-Version header is required', error_code: 'missing_version' });
      const refusal = this.upgradeScript.shift();
      if (refusal?.kind === 'http') return refuse(refusal.status, refusal.body, refusal.headers);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.run(ws, socket as Socket, session, closedEarly, closed));
    });
  }

  static async start(apiKey: string): Promise<CartesiaProtocolServer> {
    const s = new CartesiaProtocolServer(apiKey);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get baseUrl(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Scripts the next upgrade ('http') or the next generation request (every other kind). */
  next(b: CartesiaBehaviour): this {
    (b.kind === 'http' ? this.upgradeScript : this.requestScript).push(b);
    return this;
  }

  /**
   * Closes every connection with no generation in progress, as the vendor does to idle ones:
   * a close frame (1000), or a TCP reset with no close frame. Returns how many.
   */
  closeIdle(how: 'close' | 'reset' = 'close'): number {
    let n = 0;
    for (const l of this.live) {
      if (l.busy > 0) continue;
      n++;
      if (how === 'reset') l.tcp.resetAndDestroy();
      else l.ws.close(1000, 'idle timeout');
    }
    return n;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private run(ws: WebSocket, tcp: Socket, s: CartesiaSession, closedEarly: () => void, closed: () => void): void {
    const live: Live = { ws, tcp, busy: 0 };
    this.live.add(live);
    const connection = this.sessions.indexOf(s);
    /** Per context: its generation's abort, and what ends it early. */
    const running = new Map<unknown, { ac: AbortController; req: CartesiaRequest; stopped: () => void; generation: Promise<void> }>();
    /** Chunks of cancelled contexts held back until the next request on this connection. */
    let heldBack: Array<{ req: CartesiaRequest; frame: string }> = [];
    /** Cancelled generations still collecting their late chunks. */
    let cancelling: Array<Promise<void>> = [];
    ws.on('close', () => {
      this.live.delete(live);
      s.isClosed = true;
      closed();
      if (running.size > 0) closedEarly();
      for (const r of running.values()) {
        r.ac.abort();
        r.stopped();
      }
    });
    ws.on('error', () => undefined);
    const send = (o: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(o));
    };
    const error = (ctx: unknown, status_code: number, title: string, message: string, error_code: string) => {
      send({ type: 'error', done: true, title, message, error_code, status_code, context_id: ctx });
    };
    const generate = async (m: Record<string, unknown>, b: CartesiaBehaviour, signal: AbortSignal, r: CartesiaRequest, started: number) => {
      const ctx = m.context_id;
      const voice = m.voice as { mode?: unknown; id?: unknown } | undefined;
      const fmt = m.output_format as { container?: unknown; encoding?: unknown; sample_rate?: unknown } | undefined;
      if (typeof m.model_id !== 'string' || typeof m.transcript !== 'string' || typeof ctx !== 'string') return error(ctx, 400, 'Invalid request', 'model_id, transcript and context_id are required', 'invalid_request');
      if (voice?.mode !== 'id' || typeof voice.id !== 'string' || !CARTESIA_VOICES.has(voice.id)) return error(ctx, 404, 'Voice not found', `No voice with id ${String(voice?.id)}`, 'voice_not_found');
      if (fmt?.container !== 'raw' || fmt.encoding !== 'pcm_s16le' || typeof fmt.sample_rate !== 'number' || !RATES.has(fmt.sample_rate)) {
        return error(ctx, 400, 'Invalid output format', 'this test server speaks raw pcm_s16le at the documented rates', 'invalid_output_format');
      }
      if (b.kind === 'silent') return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      if (b.kind === 'error') return error(ctx, b.status_code, b.title, b.message, b.error_code);
      if (b.kind === 'malformed') return void ws.send(b.frame);
      const chunk = (pcm: Int16Array) => JSON.stringify({ type: 'chunk', data: pcm16le(pcm).toString('base64'), done: false, status_code: 206, step_time: 12, context_id: ctx });
      const late = b.kind === 'speak' ? (b.lateChunks ?? 0) : 0;
      for await (const pcm of speech(m.transcript, fmt.sample_rate)) {
        if (signal.aborted) {
          // Cancelled: stop, except the pieces scripted to be already on their way.
          if (heldBack.length < late) heldBack.push({ req: r, frame: chunk(pcm) });
          if (heldBack.length >= late) return;
          continue;
        }
        if ((b.kind === 'drop' || b.kind === 'stall') && r.chunksSent >= b.afterChunks) {
          if (b.kind === 'drop') tcp.resetAndDestroy();
          if (b.kind === 'stall') await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          return;
        }
        r.firstAudioMs ??= performance.now() - started;
        if (ws.readyState === ws.OPEN) ws.send(chunk(pcm));
        r.chunksSent++;
        if (b.kind === 'speak' && b.chunkDelayMs) await sleep(b.chunkDelayMs);
      }
      if (signal.aborted) return;
      r.finished = true;
      send({ type: 'done', done: true, status_code: 206, context_id: ctx });
    };
    ws.on('message', (data) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        return error(null, 400, 'Invalid message', 'could not parse the message as JSON', 'invalid_json');
      }
      s.messages.push(m);
      if (m.cancel === true) {
        // The documented cancel: no more audio for that context.
        const r = running.get(m.context_id);
        if (r) {
          r.req.cancelled = true;
          r.ac.abort();
          r.stopped();
          cancelling.push(r.generation);
        }
        return;
      }
      const started = performance.now();
      const b = this.requestScript.shift() ?? { kind: 'speak' };
      let stopped!: () => void;
      const req: CartesiaRequest = { connection, receivedAt: started, message: m, contextId: m.context_id, chunksSent: 0, cancelled: false, lateSent: 0, finished: false, closedEarly: new Promise<void>((r) => (stopped = r)) };
      s.requests.push(req);
      this.requests.push(req);
      const ac = new AbortController();
      live.busy++;
      // The late pieces of cancelled contexts go out first, before this request's own audio.
      const earlier = Promise.all(cancelling);
      cancelling = [];
      const generation = earlier
        .then(() => {
          for (const h of heldBack) {
            if (ws.readyState !== ws.OPEN) break;
            ws.send(h.frame);
            h.req.lateSent++;
          }
          heldBack = [];
          return generate(m, b, ac.signal, req, started);
        })
        .catch(() => ws.terminate());
      running.set(m.context_id, { ac, req, stopped, generation });
      void generation.finally(() => {
        live.busy--;
        if (running.get(m.context_id)?.req === req) running.delete(m.context_id);
      });
    });
  }
}
