/**
 * Deepgram live streaming speech-to-text (Nova models), over one WebSocket per stream, as documented at
 * https://developers.deepgram.com/reference/speech-to-text-api/listen-streaming (the "Listen" streaming
 * reference), https://developers.deepgram.com/docs/understand-endpointing-interim-results (interim results,
 * is_final, speech_final), https://developers.deepgram.com/docs/close-stream (CloseStream), and
 * https://developers.deepgram.com/docs/stt-troubleshooting-websocket-data-and-net-errors (close codes).
 *
 * - Connect to `wss://api.deepgram.com/v1/listen?encoding=linear16&sample_rate=...` with
 *   `Authorization: Token <key>`; an upgrade refused with 4xx/5xx carries `{"err_code","err_msg","request_id"}`.
 * - Send raw PCM16 little-endian frames as binary messages (the query says what they are).
 * - `Results` messages: `is_final: false` are interim hypotheses (partials); `is_final: true` pieces are
 *   settled text, and `speech_final: true` marks the end of an utterance (endpointing). An
 *   `UtteranceEnd` (utterance_end_ms) also ends one. `start`/`duration` and word times are seconds
 *   from the first byte of audio.
 * - `{"type":"CloseStream"}` asks the server to finish: it sends the last Results, a `Metadata`, and closes.
 * - Errors during the stream arrive as a close frame: 1008 (DATA-0000, audio it cannot decode),
 *   1011 (NET-0000 internal, NET-0001 no audio within the timeout).
 */
import type { Clock } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { redact } from '../llm/http-errors.js';
import { booleanOption, numberOption, requireApiKey, stringOption, type ResolvedProviderSettings } from '../settings.js';
import type { SttProvider, SttStartOptions } from './types.js';
import { toWsUrl, WsSttStream } from './ws-stream.js';

export const DEEPGRAM_STT_RATES = [8000, 16000] as const;

export interface DeepgramSttConfig {
  apiKey: string;
  /** Up to and including /v1, ws(s) or http(s). */
  baseUrl: string;
  model: string;
  language: string;
  endpointingMs: number;
  utteranceEndMs: number | undefined;
  smartFormat: boolean;
  punctuate: boolean;
  /** Terms to boost: `keyterm` on nova-3, `keywords` on older models. */
  keywords: string[];
  connectTimeoutMs: number;
  endTimeoutMs: number;
}

const bad = (m: string) => new ProviderError('provider_bad_request', `deepgram stt: ${m}`, false);

/** Everything about the settings that can be checked without the network (model names are not checked). */
export function checkDeepgramSttSettings(s: ResolvedProviderSettings): Omit<DeepgramSttConfig, 'apiKey'> {
  const endpointingMs = numberOption(s, 'endpointing_ms') ?? 300;
  if (!(endpointingMs >= 10 && endpointingMs <= 10_000)) throw bad(`endpointing_ms must be 10..10000, got ${endpointingMs}`);
  const utteranceEndMs = numberOption(s, 'utterance_end_ms');
  // Deepgram's UtteranceEnd works on a 1000 ms minimum gap (its docs: values below 1000 are not useful).
  if (utteranceEndMs !== undefined && !(utteranceEndMs >= 1000 && utteranceEndMs <= 5000)) throw bad(`utterance_end_ms must be 1000..5000, got ${utteranceEndMs}`);
  const connectTimeoutMs = numberOption(s, 'connect_timeout_ms') ?? 3000;
  const endTimeoutMs = numberOption(s, 'end_timeout_ms') ?? 5000;
  if (!(connectTimeoutMs > 0) || !(endTimeoutMs > 0)) throw bad('connect_timeout_ms and end_timeout_ms must be > 0');
  const keywords = (stringOption(s, 'keywords') ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '');
  const baseUrl = toWsUrl(s.base_url ?? 'wss://api.deepgram.com/v1');
  if (!/^wss?:\/\/[^/]/i.test(baseUrl)) throw bad(`base_url must be an http(s) or ws(s) URL, got ${JSON.stringify(s.base_url)}`);
  return {
    baseUrl,
    model: s.model ?? 'nova-3',
    language: s.language ?? 'en-US',
    endpointingMs,
    utteranceEndMs,
    smartFormat: booleanOption(s, 'smart_format') ?? true,
    punctuate: booleanOption(s, 'punctuate') ?? true,
    keywords,
    connectTimeoutMs,
    endTimeoutMs,
  };
}

export function createDeepgramStt(s: ResolvedProviderSettings, extra: { clock?: Clock } = {}): DeepgramStt {
  const cfg = { ...checkDeepgramSttSettings(s), apiKey: requireApiKey('stt', s) };
  return new DeepgramStt(cfg, extra.clock);
}

export class DeepgramStt implements SttProvider {
  readonly name = 'deepgram';
  readonly capabilities = { streaming: true, interimResults: true, sampleRates: DEEPGRAM_STT_RATES } as const;

  constructor(
    private readonly cfg: DeepgramSttConfig,
    private readonly clock?: Clock,
  ) {}

  /** The listen URL for one stream (exported for tests and diagnostics; carries no secret). */
  listenUrl(sampleRate: number, language: string): string {
    const c = this.cfg;
    const q = new URLSearchParams({
      encoding: 'linear16',
      sample_rate: String(sampleRate),
      channels: '1',
      model: c.model,
      language,
      interim_results: 'true',
      endpointing: String(c.endpointingMs),
      smart_format: String(c.smartFormat),
      punctuate: String(c.punctuate),
    });
    if (c.utteranceEndMs !== undefined) q.set('utterance_end_ms', String(c.utteranceEndMs));
    // Keyterm prompting is Nova-3's; earlier models take `keywords` (each may carry a :boost).
    const param = c.model.startsWith('nova-3') ? 'keyterm' : 'keywords';
    for (const k of c.keywords) q.append(param, k);
    return `${c.baseUrl}/listen?${q.toString()}`;
  }

  start(opts: SttStartOptions): DeepgramStream {
    if (!(DEEPGRAM_STT_RATES as readonly number[]).includes(opts.sampleRate)) {
      throw new ProviderError('unsupported_audio', `deepgram stt takes 8000 or 16000 Hz audio here, not ${opts.sampleRate} Hz`, false);
    }
    const c = this.cfg;
    return new DeepgramStream({
      provider: 'deepgram',
      url: this.listenUrl(opts.sampleRate, opts.language ?? c.language),
      headers: { Authorization: `Token ${c.apiKey}` },
      secret: c.apiKey,
      connectTimeoutMs: c.connectTimeoutMs,
      endTimeoutMs: c.endTimeoutMs,
      ...(this.clock ? { clock: this.clock } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      normalizeErrorBody: deepgramErrorBody,
    });
  }
}

/** Deepgram's `{"err_code","err_msg","request_id"}` in the `{"error": {...}}` shape errorFromResponse reads. */
export function deepgramErrorBody(body: string): string {
  try {
    const v = JSON.parse(body) as Record<string, unknown>;
    if (typeof v.err_msg === 'string' || typeof v.err_code === 'string') {
      const id = typeof v.request_id === 'string' ? ` (request_id ${v.request_id})` : '';
      return JSON.stringify({ error: { message: `${String(v.err_msg ?? '')}${id}`, code: v.err_code } });
    }
  } catch {
    // not JSON: shown as text
  }
  return body;
}

interface DgWord {
  start: number;
  end: number;
}
interface Piece {
  text: string;
  start: number;
  end: number;
  confidence: number | undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export class DeepgramStream extends WsSttStream {
  /** Settled (is_final) pieces of the utterance in progress. */
  #pieces: Piece[] = [];

  constructor(cfg: ConstructorParameters<typeof WsSttStream>[0]) {
    super(cfg);
    this.connect();
  }

  protected openingMessages(): Array<string | Buffer> {
    return []; // everything is in the query string
  }

  protected encodeAudio(frame: Int16Array): Buffer[] {
    // Copy: the caller may reuse its buffer, and the send completes later. PCM16 LE (x86/ARM are LE).
    return [Buffer.from(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength))];
  }

  protected onEnd(): void {
    this.send(JSON.stringify({ type: 'CloseStream' }));
  }

  protected onText(text: string): void {
    const m = JSON.parse(text) as unknown;
    if (typeof m !== 'object' || m === null || typeof (m as { type?: unknown }).type !== 'string') {
      throw new ProviderError('provider_failed', `deepgram: a message without a type: ${text.slice(0, 200)}`, true);
    }
    const msg = m as Record<string, unknown>;
    switch (msg.type) {
      case 'Results':
        return this.#onResults(msg);
      case 'UtteranceEnd':
        return this.#flush();
      case 'Metadata':
        // After CloseStream, Metadata is the last message: everything heard has been reported.
        if (this.ended) {
          this.#flush();
          this.finish();
        }
        return;
      case 'Error': {
        const detail = [msg.err_code, msg.variant, msg.description, msg.err_msg, msg.message].filter((x) => typeof x === 'string' && x !== '').join(': ');
        this.finish(new ProviderError('provider_failed', redact(`deepgram error: ${detail || text.slice(0, 200)}`, this.cfg.secret), true));
        return;
      }
      default:
        return; // SpeechStarted and future message types
    }
  }

  #onResults(msg: Record<string, unknown>): void {
    const channel = msg.channel as { alternatives?: Array<Record<string, unknown>> } | undefined;
    const alt = channel?.alternatives?.[0];
    if (!alt || typeof alt.transcript !== 'string') throw new ProviderError('provider_failed', 'deepgram: a Results message without channel.alternatives[0].transcript', true);
    const transcript = alt.transcript.trim();
    const start = num(msg.start) ?? 0;
    const duration = num(msg.duration) ?? 0;
    if (msg.is_final === true) {
      if (transcript !== '') {
        const words = Array.isArray(alt.words) ? (alt.words as DgWord[]).filter((w) => num(w?.start) !== undefined && num(w?.end) !== undefined) : [];
        const first = words[0];
        const last = words[words.length - 1];
        // Word times bound the speech; the piece's start/duration bound the audio window it covers.
        this.#pieces.push({ text: transcript, start: first ? first.start : start, end: last ? last.end : start + duration, confidence: num(alt.confidence) });
        this.emit({ type: 'partial', text: this.#pieces.map((p) => p.text).join(' ') });
      }
      if (msg.speech_final === true) this.#flush();
      return;
    }
    if (transcript !== '') this.emit({ type: 'partial', text: [...this.#pieces.map((p) => p.text), transcript].join(' ') });
  }

  /** The settled pieces so far become one final. */
  #flush(): void {
    const pieces = this.#pieces;
    if (pieces.length === 0) return;
    this.#pieces = [];
    const first = pieces[0] as Piece;
    const last = pieces[pieces.length - 1] as Piece;
    const confs = pieces.flatMap((p) => (p.confidence === undefined ? [] : [p.confidence]));
    const startMs = Math.max(0, Math.round(first.start * 1000));
    const endMs = Math.max(startMs, Math.round(last.end * 1000));
    const ev = { type: 'final' as const, text: pieces.map((p) => p.text).join(' '), startMs, endMs };
    this.emit(confs.length > 0 ? { ...ev, confidence: Math.min(1, Math.max(0, confs.reduce((a, b) => a + b, 0) / confs.length)) } : ev);
  }

  protected closeError(code: number, reason: string): ProviderError | undefined {
    const why = `deepgram closed the stream: ${code}${reason ? ` ${reason}` : ''}`;
    if (code === 1000) {
      this.#flush(); // a close after CloseStream without Metadata still delivers what was settled
      return undefined;
    }
    if (code === 1008) return new ProviderError('provider_bad_request', `${why} (audio it cannot decode: check encoding and sample_rate)`, false);
    if (code === 1011 && /NET-0001/.test(reason)) return new ProviderError('provider_timeout', `${why} (no audio reached Deepgram in time)`, true);
    if (code === 1006) return new ProviderError('provider_failed', 'deepgram: the connection dropped mid-stream', true);
    return new ProviderError('provider_failed', why, true);
  }
}
