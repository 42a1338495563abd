/**
 * A local server speaking ElevenLabs' documented WebSocket input-streaming protocol
 * (GET /v1/text-to-speech/{voice_id}/stream-input, upgraded; AsyncAPI in elevenlabs-docs):
 * the client's `{"text": " "}` opens, text messages (with `flush`) are spoken, `{"text": ""}` ends;
 * the server sends `{"audio": base64, "isFinal": null, "normalizedAlignment", "alignment"}` and
 * `{"isFinal": true}`, then closes. Errors are `{"message", "error", "code": 1008}` then close
 * 1008; an HTTP refusal of the upgrade carries `{"detail": {"status", "message"}}`.
 *
 * The audio is real speech (espeak-ng) in the asked output_format: pcm_<rate> as s16le, ulaw_8000
 * as G.711 mu-law. Each test scripts one behaviour per connection; every connection is recorded.
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
  /** Refuses the upgrade with this status and body. */
  | { kind: 'http'; status: number; body: unknown; headers?: Record<string, string> }
  /** After the first message: the documented error message, then close 1008 with the message. */
  | { kind: 'error'; error: string; message: string }
  /** Accepts and never answers (slow first byte). */
  | { kind: 'silent' }
  /** Sends this many audio messages, then resets the TCP connection. */
  | { kind: 'drop'; afterChunks: number }
  /** Sends this many audio messages, then nothing more. */
  | { kind: 'stall'; afterChunks: number }
  /** Sends this text frame as the first answer. */
  | { kind: 'malformed'; frame: string };

export interface ElevenLabsSession {
  path: string;
  voice: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  messages: Array<Record<string, unknown>>;
  /** Resolves when the client closed the socket before the server had finished. */
  closedEarly: Promise<void>;
  /** Milliseconds from the upgrade request to the first audio message sent. */
  firstAudioMs?: number;
}

export const KNOWN_VOICES = new Set([ELEVENLABS_DEFAULT_VOICE, '21m00Tcm4TlvDq8ikWAM']);

export class ElevenLabsProtocolServer {
  readonly sessions: ElevenLabsSession[] = [];
  private readonly script: ElevenLabsBehaviour[] = [];
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  private constructor(readonly apiKey: string) {
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.server.on('upgrade', (req, socket: Duplex, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = /^\/v1\/text-to-speech\/([^/]+)\/stream-input$/.exec(url.pathname);
      const behaviour = this.script.shift() ?? { kind: 'speak' };
      let closedEarly!: () => void;
      const session: ElevenLabsSession = {
        path: url.pathname,
        voice: decodeURIComponent(m?.[1] ?? ''),
        query: url.searchParams,
        headers: req.headers,
        messages: [],
        closedEarly: new Promise<void>((resolve) => (closedEarly = resolve)),
      };
      this.sessions.push(session);
      const refuse = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        const text = JSON.stringify(body);
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        socket.end(`HTTP/1.1 ${status} Error\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${extra}connection: close\r\n\r\n${text}`);
      };
      if (!m) return refuse(404, { detail: 'Not Found' });
      if (req.headers['xi-api-key'] !== this.apiKey) return refuse(401, { detail: { status: 'invalid_api_key', message: 'Invalid API key' } });
      if (behaviour.kind === 'http') return refuse(behaviour.status, behaviour.body, behaviour.headers);
      const started = performance.now();
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.run(ws, socket as Socket, session, behaviour, started, closedEarly);
      });
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

  next(b: ElevenLabsBehaviour): this {
    this.script.push(b);
    return this;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private run(ws: WebSocket, tcp: Socket, s: ElevenLabsSession, b: ElevenLabsBehaviour, started: number, closedEarly: () => void): void {
    const ac = new AbortController();
    let finished = false;
    ws.on('close', () => {
      ac.abort();
      if (!finished) closedEarly();
    });
    ws.on('error', () => undefined);
    const format = s.query.get('output_format') ?? 'mp3_44100_128';
    const fm = /^(pcm|ulaw)_(\d+)$/.exec(format);
    let sent = 0;
    let work = Promise.resolve();
    let buffered = '';
    const send = (o: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(o));
    };
    const fail = (error: string, message: string) => {
      finished = true;
      send({ message, error, code: 1008 });
      ws.close(1008, message.slice(0, 120));
    };
    const speak = async (text: string) => {
      if (!fm || text.trim() === '') return;
      const rate = Number(fm[2]);
      if (b.kind === 'speak' && b.firstAudioDelayMs && sent === 0) await sleep(b.firstAudioDelayMs);
      for await (const pcm of speech(text, rate, ac.signal)) {
        if (ac.signal.aborted) return;
        if ((b.kind === 'drop' || b.kind === 'stall') && sent >= b.afterChunks) {
          if (b.kind === 'drop') tcp.resetAndDestroy();
          await new Promise<void>((resolve) => ws.once('close', () => resolve()));
          return;
        }
        const audio = (fm[1] === 'ulaw' ? Buffer.from(encodeMuLaw(pcm)) : pcm16le(pcm)).toString('base64');
        s.firstAudioMs ??= performance.now() - started;
        send({ audio, isFinal: null, normalizedAlignment: null, alignment: null });
        sent++;
        if (b.kind === 'speak' && b.chunkDelayMs) await sleep(b.chunkDelayMs);
      }
    };
    ws.on('message', (data) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        return fail('invalid_input_message', 'Could not parse input message, make sure it is a json and follows the schema outlined in protocol.');
      }
      s.messages.push(msg);
      if (s.messages.length === 1) {
        if (msg.text !== ' ') return fail('invalid_input_message', 'The first message must have text " ".');
        if (b.kind === 'silent') return;
        if (b.kind === 'error') return fail(b.error, b.message);
        if (b.kind === 'malformed') {
          ws.send(b.frame);
          return;
        }
        if (!KNOWN_VOICES.has(s.voice)) return fail('voice_not_found', `A voice with voice_id ${s.voice} was not found.`);
        if (!fm) return fail('invalid_output_format', `Unsupported output_format ${format}`);
        return;
      }
      if (b.kind === 'silent' || finished) return;
      const text = typeof msg.text === 'string' ? msg.text : '';
      buffered += text;
      if (msg.flush === true || msg.try_trigger_generation === true || text === '') {
        const t = buffered;
        buffered = '';
        work = work.then(() => speak(t)).catch(() => ws.terminate());
      }
      if (text === '') {
        work = work.then(() => {
          if (ac.signal.aborted) return;
          finished = true;
          send({ isFinal: true });
          ws.close(1000);
        });
      }
    });
  }
}
