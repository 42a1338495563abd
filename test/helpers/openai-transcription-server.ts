/**
 * A local server speaking OpenAI's documented Realtime transcription protocol (GA: a WebSocket at
 * /v1/realtime?intent=transcription configured by `session.update` with `session.type: "transcription"`;
 * see src/providers/stt/openai.ts for the doc pages), with real recognition behind it.
 *
 * - `session.created` on connect; `session.update` merges the config and answers `session.updated`.
 * - `input_audio_buffer.append` (base64 `audio/pcm` 24 kHz or `audio/pcmu` 8 kHz) feeds the buffer
 *   and a server VAD (energy, with the session's silence_duration_ms): `speech_started` with
 *   audio_start_ms (speech onset minus prefix_padding_ms, as documented) and, after that much
 *   silence, `speech_stopped` with audio_end_ms (which includes the silence, as documented), then
 *   `committed`. A client `input_audio_buffer.commit` commits too, or answers the documented
 *   `input_audio_buffer_commit_empty` error under 100 ms of audio.
 * - Each committed item's audio (converted to 16 kHz) is transcribed by the project's
 *   PocketsphinxStt; the text goes out as one `...transcription.delta` per word, then
 *   `...transcription.completed`. Items are transcribed one after another, in commit order.
 */
import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import { decodeMuLaw } from '../../src/media/g711.js';
import { Resampler } from '../../src/media/resampler.js';
import { PocketsphinxStt } from '../../src/providers/stt/pocketsphinx.js';
import { rmsDbfs } from '../../src/providers/vad/energy.js';
import { pcmFromBytes, WsVendorServer, type Session } from './ws-vendor-server.js';

export interface OpenAiTranscriptionServerOptions {
  apiKey?: string;
  /** Answer `conversation.item.input_audio_transcription.failed` instead of completed. */
  failTranscription?: boolean;
  /** A transcription model name refused with invalid_request_error on session.update. */
  rejectModel?: string;
}

export interface OpenAiTimings {
  /** From a commit to its `completed`: the recognizer's time per utterance. */
  transcribeMs: number[];
}

/** Audio louder than this counts as speech for the server VAD. */
const SPEECH_DBFS = -45;

export async function startOpenAiTranscriptionServer(o: OpenAiTranscriptionServerOptions = {}): Promise<{ server: WsVendorServer; timings: OpenAiTimings }> {
  const timings: OpenAiTimings = { transcribeMs: [] };
  const server = await WsVendorServer.start(
    {
      audioOf: (data: RawData, isBinary: boolean) => {
        if (isBinary) return undefined;
        const text = String(data);
        if (!text.includes('"input_audio_buffer.append"')) return undefined;
        try {
          const m = JSON.parse(text) as { type?: string; audio?: string };
          return m.type === 'input_audio_buffer.append' && typeof m.audio === 'string' ? Buffer.from(m.audio, 'base64') : undefined;
        } catch {
          return undefined;
        }
      },
      onConnection: (ws, session) => new TranscriptionSession(ws, session, o, timings),
    },
    '/v1',
  );
  return { server, timings };
}

/** OpenAI's error body for a refused upgrade (tests script the status). */
export function openAiErrorBody(message: string, type: string, code: string | null): Record<string, unknown> {
  return { error: { message, type, code, param: null } };
}

/** A client event as this server reads it (JSON from the client: every field may be missing). */
interface ClientEvent {
  type?: unknown;
  event_id?: string;
  audio?: unknown;
  session?: { type?: unknown; audio?: { input?: InputConfig } };
}

/** session.audio.input: what a session.update may set. */
interface InputConfig {
  format?: unknown;
  transcription?: { model?: unknown } | null;
  turn_detection?: unknown;
  [field: string]: unknown;
}

class TranscriptionSession {
  #config: InputConfig = {
    format: { type: 'audio/pcm', rate: 24000 },
    transcription: null,
    turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
  };
  readonly #id = `sess_${randomUUID()}`;
  #resampler: Resampler | undefined;
  #resamplerFor = '';
  /** Audio ms since the session started, and the buffer (16 kHz) since the last commit. */
  #nowMs = 0;
  #buffer: Int16Array[] = [];
  #bufferMs = 0;
  #speaking: string | undefined;
  #silenceMs = 0;
  #lastItem: string | null = null;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly session: Session,
    private readonly o: OpenAiTranscriptionServerOptions,
    private readonly timings: OpenAiTimings,
  ) {
    const auth = String(session.headers.authorization ?? '');
    const key = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!key || (o.apiKey !== undefined && key !== o.apiKey) || session.path !== '/v1/realtime' || session.query.get('intent') !== 'transcription') {
      // The real service refuses a bad key at the upgrade (tests script that); anything unscripted fails loudly.
      this.#error('invalid_request_error', 'invalid_api_key', 'bad key, path or intent for this test server');
      ws.close(1008, 'policy');
      return;
    }
    ws.on('close', () => (this.#closed = true));
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    this.#send({ type: 'session.created', session: this.#sessionObject() });
  }

  #send(m: Record<string, unknown>): void {
    if (!this.session.faulted && !this.#closed && this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify({ event_id: `event_${randomUUID()}`, ...m }));
  }

  #error(type: string, code: string | null, message: string, eventId?: string, param: string | null = null): void {
    this.#send({ type: 'error', error: { type, code, message, param, event_id: eventId ?? null } });
  }

  #sessionObject(): Record<string, unknown> {
    return { object: 'realtime.session', type: 'transcription', id: this.#id, audio: { input: this.#config } };
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.session.faulted || isBinary) return;
    let m: ClientEvent;
    try {
      m = JSON.parse(String(data)) as ClientEvent;
    } catch {
      return this.#error('invalid_request_error', 'invalid_json', 'The server could not parse the JSON of the event.');
    }
    switch (m.type) {
      case 'session.update': {
        const s = m.session;
        if (s?.type !== 'transcription') return this.#error('invalid_request_error', 'invalid_value', "session.type must be 'transcription' on this connection", m.event_id, 'session.type');
        const input = s.audio?.input ?? {};
        if (this.o.rejectModel !== undefined && input.transcription?.model === this.o.rejectModel) {
          return this.#error('invalid_request_error', 'invalid_value', `Invalid value: '${this.o.rejectModel}'. Supported values are: 'whisper-1', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe'.`, m.event_id, 'session.audio.input.transcription.model');
        }
        this.#config = { ...this.#config, ...input };
        return this.#send({ type: 'session.updated', session: this.#sessionObject() });
      }
      case 'input_audio_buffer.append':
        return this.#append(Buffer.from(String(m.audio ?? ''), 'base64'));
      case 'input_audio_buffer.commit':
        if (this.#bufferMs < 100) {
          return this.#error('invalid_request_error', 'input_audio_buffer_commit_empty', `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${this.#bufferMs.toFixed(2)}ms of audio.`, m.event_id);
        }
        return this.#commit(this.#speaking ?? `item_${randomUUID()}`);
      case 'input_audio_buffer.clear':
        this.#buffer = [];
        this.#bufferMs = 0;
        return this.#send({ type: 'input_audio_buffer.cleared' });
      default:
        return this.#error('invalid_request_error', 'invalid_value', `Invalid value: '${String(m.type)}'.`, m.event_id, 'type');
    }
  }

  /** Decodes one append to PCM at its own rate (for the VAD) and at 16 kHz (for the recognizer). */
  #decode(bytes: Buffer): { pcm: Int16Array; rate: number; wide: Int16Array } {
    const fmt = this.#config.format as { type: string; rate?: number };
    const pcmu = fmt.type === 'audio/pcmu';
    const rate = pcmu ? 8000 : 24000;
    const pcm = pcmu ? decodeMuLaw(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)) : pcmFromBytes(bytes);
    if (this.#resamplerFor !== fmt.type) {
      this.#resampler = new Resampler(rate, 16000);
      this.#resamplerFor = fmt.type;
    }
    return { pcm, rate, wide: (this.#resampler as Resampler).process(pcm) };
  }

  #append(bytes: Buffer): void {
    const { pcm, rate, wide } = this.#decode(bytes);
    const startMs = this.#nowMs;
    const ms = (pcm.length * 1000) / rate;
    this.#nowMs += ms;
    this.#buffer.push(wide);
    this.#bufferMs += ms;
    const td = this.#config.turn_detection as { prefix_padding_ms?: number; silence_duration_ms?: number } | null;
    if (!td) return;
    const loud = pcm.length > 0 && rmsDbfs(pcm) > SPEECH_DBFS;
    if (this.#speaking === undefined) {
      if (!loud) return;
      this.#speaking = `item_${randomUUID()}`;
      this.#silenceMs = 0;
      this.#send({ type: 'input_audio_buffer.speech_started', audio_start_ms: Math.max(0, Math.round(startMs - (td.prefix_padding_ms ?? 300))), item_id: this.#speaking });
      return;
    }
    this.#silenceMs = loud ? 0 : this.#silenceMs + ms;
    if (this.#silenceMs >= (td.silence_duration_ms ?? 500)) {
      const id = this.#speaking;
      this.#send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: Math.round(this.#nowMs), item_id: id });
      this.#commit(id);
    }
  }

  #commit(itemId: string): void {
    const audio = this.#buffer;
    this.#buffer = [];
    this.#bufferMs = 0;
    this.#speaking = undefined;
    this.#send({ type: 'input_audio_buffer.committed', previous_item_id: this.#lastItem, item_id: itemId });
    this.#lastItem = itemId;
    const t0 = performance.now();
    this.#queue = this.#queue
      .then(() => this.#transcribe(itemId, audio, t0))
      .catch((err: unknown) => this.#send({ type: 'conversation.item.input_audio_transcription.failed', item_id: itemId, content_index: 0, error: { type: 'server_error', code: null, message: String(err), param: null } }));
  }

  async #transcribe(itemId: string, audio: Int16Array[], t0: number): Promise<void> {
    if (this.#closed || this.session.faulted) return;
    if (this.o.failTranscription) {
      return this.#send({ type: 'conversation.item.input_audio_transcription.failed', item_id: itemId, content_index: 0, error: { type: 'transcription_error', code: 'audio_unintelligible', message: 'Audio file might be corrupted or unsupported', param: 'file' } });
    }
    const ac = new AbortController();
    const onClose = () => ac.abort();
    this.ws.once('close', onClose);
    const stream = new PocketsphinxStt().start({ sampleRate: 16000, signal: ac.signal });
    for (const chunk of audio) for (let i = 0; i < chunk.length; i += 320) stream.push(chunk.subarray(i, i + 320));
    stream.end();
    const words: string[] = [];
    for await (const e of stream) {
      if (e.type === 'final') words.push(...e.text.split(/\s+/).filter(Boolean));
      if (e.type === 'error') throw e.error;
    }
    this.ws.off('close', onClose);
    words.forEach((w, i) => this.#send({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta: i === 0 ? w : ` ${w}` }));
    this.timings.transcribeMs.push(performance.now() - t0);
    this.#send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript: words.join(' '), usage: { type: 'duration', seconds: audio.reduce((n, c) => n + c.length, 0) / 16000 } });
  }
}
