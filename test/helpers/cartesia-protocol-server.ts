/**
 * A local server speaking Cartesia's documented TTS WebSocket (GET /tts/websocket, upgraded, with
 * `Authorization: Bearer` and `Cartesia-Version`): the client sends one generation request
 * `{model_id, transcript, voice: {mode: "id", id}, output_format: {container: "raw", encoding:
 * "pcm_s16le", sample_rate}, context_id, continue}`; the server answers `{"type": "chunk", "data":
 * base64, "done": false, "status_code": 206, "step_time", "context_id"}` messages, then
 * `{"type": "done", "done": true, "status_code": 206, "context_id"}`. Errors are
 * `{"type": "error", "done": true, "title", "message", "error_code", "status_code", "context_id"}`.
 *
 * The audio is real speech (espeak-ng) at the asked sample_rate. One scripted behaviour per
 * connection; every connection is recorded.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CARTESIA_DEFAULT_VOICE } from '../../src/providers/tts/cartesia.js';
import { pcm16le, sleep, speech } from './tts-speech.js';

export type CartesiaBehaviour =
  | { kind: 'speak'; chunkDelayMs?: number }
  | { kind: 'http'; status: number; body: unknown; headers?: Record<string, string> }
  /** Answers the request with this error message (then stays open, as the socket serves other contexts). */
  | { kind: 'error'; status_code: number; title: string; message: string; error_code: string }
  | { kind: 'silent' }
  | { kind: 'drop'; afterChunks: number }
  | { kind: 'stall'; afterChunks: number }
  | { kind: 'malformed'; frame: string };

export interface CartesiaSession {
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  messages: Array<Record<string, unknown>>;
  closedEarly: Promise<void>;
  firstAudioMs?: number;
}

export const CARTESIA_VOICES = new Set([CARTESIA_DEFAULT_VOICE, 'a0e99841-438c-4a64-b679-ae501e7d6091']);
const RATES = new Set([8000, 16000, 22050, 24000, 44100, 48000]);

export class CartesiaProtocolServer {
  readonly sessions: CartesiaSession[] = [];
  private readonly script: CartesiaBehaviour[] = [];
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  private constructor(readonly apiKey: string) {
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.server.on('upgrade', (req, socket: Duplex, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const behaviour = this.script.shift() ?? { kind: 'speak' };
      let closedEarly!: () => void;
      const session: CartesiaSession = { path: url.pathname, query: url.searchParams, headers: req.headers, messages: [], closedEarly: new Promise<void>((r) => (closedEarly = r)) };
      this.sessions.push(session);
      const refuse = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        const text = JSON.stringify(body);
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        socket.end(`HTTP/1.1 ${status} Error\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${extra}connection: close\r\n\r\n${text}`);
      };
      if (url.pathname !== '/tts/websocket') return refuse(404, { title: 'Not Found', message: 'Not Found', error_code: 'not_found' });
      if (req.headers.authorization !== `Bearer ${this.apiKey}`) return refuse(401, { title: 'Unauthorized', message: 'Invalid API key', error_code: 'invalid_api_key' });
      if (!req.headers['cartesia-version']) return refuse(400, { title: 'Bad Request', message: 'Cartesia-Version header is required', error_code: 'missing_version' });
      if (behaviour.kind === 'http') return refuse(behaviour.status, behaviour.body, behaviour.headers);
      const started = performance.now();
      this.wss.handleUpgrade(req, socket, head, (ws) => this.run(ws, socket as Socket, session, behaviour, started, closedEarly));
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

  next(b: CartesiaBehaviour): this {
    this.script.push(b);
    return this;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private run(ws: WebSocket, tcp: Socket, s: CartesiaSession, b: CartesiaBehaviour, started: number, closedEarly: () => void): void {
    const ac = new AbortController();
    let finished = false;
    ws.on('close', () => {
      ac.abort();
      if (!finished) closedEarly();
    });
    ws.on('error', () => undefined);
    const send = (o: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(o));
    };
    const error = (ctx: unknown, status_code: number, title: string, message: string, error_code: string) => {
      finished = true;
      send({ type: 'error', done: true, title, message, error_code, status_code, context_id: ctx });
    };
    const generate = async (m: Record<string, unknown>) => {
      const ctx = m.context_id;
      const voice = m.voice as { mode?: unknown; id?: unknown } | undefined;
      const fmt = m.output_format as { container?: unknown; encoding?: unknown; sample_rate?: unknown } | undefined;
      if (typeof m.model_id !== 'string' || typeof m.transcript !== 'string' || typeof ctx !== 'string') return error(ctx, 400, 'Invalid request', 'model_id, transcript and context_id are required', 'invalid_request');
      if (voice?.mode !== 'id' || typeof voice.id !== 'string' || !CARTESIA_VOICES.has(voice.id)) return error(ctx, 404, 'Voice not found', `No voice with id ${String(voice?.id)}`, 'voice_not_found');
      if (fmt?.container !== 'raw' || fmt.encoding !== 'pcm_s16le' || typeof fmt.sample_rate !== 'number' || !RATES.has(fmt.sample_rate)) {
        return error(ctx, 400, 'Invalid output format', 'this test server speaks raw pcm_s16le at the documented rates', 'invalid_output_format');
      }
      if (b.kind === 'silent') return;
      if (b.kind === 'error') return error(ctx, b.status_code, b.title, b.message, b.error_code);
      if (b.kind === 'malformed') return void ws.send(b.frame);
      let sent = 0;
      for await (const pcm of speech(m.transcript, fmt.sample_rate, ac.signal)) {
        if (ac.signal.aborted) return;
        if ((b.kind === 'drop' || b.kind === 'stall') && sent >= b.afterChunks) {
          if (b.kind === 'drop') tcp.resetAndDestroy();
          return;
        }
        s.firstAudioMs ??= performance.now() - started;
        send({ type: 'chunk', data: pcm16le(pcm).toString('base64'), done: false, status_code: 206, step_time: 12, context_id: ctx });
        sent++;
        if (b.kind === 'speak' && b.chunkDelayMs) await sleep(b.chunkDelayMs);
      }
      if (ac.signal.aborted) return;
      finished = true;
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
      if (m.cancel === true) return;
      generate(m).catch(() => ws.terminate());
    });
  }
}
