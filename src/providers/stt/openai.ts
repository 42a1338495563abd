/**
 * OpenAI streaming transcription through a Realtime transcription session over WebSocket, following
 * the GA Realtime API: https://developers.openai.com/api/docs/guides/realtime-transcription (the guide),
 * https://developers.openai.com/api/reference/resources/realtime/client-events (session.update,
 * input_audio_buffer.append / .commit) and .../realtime/server-events (speech_started/stopped with
 * audio_start_ms/audio_end_ms, committed, conversation.item.input_audio_transcription.delta /
 * .completed / .failed, error).
 *
 * - Connect to `wss://api.openai.com/v1/realtime?intent=transcription` with `Authorization: Bearer`.
 *   No `OpenAI-Beta: realtime=v1` header: that selects the retired beta protocol, whose
 *   `transcription_session.update` the GA server rejects; GA configures with `session.update` and
 *   `session.type: "transcription"`.
 * - Audio: `audio/pcmu` (G.711 mu-law at 8 kHz) for narrowband legs, so phone audio goes out with no
 *   resampling hop; `audio/pcm` is 24 kHz only, so wideband 16 kHz is resampled to 24 kHz.
 * - Turn detection: `server_vad`. The server cuts the callee's speech into utterances and transcribes
 *   each as soon as it ends, which is what a conversation needs (a final per turn while the call goes
 *   on). With `null` (manual commits) the adapter would need a VAD of its own to know when to commit.
 * - Times: `audio_start_ms` includes prefix_padding_ms and `audio_end_ms` includes the silence that
 *   ended the turn (both documented on the events), so both are moved back to the speech itself.
 * - end(): the server has no "end of audio" message. We send a no-op `session.update` as a marker:
 *   its `session.updated` comes after the server has taken in every earlier append (events are
 *   handled in order), so we then know whether speech is still in progress; if it is, we commit it,
 *   and we close once every committed utterance has its `completed` (or `failed`).
 */
import { Resampler } from '../../media/resampler.js';
import { encodeMuLaw } from '../../media/g711.js';
import type { Clock } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { ProviderRateLimitedError, redact } from '../llm/http-errors.js';
import { numberOption, requireApiKey, stringOption, type ResolvedProviderSettings } from '../settings.js';
import type { SttProvider, SttStartOptions } from './types.js';
import { toWsUrl, WsSttStream, type WsSttConfig } from './ws-stream.js';

export const OPENAI_STT_RATES = [8000, 16000] as const;

export interface OpenAiSttConfig {
  apiKey: string;
  baseUrl: string;
  model: string;
  /** BCP-47 from the settings; sent as its ISO-639-1 primary subtag ('en-US' -> 'en'). */
  language: string | undefined;
  prompt: string | undefined;
  vadThreshold: number;
  prefixPaddingMs: number;
  silenceDurationMs: number;
  noiseReduction: 'near_field' | 'far_field' | undefined;
  connectTimeoutMs: number;
  endTimeoutMs: number;
}

const bad = (m: string) => new ProviderError('provider_bad_request', `openai stt: ${m}`, false);

export function checkOpenAiSttSettings(s: ResolvedProviderSettings): Omit<OpenAiSttConfig, 'apiKey'> {
  const vadThreshold = numberOption(s, 'vad_threshold') ?? 0.5;
  if (!(vadThreshold > 0 && vadThreshold < 1)) throw bad(`vad_threshold must be in (0, 1), got ${vadThreshold}`);
  const prefixPaddingMs = numberOption(s, 'prefix_padding_ms') ?? 300;
  const silenceDurationMs = numberOption(s, 'silence_duration_ms') ?? 500;
  if (!(prefixPaddingMs >= 0 && prefixPaddingMs <= 2000)) throw bad(`prefix_padding_ms must be 0..2000, got ${prefixPaddingMs}`);
  if (!(silenceDurationMs >= 100 && silenceDurationMs <= 5000)) throw bad(`silence_duration_ms must be 100..5000, got ${silenceDurationMs}`);
  const nr = stringOption(s, 'noise_reduction');
  if (nr !== undefined && nr !== 'near_field' && nr !== 'far_field') throw bad(`noise_reduction must be near_field or far_field, got ${JSON.stringify(nr)}`);
  const connectTimeoutMs = numberOption(s, 'connect_timeout_ms') ?? 3000;
  const endTimeoutMs = numberOption(s, 'end_timeout_ms') ?? 10_000;
  if (!(connectTimeoutMs > 0) || !(endTimeoutMs > 0)) throw bad('connect_timeout_ms and end_timeout_ms must be > 0');
  const baseUrl = toWsUrl(s.base_url ?? 'wss://api.openai.com/v1');
  if (!/^wss?:\/\/[^/]/i.test(baseUrl)) throw bad(`base_url must be an http(s) or ws(s) URL, got ${JSON.stringify(s.base_url)}`);
  return {
    baseUrl,
    model: s.model ?? 'gpt-4o-transcribe',
    language: s.language,
    prompt: stringOption(s, 'prompt'),
    vadThreshold,
    prefixPaddingMs,
    silenceDurationMs,
    noiseReduction: nr,
    connectTimeoutMs,
    endTimeoutMs,
  };
}

export function createOpenAiStt(s: ResolvedProviderSettings, extra: { clock?: Clock } = {}): OpenAiStt {
  return new OpenAiStt({ ...checkOpenAiSttSettings(s), apiKey: requireApiKey('stt', s) }, extra.clock);
}

export class OpenAiStt implements SttProvider {
  readonly name = 'openai';
  readonly capabilities = { streaming: true, interimResults: true, sampleRates: OPENAI_STT_RATES } as const;

  constructor(
    private readonly cfg: OpenAiSttConfig,
    private readonly clock?: Clock,
  ) {}

  /** The session.update that configures a stream at this rate (exported for tests). */
  sessionUpdate(sampleRate: number, language: string | undefined): Record<string, unknown> {
    const c = this.cfg;
    const transcription: Record<string, unknown> = { model: c.model };
    const lang = (language ?? c.language)?.split(/[-_]/)[0]?.toLowerCase();
    if (lang) transcription.language = lang;
    if (c.prompt !== undefined) transcription.prompt = c.prompt;
    const input: Record<string, unknown> = {
      format: sampleRate === 8000 ? { type: 'audio/pcmu' } : { type: 'audio/pcm', rate: 24000 },
      transcription,
      turn_detection: { type: 'server_vad', threshold: c.vadThreshold, prefix_padding_ms: c.prefixPaddingMs, silence_duration_ms: c.silenceDurationMs },
    };
    if (c.noiseReduction) input.noise_reduction = { type: c.noiseReduction };
    return { type: 'session.update', session: { type: 'transcription', audio: { input } } };
  }

  start(opts: SttStartOptions): OpenAiSttStream {
    if (!(OPENAI_STT_RATES as readonly number[]).includes(opts.sampleRate)) {
      throw new ProviderError('unsupported_audio', `openai stt takes 8000 or 16000 Hz audio here, not ${opts.sampleRate} Hz`, false);
    }
    const c = this.cfg;
    const ws: WsSttConfig = {
      provider: 'openai',
      url: `${c.baseUrl}/realtime?intent=transcription`,
      headers: { Authorization: `Bearer ${c.apiKey}` },
      secret: c.apiKey,
      connectTimeoutMs: c.connectTimeoutMs,
      endTimeoutMs: c.endTimeoutMs,
      ...(this.clock ? { clock: this.clock } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    return new OpenAiSttStream(ws, opts.sampleRate, this.sessionUpdate(opts.sampleRate, opts.language), c);
  }
}

interface Item {
  startMs?: number;
  endMs?: number;
  text: string;
}

type EndState = 'streaming' | 'syncing' | 'committing' | 'draining';

export class OpenAiSttStream extends WsSttStream {
  readonly #rate: number;
  readonly #resampler: Resampler | undefined;
  readonly #session: Record<string, unknown>;
  readonly #c: OpenAiSttConfig;
  readonly #items = new Map<string, Item>();
  /** Committed utterances still waiting for their transcript. */
  readonly #pending = new Set<string>();
  /** The item whose speech started and has not stopped. */
  #speaking: string | undefined;
  #updatesSent = 0;
  #updatesAcked = 0;
  #state: EndState = 'streaming';

  constructor(ws: WsSttConfig, rate: number, session: Record<string, unknown>, c: OpenAiSttConfig) {
    super(ws);
    this.#rate = rate;
    this.#resampler = rate === 8000 ? undefined : new Resampler(rate, 24000);
    this.#session = session;
    this.#c = c;
    this.connect();
  }

  protected openingMessages(): string[] {
    this.#updatesSent++;
    return [JSON.stringify(this.#session)];
  }

  protected encodeAudio(frame: Int16Array): string[] {
    let bytes: Buffer;
    if (this.#resampler) {
      const pcm = this.#resampler.process(frame);
      bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    } else {
      bytes = Buffer.from(encodeMuLaw(frame));
    }
    if (bytes.length === 0) return [];
    return [JSON.stringify({ type: 'input_audio_buffer.append', audio: bytes.toString('base64') })];
  }

  protected onEnd(): void {
    this.#state = 'syncing';
    this.#updatesSent++;
    this.send(JSON.stringify({ type: 'session.update', session: { type: 'transcription' } }));
  }

  get #sentMs(): number {
    return Math.round((this.samples * 1000) / this.#rate);
  }

  #item(id: string): Item {
    let it = this.#items.get(id);
    if (!it) {
      it = { text: '' };
      this.#items.set(id, it);
    }
    return it;
  }

  protected onText(text: string): void {
    const m = JSON.parse(text) as unknown;
    if (typeof m !== 'object' || m === null || typeof (m as { type?: unknown }).type !== 'string') {
      throw new ProviderError('provider_failed', `openai: an event without a type: ${text.slice(0, 200)}`, true);
    }
    const ev = m as Record<string, unknown>;
    const id = typeof ev.item_id === 'string' ? ev.item_id : undefined;
    const ms = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    switch (ev.type) {
      case 'session.updated':
        this.#updatesAcked++;
        if (this.#state === 'syncing' && this.#updatesAcked >= this.#updatesSent) {
          // Every append before the marker has been through the server's VAD.
          if (this.#speaking !== undefined) {
            this.#state = 'committing';
            this.send(JSON.stringify({ type: 'input_audio_buffer.commit', event_id: 'outcall_end_commit' }));
          } else {
            this.#state = 'draining';
          }
        }
        break;
      case 'input_audio_buffer.speech_started': {
        if (!id) break;
        const at = ms(ev.audio_start_ms);
        if (at !== undefined) this.#item(id).startMs = Math.min(this.#sentMs, at + this.#c.prefixPaddingMs);
        this.#speaking = id;
        break;
      }
      case 'input_audio_buffer.speech_stopped': {
        if (!id) break;
        const at = ms(ev.audio_end_ms);
        if (at !== undefined) this.#item(id).endMs = Math.max(0, at - this.#c.silenceDurationMs);
        if (this.#speaking === id) this.#speaking = undefined;
        break;
      }
      case 'input_audio_buffer.committed': {
        if (!id) break;
        const it = this.#item(id);
        if (this.#state === 'committing') {
          // Our commit of speech in progress: it runs from that speech's start to the end of the audio.
          const speech = this.#speaking !== undefined ? this.#items.get(this.#speaking) : undefined;
          if (it.startMs === undefined && speech?.startMs !== undefined) it.startMs = speech.startMs;
          if (it.endMs === undefined) it.endMs = this.#sentMs;
          this.#speaking = undefined;
          this.#state = 'draining';
        }
        this.#pending.add(id);
        break;
      }
      case 'conversation.item.input_audio_transcription.delta': {
        if (!id || typeof ev.delta !== 'string') break;
        const it = this.#item(id);
        it.text += ev.delta;
        if (it.text.trim() !== '') this.emit({ type: 'partial', text: it.text.trim() });
        break;
      }
      case 'conversation.item.input_audio_transcription.completed': {
        if (!id) break;
        const it = this.#item(id);
        const t = (typeof ev.transcript === 'string' ? ev.transcript : it.text).trim();
        this.#pending.delete(id);
        this.#items.delete(id);
        if (t !== '') {
          const startMs = Math.round(it.startMs ?? 0);
          const endMs = Math.round(Math.max(startMs, Math.min(this.#sentMs, it.endMs ?? this.#sentMs)));
          this.emit({ type: 'final', text: t, startMs, endMs });
        }
        break;
      }
      case 'conversation.item.input_audio_transcription.failed': {
        const e = (ev.error ?? {}) as Record<string, unknown>;
        return this.finish(new ProviderError('provider_failed', this.#redact(`openai: transcription failed: ${String(e.message ?? 'no message')}${e.code ? ` (code ${String(e.code)})` : ''}`), true));
      }
      case 'error': {
        const e = (ev.error ?? {}) as Record<string, unknown>;
        if (this.#state === 'committing' && e.code === 'input_audio_buffer_commit_empty') {
          this.#state = 'draining'; // nothing left to commit: the VAD had taken it all
          break;
        }
        return this.finish(this.#errorEvent(e));
      }
      default:
        break; // session.created, conversation.item.added/done, and future events
    }
    if (this.#state === 'draining' && this.#pending.size === 0) this.finish();
  }

  #redact(s: string): string {
    return redact(s, this.cfg.secret);
  }

  /** An `error` event (type, code, message, param) as a ProviderError. */
  #errorEvent(e: Record<string, unknown>): ProviderError {
    const type = typeof e.type === 'string' ? e.type : '';
    const code = typeof e.code === 'string' ? e.code : '';
    const detail = [type && `type ${type}`, code && `code ${code}`, typeof e.param === 'string' && `param ${e.param}`].filter(Boolean).join(', ');
    const text = this.#redact(`openai: ${String(e.message ?? 'error')}${detail ? ` (${detail})` : ''}`);
    if (/invalid_api_key|authentication|unauthorized|permission/i.test(`${type} ${code}`)) return new ProviderError('provider_auth_failed', text, false);
    if (/rate_limit/i.test(`${type} ${code}`)) return new ProviderRateLimitedError(text, true, undefined);
    if (/insufficient_quota/i.test(`${type} ${code}`)) return new ProviderRateLimitedError(text, false, undefined);
    if (type === 'invalid_request_error') return new ProviderError('provider_bad_request', text, false);
    return new ProviderError('provider_failed', text, true);
  }

  protected closeError(code: number, reason: string): ProviderError | undefined {
    const why = `openai closed the session: ${code}${reason ? ` ${reason}` : ''}`;
    if (code === 1000 && this.ended && this.#state === 'draining' && this.#pending.size === 0) return undefined;
    if (code === 1000 && this.ended) return new ProviderError('provider_failed', `${why} before the last transcript`, true);
    if (code === 1006) return new ProviderError('provider_failed', 'openai: the connection dropped mid-stream', true);
    if (code === 1008) return new ProviderError('provider_bad_request', why, false);
    return code === 1000 ? undefined : new ProviderError('provider_failed', why, true);
  }
}
