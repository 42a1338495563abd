/**
 * A local server speaking OpenAI's documented speech endpoint: `POST /v1/audio/speech` with a
 * bearer key and `{model, input, voice, response_format, instructions?, speed?}`; for
 * response_format "pcm" the answer is raw 24 kHz s16le mono, streamed by chunked transfer. Errors
 * are `{"error": {"message", "type", "param", "code"}}` with the HTTP status.
 *
 * The audio is real speech (espeak-ng at 24 kHz), written in pieces of an odd number of bytes so
 * samples are split across network chunks as they can be on the real service.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pcm16le, sleep, speech } from './tts-speech.js';

export type OpenAiTtsBehaviour =
  | { kind: 'speak'; firstByteDelayMs?: number; chunkDelayMs?: number }
  | { kind: 'error'; status: number; body: unknown; headers?: Record<string, string> }
  /** Never answers (a slow first byte) until the client goes away. */
  | { kind: 'silent' }
  /** Sends this many pieces, then resets the connection. */
  | { kind: 'drop'; afterPieces: number }
  /** Sends this many pieces, then nothing more. */
  | { kind: 'stall'; afterPieces: number }
  /** 200, but a JSON body instead of audio. */
  | { kind: 'json'; body: unknown };

export interface OpenAiTtsRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  closedEarly: Promise<void>;
  firstAudioMs?: number;
}

export const OPENAI_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'onyx', 'nova', 'sage', 'shimmer', 'verse', 'marin', 'cedar'];
/** Bytes per network write: odd, so every other write splits a sample. */
const PIECE_BYTES = 4801;

export class OpenAiTtsServer {
  readonly requests: OpenAiTtsRequest[] = [];
  private readonly script: OpenAiTtsBehaviour[] = [];
  private readonly server: Server;

  private constructor(readonly apiKey: string) {
    this.server = createServer((req, res) => {
      this.serve(req, res).catch((err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))));
    });
  }

  static async start(apiKey: string): Promise<OpenAiTtsServer> {
    const s = new OpenAiTtsServer(apiKey);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  next(b: OpenAiTtsBehaviour): this {
    this.script.push(b);
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const started = performance.now();
    let closedEarly!: () => void;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return error(res, 400, "We could not parse the JSON body of your request.", 'invalid_request_error', null, null);
    }
    const rec: OpenAiTtsRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, closedEarly: new Promise<void>((r) => (closedEarly = r)) };
    this.requests.push(rec);
    const ac = new AbortController();
    res.on('close', () => {
      ac.abort();
      if (!res.writableFinished) closedEarly();
    });
    if (req.method !== 'POST' || req.url !== '/v1/audio/speech') return error(res, 404, `Invalid URL (${req.method} ${req.url})`, 'invalid_request_error', null, null);
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${this.apiKey}`) {
      // The real service echoes (part of) the key it was given: the client must not repeat it.
      return error(res, 401, `Incorrect API key provided: ${auth.replace(/^Bearer /, '')}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', null, 'invalid_api_key');
    }
    const b = this.script.shift() ?? { kind: 'speak' };
    if (b.kind === 'error') return send(res, b.status, b.body, b.headers);
    if (b.kind === 'json') return send(res, 200, b.body);
    if (typeof body.input !== 'string' || body.input === '') return error(res, 400, "Missing required parameter: 'input'.", 'invalid_request_error', 'input', 'missing_required_parameter');
    if (typeof body.voice !== 'string' || !OPENAI_VOICES.includes(body.voice)) {
      return error(res, 400, `Invalid value: '${String(body.voice)}'. Supported values are: ${OPENAI_VOICES.map((v) => `'${v}'`).join(', ')}.`, 'invalid_request_error', 'voice', 'invalid_value');
    }
    if (body.response_format !== 'pcm') return error(res, 400, 'this test server only speaks pcm', 'invalid_request_error', 'response_format', 'invalid_value');
    if (b.kind === 'silent') return new Promise<void>((resolve) => res.on('close', resolve));
    if (b.kind === 'speak' && b.firstByteDelayMs) await sleep(b.firstByteDelayMs);
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'audio/pcm', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    let pending = Buffer.alloc(0);
    let pieces = 0;
    for await (const pcm of speech(body.input, 24_000, ac.signal)) {
      pending = Buffer.concat([pending, pcm16le(pcm)]);
      while (pending.length >= PIECE_BYTES) {
        if ((b.kind === 'drop' || b.kind === 'stall') && pieces >= b.afterPieces) {
          if (b.kind === 'drop') {
            await sleep(5); // let the pieces already written leave before the reset
            res.socket?.resetAndDestroy();
          }
          return new Promise<void>((resolve) => res.on('close', resolve));
        }
        if (res.destroyed) return;
        rec.firstAudioMs ??= performance.now() - started;
        res.write(pending.subarray(0, PIECE_BYTES));
        pending = pending.subarray(PIECE_BYTES);
        pieces++;
        if (b.kind === 'speak' && b.chunkDelayMs) await sleep(b.chunkDelayMs);
      }
    }
    if (res.destroyed) return;
    res.end(pending);
  }
}

function error(res: ServerResponse, status: number, message: string, type: string, param: string | null, code: string | null): void {
  send(res, status, { error: { message, type, param, code } });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
