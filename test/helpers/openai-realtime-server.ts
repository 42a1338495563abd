/**
 * A local server speaking OpenAI's Realtime WebSocket protocol (GA interface,
 * https://developers.openai.com/api/reference/resources/realtime/server-events): session.created on
 * connect, session.updated echoing the merged session, server VAD done for real on the appended
 * audio (G.711 or 24 kHz PCM decoded, energy VAD: input_audio_buffer.speech_started/stopped with
 * audio_start_ms/audio_end_ms, committed, the user item and its transcription), and responses made
 * of REAL speech (espeak-ng at the negotiated format) streamed as response.output_audio.delta with
 * transcript deltas, or function calls. Handles response.cancel, conversation.item.truncate and
 * function_call_output, and fails on request: HTTP 401/429 at the upgrade with OpenAI's error body,
 * an error event, a socket dropped mid-response, a slow first delta. Records what clients send.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw, FrameChunker, Resampler, samplesPerFrame } from '../../src/media/index.js';
import { EspeakNgTts } from '../../src/providers/tts/espeak-ng.js';
import { EnergyVad } from '../../src/providers/vad/energy.js';
import type { VadStream } from '../../src/providers/vad/types.js';
import { pcm16FromBytes, pcm16ToBase64 } from '../../src/voice/realtime/audio.js';

export type RealtimeReply =
  /** Speaks `text` (espeak-ng), after firstDeltaDelayMs; paceMs between 100 ms deltas (0: as fast as made). */
  | { kind: 'say'; text: string; firstDeltaDelayMs?: number; paceMs?: number }
  | { kind: 'function_call'; name: string; arguments: string; callId?: string; firstDeltaDelayMs?: number }
  /** An `error` event instead of a response. */
  | { kind: 'error'; type: string; code?: string; message: string }
  /** response.done with status failed. */
  | { kind: 'fail'; message: string }
  /** Starts speaking `text`, then destroys the socket after `afterDeltas` deltas. */
  | { kind: 'drop'; text: string; afterDeltas: number };

export interface UpgradeFailure {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface RecordedConnection {
  url: string;
  headers: IncomingHttpHeaders;
  /** Every client event except input_audio_buffer.append, with its arrival time (performance.now). */
  events: Array<{ at: number; event: Record<string, any> }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Audio appended, in ms of the session's input format. */
  appendedMs: number;
  /** The session as configured by the client's session.update events. */
  session: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Server timings: when speech_stopped was sent and each response's first delta (bench). */
  speechStoppedAt: number[];
  firstDeltaAt: number[];
  closed: boolean;
}

type Format = { type: 'audio/pcmu' } | { type: 'audio/pcma' } | { type: 'audio/pcm'; rate: 24000 };

let seq = 0;
const id = (p: string) => `${p}_${(++seq).toString(36).padStart(6, '0')}`;

export class OpenAiRealtimeServer {
  readonly connections: RecordedConnection[] = [];
  readonly #replies: RealtimeReply[] = [];
  readonly #hearing: string[] = [];
  readonly #upgradeFailures: UpgradeFailure[] = [];
  readonly #tts = new EspeakNgTts({ defaultVoice: 'en-us' });
  /** Delay before session.created (a slow connect). */
  sessionCreatedDelayMs = 0;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<OpenAiRealtimeServer> {
    const http = createServer((_req, res) => res.writeHead(426).end());
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as AddressInfo).port;
    const s = new OpenAiRealtimeServer(http, wss, `http://127.0.0.1:${port}/v1`);
    http.on('upgrade', (req, socket, head) => {
      const fail = s.#upgradeFailures.shift();
      if (fail) {
        const body = JSON.stringify(fail.body);
        const extra = Object.entries(fail.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        socket.end(`HTTP/1.1 ${fail.status} Error\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => s.#session(ws, req.url ?? '', req.headers));
    });
    return s;
  }

  /** The next responses, in order (one per response.create or VAD turn); a line asked for verbatim needs none. */
  reply(...r: RealtimeReply[]): void {
    this.#replies.push(...r);
  }

  /** What the transcription "hears" for the callee's next turns (default: "hello"). */
  hear(...texts: string[]): void {
    this.#hearing.push(...texts);
  }

  failNextUpgrade(f: UpgradeFailure): void {
    this.#upgradeFailures.push(f);
  }

  get last(): RecordedConnection | undefined {
    return this.connections.at(-1);
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    await new Promise<void>((r) => this.http.close(() => r()));
  }

  #session(ws: WebSocket, url: string, headers: IncomingHttpHeaders): void {
    const rec: RecordedConnection = { url, headers, events: [], appendedMs: 0, session: { type: 'realtime' }, speechStoppedAt: [], firstDeltaAt: [], closed: false };
    this.connections.push(rec);
    const send = (e: Record<string, unknown>) => ws.readyState === ws.OPEN && ws.send(JSON.stringify({ event_id: id('event'), ...e }));
    const conn = new Connection(this, rec, send, () => ws.terminate());
    ws.on('close', () => {
      rec.closed = true;
      conn.cancel(false);
    });
    ws.on('message', (data) => {
      const e = JSON.parse(String(data)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (e.type !== 'input_audio_buffer.append') rec.events.push({ at: performance.now(), event: e });
      conn.onClient(e).catch((err: unknown) => send({ type: 'error', error: { type: 'server_error', message: String(err) } }));
    });
    setTimeout(() => send({ type: 'session.created', session: { id: id('sess'), object: 'realtime.session', ...rec.session } }), this.sessionCreatedDelayMs);
  }

  /** @internal */
  nextReply(instructions: string | undefined): RealtimeReply {
    const quoted = instructions ? /"([^"]+)"\s*$/.exec(instructions) : null;
    if (quoted) return { kind: 'say', text: quoted[1] as string };
    return this.#replies.shift() ?? { kind: 'say', text: 'Okay.' };
  }

  /** @internal */
  nextHearing(): string {
    return this.#hearing.shift() ?? 'hello';
  }

  /** @internal Speech at the format's rate, as the format's bytes, in 100 ms pieces. */
  async speech(text: string, f: Format): Promise<Buffer[]> {
    const rate = f.type === 'audio/pcm' ? 24000 : 8000;
    const chunks: Int16Array[] = [];
    for await (const c of this.#tts.synthesize({ text, sampleRate: rate })) chunks.push(c);
    const all = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of chunks) all.set(c, (o += c.length) - c.length);
    const out: Buffer[] = [];
    const step = rate / 10;
    for (let i = 0; i < all.length; i += step) {
      const pcm = all.subarray(i, i + step);
      out.push(f.type === 'audio/pcmu' ? Buffer.from(encodeMuLaw(pcm)) : f.type === 'audio/pcma' ? Buffer.from(encodeALaw(pcm)) : Buffer.from(pcm16ToBase64(pcm), 'base64'));
    }
    return out;
  }
}

/** One client connection: its session, server VAD, the response in progress. */
class Connection {
  #vad: VadStream | undefined;
  #vadChain: Promise<void> = Promise.resolve();
  #chunker: FrameChunker | undefined;
  #resampler: Resampler | undefined;
  #audioMs = 0;
  #userItem: string | undefined;
  /** What the transcription of the user turn under way will say (taken from the hearing queue when it began). */
  #userHeard: string | undefined;
  #response: { id: string; cancelled: boolean; done: () => void } | undefined;

  constructor(
    private readonly server: OpenAiRealtimeServer,
    private readonly rec: RecordedConnection,
    private readonly send: (e: Record<string, unknown>) => void,
    private readonly drop: () => void,
  ) {}

  #format(dir: 'input' | 'output'): Format {
    return (this.rec.session.audio?.[dir]?.format as Format | undefined) ?? { type: 'audio/pcm', rate: 24000 };
  }

  async onClient(e: Record<string, any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
    switch (e.type) {
      case 'session.update': {
        this.rec.session = merge(this.rec.session, e.session ?? {});
        this.#vad = undefined; // rebuilt with the new settings on the next audio
        this.send({ type: 'session.updated', session: this.rec.session });
        return;
      }
      case 'input_audio_buffer.append':
        return this.#append(String(e.audio));
      case 'response.create':
        return void this.#respond(e.response?.instructions);
      case 'response.cancel':
        return this.cancel(true);
      case 'conversation.item.truncate':
        this.send({ type: 'conversation.item.truncated', item_id: e.item_id, content_index: e.content_index, audio_end_ms: e.audio_end_ms });
        return;
      case 'conversation.item.create':
        this.send({ type: 'conversation.item.added', item: { id: id('item'), ...e.item } });
        return;
      case 'input_audio_buffer.commit':
        return this.#commit();
      default:
        return;
    }
  }

  async #append(b64: string): Promise<void> {
    const f = this.#format('input');
    const bytes = Buffer.from(b64, 'base64');
    let pcm = f.type === 'audio/pcmu' ? decodeMuLaw(bytes) : f.type === 'audio/pcma' ? decodeALaw(bytes) : pcm16FromBytes(bytes);
    this.rec.appendedMs += f.type === 'audio/pcm' ? pcm.length / 24 : pcm.length / 8;
    const rate = f.type === 'audio/pcm' ? 16000 : 8000;
    if (!this.#vad) {
      const td = this.rec.session.audio?.input?.turn_detection;
      if (!td) return;
      this.#chunker = new FrameChunker(samplesPerFrame(rate));
      this.#resampler = f.type === 'audio/pcm' ? new Resampler(24000, 16000) : undefined;
      this.#vad = await new EnergyVad().create({ sampleRate: rate, minSpeechMs: 200, minSilenceMs: td.silence_duration_ms ?? 500 });
    }
    if (this.#resampler) pcm = this.#resampler.process(pcm);
    const vad = this.#vad;
    for (const frame of this.#chunker?.push(pcm) ?? []) {
      this.#vadChain = this.#vadChain.then(async () => {
        const r = await vad.push(frame);
        this.#audioMs += 20;
        for (const ev of r.events) this.#onVad(ev.type, ev.atMs);
      });
    }
    await this.#vadChain;
  }

  #onVad(type: 'speech_start' | 'speech_end', atMs: number): void {
    const td = this.rec.session.audio?.input?.turn_detection ?? {};
    if (type === 'speech_start') {
      this.#userItem = id('item');
      // What the transcription will hear is fixed when the turn begins (its audio is this turn's).
      this.#userHeard = this.server.nextHearing();
      // audio_start_ms includes prefix_padding_ms (server-events reference).
      this.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: Math.max(0, atMs - (td.prefix_padding_ms ?? 300)), item_id: this.#userItem });
      if (td.interrupt_response !== false) this.cancel(false);
      return;
    }
    const item = this.#userItem ?? id('item');
    const heard = this.#userHeard ?? this.server.nextHearing();
    this.#userItem = undefined;
    this.#userHeard = undefined;
    this.rec.speechStoppedAt.push(performance.now());
    this.send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: Math.round(this.#audioMs), item_id: item });
    this.send({ type: 'input_audio_buffer.committed', item_id: item, previous_item_id: null });
    this.send({ type: 'conversation.item.added', item: { id: item, type: 'message', role: 'user', content: [{ type: 'input_audio', transcript: null }] } });
    setTimeout(() => this.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: item, content_index: 0, transcript: heard }), 30);
    if (td.create_response !== false) void this.#respond(undefined);
  }

  /**
   * A commit by the client: the audio of the user turn under way becomes an item (committed, added,
   * then its transcription), with no response (the client did not ask for one); with nothing
   * buffered, the documented error.
   */
  #commit(): void {
    const item = this.#userItem;
    if (!item) {
      this.send({ type: 'error', error: { type: 'invalid_request_error', code: 'input_audio_buffer_commit_empty', message: 'Error committing input audio buffer: buffer too small.' } });
      return;
    }
    const heard = this.#userHeard ?? this.server.nextHearing();
    this.#userItem = undefined;
    this.#userHeard = undefined;
    this.send({ type: 'input_audio_buffer.committed', item_id: item, previous_item_id: null });
    this.send({ type: 'conversation.item.added', item: { id: item, type: 'message', role: 'user', content: [{ type: 'input_audio', transcript: null }] } });
    setTimeout(() => this.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: item, content_index: 0, transcript: heard }), 30);
  }

  /** Stops the response in progress: response.done with status cancelled. */
  cancel(byClient: boolean): void {
    const r = this.#response;
    if (!r) {
      if (byClient) this.send({ type: 'error', error: { type: 'invalid_request_error', code: 'response_cancel_not_active', message: 'Cancellation failed: no active response found' } });
      return;
    }
    r.cancelled = true;
    this.#response = undefined;
    this.send({ type: 'response.done', response: { id: r.id, object: 'realtime.response', status: 'cancelled', status_details: { type: 'cancelled', reason: byClient ? 'client_cancelled' : 'turn_detected' }, output: [] } });
    r.done();
  }

  async #respond(instructions: string | undefined): Promise<void> {
    if (this.#response) {
      this.send({ type: 'error', error: { type: 'invalid_request_error', code: 'conversation_already_has_active_response', message: 'Conversation already has an active response' } });
      return;
    }
    const reply = this.server.nextReply(instructions);
    if (reply.kind === 'error') return this.send({ type: 'error', error: { type: reply.type, code: reply.code ?? null, message: reply.message } });
    const rid = id('resp');
    let finished!: () => void;
    const r = { id: rid, cancelled: false, done: () => finished() };
    const over = new Promise<void>((res) => (finished = res));
    this.#response = r;
    this.send({ type: 'response.created', response: { id: rid, object: 'realtime.response', status: 'in_progress', output: [] } });
    const delay = 'firstDeltaDelayMs' in reply ? (reply.firstDeltaDelayMs ?? 0) : 0;
    if (delay > 0) await Promise.race([sleep(delay), over]);
    if (r.cancelled) return;
    if (reply.kind === 'fail') {
      this.#response = undefined;
      return this.send({ type: 'response.done', response: { id: rid, status: 'failed', status_details: { type: 'failed', error: { type: 'server_error', message: reply.message } }, output: [] } });
    }
    const item = id('item');
    const base = { response_id: rid, item_id: item, output_index: 0 };
    if (reply.kind === 'function_call') {
      const callId = reply.callId ?? id('call');
      const fc = { id: item, type: 'function_call', status: 'completed', name: reply.name, call_id: callId, arguments: reply.arguments };
      this.send({ type: 'response.output_item.added', response_id: rid, output_index: 0, item: { ...fc, status: 'in_progress', arguments: '' } });
      this.send({ type: 'response.function_call_arguments.delta', ...base, call_id: callId, delta: reply.arguments });
      this.send({ type: 'response.function_call_arguments.done', ...base, call_id: callId, name: reply.name, arguments: reply.arguments });
      this.send({ type: 'response.output_item.done', response_id: rid, output_index: 0, item: fc });
      this.#response = undefined;
      this.send({ type: 'response.done', response: { id: rid, status: 'completed', output: [fc] } });
      return;
    }
    const f = this.#format('output');
    const pieces = await this.server.speech(reply.text, f);
    if (r.cancelled) return;
    const words = reply.text.split(/\s+/);
    const part = { ...base, content_index: 0 };
    this.send({ type: 'response.output_item.added', response_id: rid, output_index: 0, item: { id: item, type: 'message', role: 'assistant', status: 'in_progress', content: [] } });
    this.send({ type: 'response.content_part.added', ...part, part: { type: 'audio', transcript: '' } });
    let w = 0;
    for (let i = 0; i < pieces.length; i++) {
      if (r.cancelled) return;
      if (reply.kind === 'drop' && i === reply.afterDeltas) return this.drop();
      if (i === 0) this.rec.firstDeltaAt.push(performance.now());
      this.send({ type: 'response.output_audio.delta', ...part, delta: (pieces[i] as Buffer).toString('base64') });
      // Transcript deltas keep pace with the audio, as the model's do.
      const upTo = Math.ceil(((i + 1) / pieces.length) * words.length);
      if (upTo > w) this.send({ type: 'response.output_audio_transcript.delta', ...part, delta: (w > 0 ? ' ' : '') + words.slice(w, upTo).join(' ') });
      w = upTo;
      const pace = reply.kind === 'say' ? (reply.paceMs ?? 0) : 0;
      if (pace > 0) await Promise.race([sleep(pace), over]);
    }
    if (r.cancelled) return;
    this.send({ type: 'response.output_audio.done', ...part });
    this.send({ type: 'response.output_audio_transcript.done', ...part, transcript: reply.text });
    this.send({ type: 'response.content_part.done', ...part, part: { type: 'audio', transcript: reply.text } });
    const msg = { id: item, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_audio', transcript: reply.text }] };
    this.send({ type: 'response.output_item.done', response_id: rid, output_index: 0, item: msg });
    this.#response = undefined;
    this.send({ type: 'response.done', response: { id: rid, status: 'completed', output: [msg] } });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Deep merge of a session.update into the session (only the fields present change). An audio
 * `format` is one value, a type with its own fields (audio/pcm has a rate, audio/pcmu none): a new
 * one replaces the old whole, as the API documents it.
 */
function merge(a: Record<string, any>, b: Record<string, any>): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const nested = k !== 'format' && v !== null && typeof v === 'object' && !Array.isArray(v) && typeof a[k] === 'object' && a[k] !== null;
    out[k] = nested ? merge(a[k], v) : v;
  }
  return out;
}
