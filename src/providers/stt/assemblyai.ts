/**
 * AssemblyAI Universal-Streaming (Streaming API v3) speech-to-text, over one WebSocket per stream, as
 * documented at https://www.assemblyai.com/docs/api-reference/streaming-api/streaming-api (the v3
 * reference: query parameters, messages), https://www.assemblyai.com/docs/speech-to-text/universal-streaming
 * (audio requirements, message types), .../universal-streaming/message-sequence (how the messages of
 * one turn follow each other), .../universal-streaming/turn-detection (end of turn and its three
 * parameters), https://www.assemblyai.com/docs/universal-streaming/keyterms-prompting and
 * https://www.assemblyai.com/docs/streaming/common-session-errors-and-closures (close codes, the Error message).
 *
 * - Connect to `wss://streaming.assemblyai.com/v3/ws?sample_rate=...&encoding=...&speech_model=...` with
 *   the API key as the whole `Authorization` header value (no scheme). `speech_model` is always sent:
 *   the current docs make it required.
 * - Audio goes as binary messages of raw samples, each 50 to 1000 ms long: a message outside that range
 *   ends the session ("Input duration violation"). The pipeline pushes 20 ms frames, so they are
 *   gathered into `chunk_ms` chunks (50 ms by default, the documented recommendation, adding the least
 *   delay), and the tail at end() is padded with silence up to 50 ms. Narrowband legs go as
 *   `pcm_mulaw` at 8000 Hz (the call's own G.711 samples, no resampling hop), wideband as `pcm_s16le`
 *   at 16000 Hz.
 * - `Begin` says the session started. `Turn` messages carry the words of the current turn so far
 *   (`words`: text, start/end in ms from the start of the audio, confidence, word_is_final) and
 *   `transcript` (its finalized words); `end_of_turn: true` ends the turn (the vendor's endpointing:
 *   end_of_turn_confidence_threshold, min_end_of_turn_silence_when_confident, max_turn_silence). With
 *   `format_turns`, one more Turn of the same `turn_order` follows with `turn_is_formatted: true`
 *   (punctuation, casing, numbers).
 * - `{"type":"ForceEndpoint"}` ends the current turn at once; `{"type":"Terminate"}` ends the session:
 *   the server sends what is left, then `Termination`, then closes.
 * - An error ends the session with a close code; the current docs add an `Error` text frame
 *   (`{"type":"Error","error_code","error"}`) just before the close, with the same code and the full
 *   text (a close reason is cut at 123 bytes). 1008 is an unauthorized connection (missing or invalid
 *   key, an account problem, or too many concurrent sessions); 3005 a server error (older docs put every
 *   session error under 3005 and tell them apart by the reason); 3006 an invalid message; 3007 an
 *   input duration violation or audio sent faster than real time; 3008 the 3-hour session limit; 3009
 *   too many concurrent sessions.
 *
 * Which Turn becomes our `final`: with format_turns off (the default) the end_of_turn message itself,
 * because AssemblyAI recommends not waiting for formatting in voice agents (it adds latency before the
 * reply can start). With format_turns on, the formatted Turn: whoever turned it on wants the
 * punctuated text in the transcript, and the unformatted end-of-turn text is shown as a partial in the
 * meantime. The formatted copy is waited for only while nothing else happens: a later turn,
 * `Termination`, an error or the close settle the unformatted text as the final, so a formatting
 * message that never comes costs no words.
 */
import { encodeMuLaw } from '../../media/g711.js';
import type { Clock, TimerHandle } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { ProviderRateLimitedError, redact } from '../llm/http-errors.js';
import { booleanOption, numberOption, requireApiKey, stringOption, type ResolvedProviderSettings } from '../settings.js';
import type { SttProvider, SttStartOptions } from './types.js';
import { toWsUrl, WsSttStream, type WsSttConfig } from './ws-stream.js';

export const ASSEMBLYAI_STT_RATES = [8000, 16000] as const;

/** The languages each documented model hears (ISO-639-1). Models not listed here are not checked. */
const MODEL_LANGUAGES: Readonly<Record<string, readonly string[]>> = {
  'universal-streaming-english': ['en'],
  'universal-streaming-multilingual': ['en', 'es', 'fr', 'de', 'it', 'pt'],
  'u3-rt-pro': ['en', 'es', 'fr', 'de', 'it', 'pt'],
};

/** The documented bounds of one audio message. */
const MIN_CHUNK_MS = 50;
const MAX_CHUNK_MS = 1000;

export interface AssemblyAiSttConfig {
  apiKey: string;
  /** Up to and including /v3, ws(s) or http(s). */
  baseUrl: string;
  model: string;
  /** BCP-47 from the settings; only checked against the model (the model itself decides the language). */
  language: string | undefined;
  formatTurns: boolean;
  /** Turn detection; undefined leaves the vendor's default (sent only when set). */
  endOfTurnConfidenceThreshold: number | undefined;
  minEndOfTurnSilenceWhenConfidentMs: number | undefined;
  maxTurnSilenceMs: number | undefined;
  vadThreshold: number | undefined;
  /** Terms to boost (keyterms_prompt). */
  keyterms: string[];
  /** Audio per message, 50..1000 ms. */
  chunkMs: number;
  /** The upgrade and the session's Begin must both arrive within this long. */
  connectTimeoutMs: number;
  endTimeoutMs: number;
}

const bad = (m: string) => new ProviderError('provider_bad_request', `assemblyai stt: ${m}`, false);

/** Why `model` cannot hear `language`, or undefined when it can (or the model is not one we know). */
function languageProblem(model: string, language: string | undefined): string | undefined {
  if (language === undefined) return undefined;
  const known = MODEL_LANGUAGES[model];
  const primary = language.split(/[-_]/)[0]?.toLowerCase() ?? '';
  if (!known || known.includes(primary)) return undefined;
  return `model ${model} does not hear '${language}' (it hears ${known.join(', ')}${model === 'universal-streaming-english' ? '; universal-streaming-multilingual hears en, es, fr, de, it, pt' : ''})`;
}

function inRange(v: number | undefined, lo: number, hi: number, name: string, unit = ''): void {
  if (v !== undefined && !(v >= lo && v <= hi)) throw bad(`${name} must be ${lo}..${hi}${unit}, got ${v}`);
}

/** Everything about the settings that can be checked without the network. */
export function checkAssemblyAiSttSettings(s: ResolvedProviderSettings): Omit<AssemblyAiSttConfig, 'apiKey'> {
  const model = s.model ?? 'universal-streaming-english';
  const endOfTurnConfidenceThreshold = numberOption(s, 'end_of_turn_confidence_threshold');
  inRange(endOfTurnConfidenceThreshold, 0, 1, 'end_of_turn_confidence_threshold');
  const minEndOfTurnSilenceWhenConfidentMs = numberOption(s, 'min_end_of_turn_silence_when_confident');
  inRange(minEndOfTurnSilenceWhenConfidentMs, 0, 10_000, 'min_end_of_turn_silence_when_confident', ' ms');
  const maxTurnSilenceMs = numberOption(s, 'max_turn_silence');
  inRange(maxTurnSilenceMs, 0, 10_000, 'max_turn_silence', ' ms');
  const vadThreshold = numberOption(s, 'vad_threshold');
  inRange(vadThreshold, 0, 1, 'vad_threshold');
  const chunkMs = numberOption(s, 'chunk_ms') ?? MIN_CHUNK_MS;
  if (!Number.isInteger(chunkMs) || chunkMs < MIN_CHUNK_MS || chunkMs > MAX_CHUNK_MS) {
    throw bad(`chunk_ms must be a whole number of ms in ${MIN_CHUNK_MS}..${MAX_CHUNK_MS} (AssemblyAI takes 50 to 1000 ms per audio message), got ${chunkMs}`);
  }
  const connectTimeoutMs = numberOption(s, 'connect_timeout_ms') ?? 3000;
  const endTimeoutMs = numberOption(s, 'end_timeout_ms') ?? 5000;
  if (!(connectTimeoutMs > 0) || !(endTimeoutMs > 0)) throw bad('connect_timeout_ms and end_timeout_ms must be > 0');
  // `keywords` is Deepgram's name for the same list: an agent moved between the two keeps its terms.
  const keyterms = (stringOption(s, 'keyterms') ?? stringOption(s, 'keywords') ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '');
  const baseUrl = toWsUrl(s.base_url ?? 'wss://streaming.assemblyai.com/v3');
  if (!/^wss?:\/\/[^/]/i.test(baseUrl)) throw bad(`base_url must be an http(s) or ws(s) URL, got ${JSON.stringify(s.base_url)}`);
  const problem = languageProblem(model, s.language);
  if (problem) throw bad(problem);
  return {
    baseUrl,
    model,
    language: s.language,
    formatTurns: booleanOption(s, 'format_turns') ?? false,
    endOfTurnConfidenceThreshold,
    minEndOfTurnSilenceWhenConfidentMs,
    maxTurnSilenceMs,
    vadThreshold,
    keyterms,
    chunkMs,
    connectTimeoutMs,
    endTimeoutMs,
  };
}

export function createAssemblyAiStt(s: ResolvedProviderSettings, extra: { clock?: Clock } = {}): AssemblyAiStt {
  const cfg = { ...checkAssemblyAiSttSettings(s), apiKey: requireApiKey('stt', s) };
  return new AssemblyAiStt(cfg, extra.clock);
}

export class AssemblyAiStt implements SttProvider {
  readonly name = 'assemblyai';
  readonly capabilities = { streaming: true, interimResults: true, sampleRates: ASSEMBLYAI_STT_RATES } as const;

  constructor(
    private readonly cfg: AssemblyAiSttConfig,
    private readonly clock?: Clock,
  ) {}

  /** The session URL for one stream (exported for tests and diagnostics; carries no secret). */
  streamUrl(sampleRate: number): string {
    const c = this.cfg;
    const q = new URLSearchParams({
      sample_rate: String(sampleRate),
      encoding: sampleRate === 8000 ? 'pcm_mulaw' : 'pcm_s16le',
      speech_model: c.model,
      format_turns: String(c.formatTurns),
    });
    // Turn detection is sent only when set: the vendor's defaults have changed between doc versions,
    // and an agent that names no value should get the current ones.
    if (c.endOfTurnConfidenceThreshold !== undefined) q.set('end_of_turn_confidence_threshold', String(c.endOfTurnConfidenceThreshold));
    if (c.minEndOfTurnSilenceWhenConfidentMs !== undefined) q.set('min_end_of_turn_silence_when_confident', String(Math.round(c.minEndOfTurnSilenceWhenConfidentMs)));
    if (c.maxTurnSilenceMs !== undefined) q.set('max_turn_silence', String(Math.round(c.maxTurnSilenceMs)));
    if (c.vadThreshold !== undefined) q.set('vad_threshold', String(c.vadThreshold));
    // A list in the query is its JSON text, as the keyterms docs send it.
    if (c.keyterms.length > 0) q.set('keyterms_prompt', JSON.stringify(c.keyterms));
    return `${c.baseUrl}/ws?${q.toString()}`;
  }

  start(opts: SttStartOptions): AssemblyAiStream {
    if (!(ASSEMBLYAI_STT_RATES as readonly number[]).includes(opts.sampleRate)) {
      throw new ProviderError('unsupported_audio', `assemblyai stt takes 8000 or 16000 Hz audio here, not ${opts.sampleRate} Hz`, false);
    }
    const c = this.cfg;
    const problem = languageProblem(c.model, opts.language ?? c.language);
    if (problem) throw bad(problem);
    const ws: WsSttConfig = {
      provider: 'assemblyai',
      url: this.streamUrl(opts.sampleRate),
      headers: { Authorization: c.apiKey },
      secret: c.apiKey,
      connectTimeoutMs: c.connectTimeoutMs,
      endTimeoutMs: c.endTimeoutMs,
      ...(this.clock ? { clock: this.clock } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      normalizeErrorBody: assemblyAiErrorBody,
    };
    return new AssemblyAiStream(ws, opts.sampleRate, c);
  }
}

/**
 * A refused upgrade's body in the `{"error": {...}}` shape errorFromResponse reads. AssemblyAI's HTTP
 * APIs answer `{"error": "text"}` or, on newer endpoints, `{"status", "title", "detail"}`.
 */
export function assemblyAiErrorBody(body: string): string {
  try {
    const v = JSON.parse(body) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const text = [o.error, o.detail, o.message].find((x): x is string => typeof x === 'string' && x !== '');
      if (text !== undefined) {
        const title = typeof o.title === 'string' && o.title !== text ? `${o.title}: ` : '';
        return JSON.stringify({ error: { message: `${title}${text}`, ...(typeof o.error_code === 'string' ? { code: o.error_code } : {}) } });
      }
    }
  } catch {
    // not JSON: shown as text
  }
  return body;
}

/** A session-ending close code (or an Error message's error_code) with its text, as a ProviderError. */
export function assemblyAiSessionError(code: number, text: string): ProviderError {
  const why = `assemblyai ended the session: ${code}${text ? ` ${text}` : ''}`;
  switch (code) {
    case 1008:
      // "Unauthorized Connection: Too many concurrent sessions" is a limit, not a bad key.
      if (/too many concurrent sessions/i.test(text)) return new ProviderRateLimitedError(`${why} (the account's streaming concurrency limit)`, true, undefined);
      return new ProviderError('provider_auth_failed', `${why} (a missing or invalid API key, or an account problem)`, false);
    case 3009:
      return new ProviderRateLimitedError(`${why} (the account's streaming concurrency limit)`, true, undefined);
    case 3006:
    case 3007:
      return new ProviderError('provider_bad_request', why, false);
    case 3008:
      return new ProviderError('provider_failed', `${why} (the session's maximum duration: a new session can carry on)`, true);
    case 3005:
      if (/input duration violation|invalid (message|json)|transmission rate exceeded/i.test(text)) return new ProviderError('provider_bad_request', why, false);
      return new ProviderError('provider_failed', why, true);
    case 1013:
      // RFC 6455 / IANA registry: "Try Again Later".
      return new ProviderError('provider_unavailable', why, true);
    default:
      return new ProviderError('provider_failed', why, true);
  }
}

interface Word {
  text: string;
  start: number;
  end: number;
  confidence: number | undefined;
  final: boolean;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function wordsOf(v: unknown): Word[] {
  if (!Array.isArray(v)) return [];
  const out: Word[] = [];
  for (const w of v as Array<Record<string, unknown> | null>) {
    const start = num(w?.start);
    const end = num(w?.end);
    if (typeof w?.text !== 'string' || start === undefined || end === undefined) continue;
    out.push({ text: w.text, start, end, confidence: num(w.confidence), final: w.word_is_final === true });
  }
  return out;
}

export class AssemblyAiStream extends WsSttStream {
  readonly #rate: number;
  readonly #mulaw: boolean;
  readonly #formatTurns: boolean;
  /** Samples gathered toward the next audio message. */
  readonly #chunk: Int16Array;
  #fill = 0;
  #begun = false;
  #beginTimer: TimerHandle | undefined;
  /** The turn being heard (not ended): its order, finalized text and words so far. */
  #current: { order: number; transcript: string; words: Word[] } | undefined;
  /** A turn that ended unformatted, waiting for its formatted copy (format_turns). */
  #awaiting: { order: number; transcript: string; words: Word[] } | undefined;
  /** Turns up to this order are settled: later copies of them are ignored. */
  #settledOrder = -1;
  #lastPartial = '';

  constructor(ws: WsSttConfig, rate: number, c: Pick<AssemblyAiSttConfig, 'formatTurns' | 'chunkMs'>) {
    super(ws);
    this.#rate = rate;
    this.#mulaw = rate === 8000;
    this.#formatTurns = c.formatTurns;
    this.#chunk = new Int16Array((rate * c.chunkMs) / 1000);
    this.connect();
    if (!this.done) {
      // An upgrade that succeeds but a session that never begins is as dead as a refused one: without
      // this the stream would sit silent until end(), and a fallback would never take over.
      this.#beginTimer = this.clock.setTimer(ws.connectTimeoutMs, () => {
        if (!this.#begun) this.finish(new ProviderError('provider_timeout', `assemblyai: the session did not begin within ${ws.connectTimeoutMs} ms`, true));
      });
    }
  }

  protected openingMessages(): Array<string | Buffer> {
    return []; // everything is in the query string
  }

  protected encodeAudio(frame: Int16Array): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < frame.length) {
      const n = Math.min(frame.length - i, this.#chunk.length - this.#fill);
      this.#chunk.set(frame.subarray(i, i + n), this.#fill);
      this.#fill += n;
      i += n;
      if (this.#fill === this.#chunk.length) {
        out.push(this.#encode(this.#chunk));
        this.#fill = 0;
      }
    }
    return out;
  }

  /** One audio message (a copy: the chunk buffer is reused and the send completes later). */
  #encode(pcm: Int16Array): Buffer {
    if (this.#mulaw) return Buffer.from(encodeMuLaw(pcm));
    return Buffer.from(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)); // PCM16 LE (x86/ARM are LE)
  }

  protected onEnd(): void {
    if (this.#fill > 0) {
      // The last message must be 50 ms too: pad the tail with silence (zeros, or mu-law's silence once encoded).
      const tail = new Int16Array(Math.max(this.#fill, (this.#rate * MIN_CHUNK_MS) / 1000));
      tail.set(this.#chunk.subarray(0, this.#fill));
      this.#fill = 0;
      this.send(this.#encode(tail));
    }
    // ForceEndpoint makes the turn in progress a final (documented); Terminate then ends the session.
    this.send(JSON.stringify({ type: 'ForceEndpoint' }));
    this.send(JSON.stringify({ type: 'Terminate' }));
  }

  protected onText(text: string): void {
    const m = JSON.parse(text) as unknown;
    if (typeof m !== 'object' || m === null || typeof (m as { type?: unknown }).type !== 'string') {
      throw new ProviderError('provider_failed', `assemblyai: a message without a type: ${text.slice(0, 200)}`, true);
    }
    const msg = m as Record<string, unknown>;
    switch (msg.type) {
      case 'Begin':
        this.#begun = true;
        if (this.#beginTimer) this.clock.clearTimer(this.#beginTimer);
        return;
      case 'Turn':
        return this.#onTurn(msg);
      case 'Termination':
        // After Terminate, the last message: everything heard has been reported.
        this.#settle();
        if (this.#beginTimer) this.clock.clearTimer(this.#beginTimer);
        if (this.ended) return this.finish();
        return this.finish(new ProviderError('provider_failed', 'assemblyai: the server terminated the session while audio was still flowing', true));
      case 'Error': {
        const code = num(msg.error_code) ?? 0;
        const detail = typeof msg.error === 'string' ? msg.error : text.slice(0, 200);
        this.#settle();
        return this.finish(assemblyAiSessionError(code, redact(detail, this.cfg.secret)));
      }
      default:
        return; // SpeechStarted, Warning, LLMGatewayResponse and future message types
    }
  }

  #onTurn(msg: Record<string, unknown>): void {
    const order = num(msg.turn_order);
    if (order === undefined || typeof msg.transcript !== 'string' || !Array.isArray(msg.words)) {
      throw new ProviderError('provider_failed', 'assemblyai: a Turn message without turn_order, transcript or words', true);
    }
    if (order <= this.#settledOrder) return; // a formatted copy of a turn already settled unformatted
    if (this.#awaiting && order > this.#awaiting.order) this.#finalOf(this.#awaiting); // a new turn: stop waiting for formatting
    const turn = { order, transcript: msg.transcript.trim(), words: wordsOf(msg.words) };
    if (msg.end_of_turn === true) {
      this.#current = undefined;
      if (msg.turn_is_formatted === true || !this.#formatTurns) return this.#finalOf(turn);
      this.#awaiting = turn;
      this.#partial(turn.transcript);
      return;
    }
    this.#current = turn;
    // The best guess so far includes the words not yet final (`transcript` holds only the final ones).
    this.#partial(turn.words.map((w) => w.text).join(' ').trim() || turn.transcript);
  }

  #partial(text: string): void {
    if (text === '' || text === this.#lastPartial) return;
    this.#lastPartial = text;
    this.emit({ type: 'partial', text });
  }

  /** A turn becomes a final (an empty one only marks the turn settled). */
  #finalOf(turn: { order: number; transcript: string; words: Word[] }): void {
    this.#settledOrder = Math.max(this.#settledOrder, turn.order);
    if (this.#awaiting?.order === turn.order) this.#awaiting = undefined;
    if (this.#current?.order === turn.order) this.#current = undefined;
    this.#lastPartial = '';
    if (turn.transcript === '') return;
    const first = turn.words[0];
    const last = turn.words[turn.words.length - 1];
    const sentMs = Math.round((this.samples * 1000) / this.#rate);
    const startMs = Math.max(0, Math.round(first ? first.start : sentMs));
    const endMs = Math.max(startMs, Math.round(last ? last.end : sentMs));
    const confs = turn.words.flatMap((w) => (w.confidence === undefined ? [] : [w.confidence]));
    const ev = { type: 'final' as const, text: turn.transcript, startMs, endMs };
    this.emit(confs.length > 0 ? { ...ev, confidence: Math.min(1, Math.max(0, confs.reduce((a, b) => a + b, 0) / confs.length)) } : ev);
  }

  /** The session is ending: a turn awaiting formatting, and the finalized words of an open turn, become finals. */
  #settle(): void {
    if (this.#awaiting) this.#finalOf(this.#awaiting);
    const open = this.#current;
    if (open) this.#finalOf({ order: open.order, transcript: open.transcript, words: open.words.filter((w) => w.final) });
  }

  protected closeError(code: number, reason: string): ProviderError | undefined {
    if (this.#beginTimer) this.clock.clearTimer(this.#beginTimer);
    this.#settle(); // what was settled is delivered whatever ends the session
    if (code === 1000) return undefined; // after end(): clean; before it, the base reports a close while audio still flows
    if (code === 1006) return new ProviderError('provider_failed', 'assemblyai: the connection dropped mid-stream', true);
    return assemblyAiSessionError(code, reason);
  }
}
