/**
 * A local server speaking ElevenLabs' documented multi-context WebSocket
 * (GET /v1/text-to-speech/{voice_id}/multi-stream-input, upgraded, key in `xi-api-key`; AsyncAPI
 * in elevenlabs-docs). Client messages: `{"text": " ", "context_id", "voice_settings"?}` creates a
 * context, `{"text", "context_id", "flush"?}` adds text (flush speaks what is buffered),
 * `{"text": "", "context_id"}` keeps a context alive, `{"context_id", "close_context": true}` ends
 * its input (the buffer is spoken, then `{"isFinal": true, "contextId"}`), and
 * `{"close_socket": true}` ends the connection once every context is out. The server sends
 * `{"audio": base64, "isFinal": false, "normalizedAlignment", "alignment", "contextId"}`.
 *
 * Limits as documented: at most 5 contexts not yet final per connection (more is the
 * `max_active_conversations` error), and the socket is closed after `inactivity_timeout` seconds
 * (query, default 20) without a client message. Errors are `{"message", "error", "code": 1008}`
 * then close 1008; an HTTP refusal of the upgrade carries `{"detail": {"status", "message"}}`.
 *
 * The audio is real speech (espeak-ng) in the asked output_format: pcm_<rate> as s16le, ulaw_8000
 * as G.711 mu-law. A scripted behaviour applies to the next context (or, for an HTTP refusal, to
 * the next upgrade); every connection and every context is recorded.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeMuLaw } from '../../src/media/g711.js';
import { ELEVENLABS_DEFAULT_VOICE } from '../../src/providers/tts/elevenlabs.js';
import { pcm16le, sleep, speech } from './tts-speech.js';

export type ElevenLabsBehaviour =
  | { kind: 'speak'; firstAudioDelayMs?: number; chunkDelayMs?: number }
  /** Refuses the next upgrade with this status and body. */
  | { kind: 'http'; status: number; body: unknown; headers?: Record<string, string> }
  /** When the context is created: the documented error message, then close 1008 with the message. */
  | { kind: 'error'; error: string; message: string }
  /** Never answers the context (slow first byte). */
  | { kind: 'silent' }
  /** Sends this many audio messages of the context, then resets the TCP connection. */
  | { kind: 'drop'; afterChunks: number }
  /** Sends this many audio messages of the context, then nothing more for it. */
  | { kind: 'stall'; afterChunks: number }
  /** Sends this text frame as the context's first answer. */
  | { kind: 'malformed'; frame: string };

/** One WebSocket connection (or a refused upgrade). */
export interface ElevenLabsConnection {
  path: string;
  voice: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Every message the client sent on it. */
  messages: Array<Record<string, unknown>>;
  contexts: ElevenLabsContext[];
  /** performance.now() when the upgrade request came in. */
  openedAt: number;
  /** Resolves when the connection is closed, by either side. */
  closed: Promise<void>;
  isClosed: boolean;
  /** How it ended: 'client' (the client closed or reset it), 'server' (this server closed it). */
  closedBy?: 'client' | 'server';
}

/** One context: one utterance. */
export interface ElevenLabsContext {
  /** Index of its connection in `connections`. */
  connection: number;
  contextId: string;
  voice: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The messages naming this context, in order. */
  messages: Array<Record<string, unknown>>;
  /** The text spoken for it, trimmed. */
  text: string;
  /** performance.now() when its first message was read. */
  startedAt: number;
  /** From the context's first message to its first audio message sent. */
  firstAudioMs?: number;
  chunksSent: number;
  /** isFinal was sent. */
  finished: boolean;
  /** Resolves when its connection closed before its isFinal (the client stopped it). */
  closedEarly: Promise<void>;
}

export const KNOWN_VOICES = new Set([ELEVENLABS_DEFAULT_VOICE, '21m00Tcm4TlvDq8ikWAM']);
/** Contexts per connection (the multi-context guide: "each connection is limited to 5 concurrent contexts"). */
export const MAX_CONTEXTS = 5;

interface Live {
  ws: WebSocket;
  tcp: Socket;
  conn: ElevenLabsConnection;
  /** Contexts created and not yet final. */
  active: number;
}

export class ElevenLabsProtocolServer {
  /** Every upgrade attempt, refused ones included, in order. */
  readonly connections: ElevenLabsConnection[] = [];
  /** Every context, over all connections, in order. */
  readonly contexts: ElevenLabsContext[] = [];
  private readonly upgradeScript: ElevenLabsBehaviour[] = [];
  private readonly contextScript: ElevenLabsBehaviour[] = [];
  private readonly live = new Set<Live>();
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  private constructor(readonly apiKey: string) {
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.server.on('upgrade', (req, socket: Duplex, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = /^\/v1\/text-to-speech\/([^/]+)\/multi-stream-input$/.exec(url.pathname);
      let closed!: () => void;
      const conn: ElevenLabsConnection = {
        path: url.pathname,
        voice: decodeURIComponent(m?.[1] ?? ''),
        query: url.searchParams,
        headers: req.headers,
        messages: [],
        contexts: [],
        openedAt: performance.now(),
        closed: new Promise<void>((resolve) => (closed = resolve)),
        isClosed: false,
      };
      this.connections.push(conn);
      const refuse = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        const text = JSON.stringify(body);
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        socket.end(`HTTP/1.1 ${status} Error\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${extra}connection: close\r\n\r\n${text}`);
        conn.isClosed = true;
        closed();
      };
      if (!m) return refuse(404, { detail: 'Not Found' });
      if (req.headers['xi-api-key'] !== this.apiKey) return refuse(401, { detail: { status: 'invalid_api_key', message: 'Invalid API key' } });
      const refusal = this.upgradeScript.shift();
      if (refusal?.kind === 'http') return refuse(refusal.status, refusal.body, refusal.headers);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.run(ws, socket as Socket, conn, closed));
    });
  }

  static async start(apiKey: string): Promise<ElevenLabsProtocolServer> {
    const s = new ElevenLabsProtocolServer(apiKey);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get baseUrl(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Scripts the next upgrade ('http') or the next context (every other kind). */
  next(b: ElevenLabsBehaviour): this {
    (b.kind === 'http' ? this.upgradeScript : this.contextScript).push(b);
    return this;
  }

  /** Closes every connection with no context in progress, as the vendor's inactivity limit does. Returns how many. */
  closeIdle(how: 'close' | 'reset' = 'close'): number {
    let n = 0;
    for (const l of this.live) {
      if (l.active > 0) continue;
      n++;
      if (how === 'reset') l.tcp.resetAndDestroy();
      else {
        l.conn.closedBy = 'server';
        l.ws.close(1008, 'inactivity');
      }
    }
    return n;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private run(ws: WebSocket, tcp: Socket, conn: ElevenLabsConnection, closed: () => void): void {
    const live: Live = { ws, tcp, conn, active: 0 };
    this.live.add(live);
    const index = this.connections.indexOf(conn);
    const format = conn.query.get('output_format') ?? 'mp3_44100_128';
    const fm = /^(pcm|ulaw)_(\d+)$/.exec(format);
    const inactivityS = Number(conn.query.get('inactivity_timeout') ?? 20);
    const ac = new AbortController();
    interface Ctx {
      rec: ElevenLabsContext;
      b: ElevenLabsBehaviour;
      buffered: string;
      work: Promise<void>;
      started: number;
      closedEarly: () => void;
      closing: boolean;
    }
    const contexts = new Map<string, Ctx>();
    let closingSocket = false;
    let inactivity: NodeJS.Timeout | undefined;
    const send = (o: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(o));
    };
    const fail = (error: string, message: string) => {
      send({ message, error, code: 1008 });
      conn.closedBy = 'server';
      ws.close(1008, message.slice(0, 120));
    };
    const armInactivity = () => {
      clearTimeout(inactivity);
      inactivity = setTimeout(() => fail('input_timeout_exceeded', `Have not received a new text input within the timeout of ${inactivityS} seconds.`), inactivityS * 1000);
    };
    armInactivity();
    ws.on('close', () => {
      clearTimeout(inactivity);
      ac.abort();
      this.live.delete(live);
      conn.isClosed = true;
      conn.closedBy ??= 'client';
      closed();
      for (const c of contexts.values()) if (!c.rec.finished) c.closedEarly();
    });
    ws.on('error', () => undefined);

    const speak = async (c: Ctx, text: string) => {
      if (!fm || text.trim() === '' || c.b.kind === 'silent') return;
      const b = c.b;
      const rate = Number(fm[2]);
      if (b.kind === 'speak' && b.firstAudioDelayMs && c.rec.chunksSent === 0) await sleep(b.firstAudioDelayMs);
      for await (const pcm of speech(text, rate, ac.signal)) {
        if (ac.signal.aborted) return;
        if ((b.kind === 'drop' || b.kind === 'stall') && c.rec.chunksSent >= b.afterChunks) {
          if (b.kind === 'drop') tcp.resetAndDestroy();
          await new Promise<void>((resolve) => ws.once('close', () => resolve()));
          return;
        }
        const audio = (fm[1] === 'ulaw' ? Buffer.from(encodeMuLaw(pcm)) : pcm16le(pcm)).toString('base64');
        c.rec.firstAudioMs ??= performance.now() - c.started;
        send({ audio, isFinal: false, normalizedAlignment: null, alignment: null, contextId: c.rec.contextId });
        c.rec.chunksSent++;
        if (b.kind === 'speak' && b.chunkDelayMs) await sleep(b.chunkDelayMs);
      }
    };
    const create = (id: string): Ctx | undefined => {
      if (live.active >= MAX_CONTEXTS) {
        fail('max_active_conversations', `Maximum simultaneous contexts per WebSocket connection exceeded (${MAX_CONTEXTS}). Please close an existing context before opening a new one.`);
        return undefined;
      }
      let closedEarly!: () => void;
      const rec: ElevenLabsContext = {
        connection: index,
        contextId: id,
        voice: conn.voice,
        query: conn.query,
        headers: conn.headers,
        messages: [],
        text: '',
        startedAt: performance.now(),
        chunksSent: 0,
        finished: false,
        closedEarly: new Promise<void>((resolve) => (closedEarly = resolve)),
      };
      this.contexts.push(rec);
      conn.contexts.push(rec);
      const b = this.contextScript.shift() ?? { kind: 'speak' };
      const c: Ctx = { rec, b, buffered: '', work: Promise.resolve(), started: rec.startedAt, closedEarly, closing: false };
      contexts.set(id, c);
      live.active++;
      if (b.kind === 'error') {
        fail(b.error, b.message);
        return undefined;
      }
      if (!KNOWN_VOICES.has(conn.voice)) {
        fail('voice_not_found', `A voice with voice_id ${conn.voice} was not found.`);
        return undefined;
      }
      if (!fm) {
        fail('invalid_output_format', `Unsupported output_format ${format}`);
        return undefined;
      }
      if (b.kind === 'malformed') ws.send(b.frame);
      return c;
    };
    const finish = (c: Ctx) => {
      c.work = c.work.then(() => {
        if (ac.signal.aborted || c.b.kind === 'silent' || c.b.kind === 'stall' || c.rec.finished) return;
        c.rec.finished = true;
        live.active--;
        send({ isFinal: true, contextId: c.rec.contextId });
        if (closingSocket && live.active === 0) {
          conn.closedBy = 'server';
          ws.close(1000);
        }
      });
    };

    ws.on('message', (data) => {
      armInactivity();
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        return fail('invalid_input_message', 'Could not parse input message, make sure it is a json and follows the schema outlined in protocol.');
      }
      conn.messages.push(msg);
      if (msg.close_socket === true) {
        closingSocket = true;
        for (const c of contexts.values()) if (!c.closing) finish(c);
        if (live.active === 0) {
          conn.closedBy = 'server';
          ws.close(1000);
        }
        return;
      }
      // Without a context_id the message is for the default context.
      const id = typeof msg.context_id === 'string' ? msg.context_id : '';
      let c = contexts.get(id);
      if (!c) {
        if (msg.close_context === true) return;
        if (typeof msg.text !== 'string') return fail('invalid_input_message', `No context ${id}: a context starts with a text message.`);
        c = create(id);
        if (!c) return;
      }
      c.rec.messages.push(msg);
      if (c.closing) return;
      const text = typeof msg.text === 'string' ? msg.text : '';
      c.buffered += text;
      const ctx = c;
      if (msg.flush === true || msg.close_context === true) {
        const t = ctx.buffered;
        ctx.buffered = '';
        ctx.rec.text = `${ctx.rec.text} ${t}`.trim();
        ctx.work = ctx.work.then(() => speak(ctx, t)).catch(() => ws.terminate());
      }
      if (msg.close_context === true) {
        ctx.closing = true;
        finish(ctx);
      }
    });
  }
}
