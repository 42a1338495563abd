/**
 * ElevenLabs text to speech over its multi-context WebSocket
 * (https://elevenlabs.io/docs/api-reference/text-to-speech/v-1-text-to-speech-voice-id-multi-stream-input,
 * AsyncAPI in elevenlabs/elevenlabs-docs): `wss://api.elevenlabs.io/v1/text-to-speech/{voice_id}/multi-stream-input`
 * with model_id and output_format in the query and the key in the `xi-api-key` header. Each
 * utterance is one context: `{"text": " ", "context_id", "voice_settings"}` opens it, the text
 * goes with `flush: true`, and `{"context_id", "close_context": true}` ends its input; the server
 * answers `{"audio": base64, "contextId", "alignment", ...}` messages and `{"isFinal": true,
 * "contextId"}`, and reports errors as `{"message", "error", "code"}` and close code 1008.
 *
 * The multi-context socket is the one the vendor's conversational-agents guide recommends: one
 * connection serves the utterances one after another, so a turn does not pay TCP + TLS + upgrade
 * again (pooled-synthesis.ts keeps it between utterances). A connection serves one utterance at a
 * time, well inside the documented 5 contexts per connection. A barge-in closes the socket: a
 * context whose text was flushed cannot be stopped (close_context lets it finish), and contexts
 * still generating count against those 5.
 *
 * `auto_mode=true` turns the vendor's chunk buffering off, since every request here carries
 * complete sentences. `inactivity_timeout` is raised from the default 20 s to 60 s (the maximum
 * is 180), so a connection kept between turns outlives the pause while the callee speaks.
 *
 * Rates: output_format offers pcm_8000, pcm_16000, pcm_22050, pcm_24000, pcm_44100 (Pro tier),
 * ulaw_8000 and alaw_8000 (TextToSpeechOutputFormatEnum), so 8 and 16 kHz legs get their own rate
 * with no resampling; only other rates are resampled (48 kHz from pcm_24000).
 */
import { decodeMuLaw } from '../../media/g711.js';
import { realClock, type Clock } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { ProviderRateLimitedError, parseVendorError, redact } from '../llm/http-errors.js';
import { booleanOption, numberOption, requireApiKey, stringOption, type ResolvedProviderSettings } from '../settings.js';
import { isBase64, parseJsonObject, Pcm16leBytes, VendorAudioResampler, iso639_1, oneOf, pickVendorRate, statusError, ttsTimeouts, wsBase, type TtsTimeouts } from './cloud-audio.js';
import { pooledSynthesis, type ContextProtocol } from './pooled-synthesis.js';
import type { TtsPrepareRequest, TtsProvider, TtsRequest } from './types.js';
import { WsChannel } from './ws-channel.js';
import { WsPool } from './ws-pool.js';

export const ELEVENLABS_BASE_URL = 'wss://api.elevenlabs.io';
/** The documented low-latency model (~75 ms), 32 languages. */
export const ELEVENLABS_DEFAULT_MODEL = 'eleven_flash_v2_5';
/** The models that take language_code (language enforcement); others refuse it. */
const LANGUAGE_CODE_MODELS = new Set(['eleven_flash_v2_5', 'eleven_turbo_v2_5']);
/** "George", the premade voice the API reference's examples use. */
export const ELEVENLABS_DEFAULT_VOICE = 'JBFqnCBsd6RMkjVDRZzb';
/** PCM rates output_format offers on the socket. */
export const ELEVENLABS_PCM_RATES = [8000, 16000, 22050, 24000, 44100] as const;
/** What we ask for when the leg's rate is not offered: 44.1 kHz needs a Pro plan, so not that. */
const FALLBACK_RATES = [8000, 16000, 22050, 24000];
/** Seconds without a message before the server closes the socket (documented default 20, max 180). */
export const ELEVENLABS_INACTIVITY_TIMEOUT_S = 60;
/** Idle pooled connections are closed well before the server's inactivity limit would. */
export const ELEVENLABS_POOL_IDLE_MS = 45_000;
export const ELEVENLABS_POOL_MAX_IDLE = 4;

/** Idle connections by URL (voice, model, format, language) and key, one set per worker thread. */
const pool = new WsPool({ idleMs: ELEVENLABS_POOL_IDLE_MS, maxIdle: ELEVENLABS_POOL_MAX_IDLE });

export interface ElevenLabsTtsOptions {
  apiKey: string;
  /** Scheme and host, e.g. wss://api.elevenlabs.io (or a regional one, or a local test server). */
  baseUrl?: string;
  model?: string;
  voice?: string;
  /** ISO 639-1, for the Flash/Turbo v2.5 models. */
  languageCode?: string;
  /** RealtimeVoiceSettings: stability, similarity_boost, style, use_speaker_boost, speed. */
  voiceSettings?: Record<string, number | boolean>;
  autoMode?: boolean;
  /** For 8 kHz legs: linear pcm_8000 (default) or G.711 ulaw_8000, decoded here. */
  narrowbandFormat?: 'pcm_8000' | 'ulaw_8000';
  applyTextNormalization?: 'auto' | 'on' | 'off';
  timeouts?: TtsTimeouts;
  clock?: Clock;
}

export class ElevenLabsTts implements TtsProvider {
  readonly name = 'elevenlabs';
  readonly capabilities = { streaming: true, nativeSampleRates: ELEVENLABS_PCM_RATES };
  private readonly clock: Clock;
  private readonly timeouts: TtsTimeouts;

  constructor(private readonly opts: ElevenLabsTtsOptions) {
    this.clock = opts.clock ?? realClock;
    this.timeouts = opts.timeouts ?? { firstAudioMs: 5000, idleMs: 10_000 };
  }

  /** The output_format asked for on a leg of `sampleRate`, and the rate of what comes back. */
  outputFormat(sampleRate: number): { format: string; rate: number; ulaw: boolean } {
    if (sampleRate === 8000 && this.opts.narrowbandFormat === 'ulaw_8000') return { format: 'ulaw_8000', rate: 8000, ulaw: true };
    const rate = (ELEVENLABS_PCM_RATES as readonly number[]).includes(sampleRate) ? sampleRate : pickVendorRate(FALLBACK_RATES, sampleRate);
    return { format: `pcm_${rate}`, rate, ulaw: false };
  }

  url(voice: string, format: string): string {
    const q = new URLSearchParams({ model_id: this.opts.model ?? ELEVENLABS_DEFAULT_MODEL, output_format: format, inactivity_timeout: String(ELEVENLABS_INACTIVITY_TIMEOUT_S) });
    if (this.opts.autoMode ?? true) q.set('auto_mode', 'true');
    if (this.opts.languageCode) q.set('language_code', this.opts.languageCode);
    if (this.opts.applyTextNormalization) q.set('apply_text_normalization', this.opts.applyTextNormalization);
    const base = wsBase(this.opts.baseUrl ?? ELEVENLABS_BASE_URL);
    return `${base}/v1/text-to-speech/${encodeURIComponent(voice)}/multi-stream-input?${q.toString()}`;
  }

  /** Opens the connection the next utterance at this rate will use, ahead of it. */
  prepare(req: TtsPrepareRequest): void {
    const url = this.url(req.voice ?? this.opts.voice ?? ELEVENLABS_DEFAULT_VOICE, this.outputFormat(req.sampleRate).format);
    pool.warm(WsPool.key(url, this.opts.apiKey), () => this.connect(url), this.clock, this.timeouts.firstAudioMs);
  }

  private connect(url: string): WsChannel {
    return new WsChannel(url, { 'xi-api-key': this.opts.apiKey });
  }

  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    const secret = this.opts.apiKey;
    const fmt = this.outputFormat(req.sampleRate);
    const url = this.url(req.voice ?? this.opts.voice ?? ELEVENLABS_DEFAULT_VOICE, fmt.format);
    const bytes = new Pcm16leBytes();
    const rate = new VendorAudioResampler(fmt.rate, req.sampleRate);
    const audio = pooledSynthesis({
      pool,
      key: WsPool.key(url, secret),
      connect: () => this.connect(url),
      protocol: this.protocol(req.text, secret),
      clock: this.clock,
      timeouts: this.timeouts,
      secret,
      signal: req.signal,
    });
    for await (const raw of audio) {
      const pcm = rate.process(fmt.ulaw ? decodeMuLaw(raw) : bytes.push(raw));
      if (pcm.length > 0) yield pcm;
    }
    const tail = rate.flush();
    if (tail.length > 0 && !req.signal?.aborted) yield tail;
  }

  private protocol(text: string, secret: string): ContextProtocol {
    const name = this.name;
    return {
      name,
      start: (contextId) => {
        const init: Record<string, unknown> = { text: ' ', context_id: contextId };
        if (this.opts.voiceSettings && Object.keys(this.opts.voiceSettings).length > 0) init.voice_settings = this.opts.voiceSettings;
        // The docs ask for text ending in one space; flush makes it speak now, and closing the
        // context makes the server send isFinal once its audio is out.
        return [init, { text: `${text.trim()} `, context_id: contextId, flush: true }, { context_id: contextId, close_context: true }];
      },
      read: (frame, contextId) => {
        const m = this.parse(frame);
        const ctx = m.contextId ?? m.context_id;
        if (ctx !== undefined && ctx !== null && ctx !== contextId) return { kind: 'other' };
        const done = m.isFinal === true || m.is_final === true;
        if (typeof m.audio === 'string' && m.audio !== '') return { kind: 'audio', audio: Buffer.from(m.audio, 'base64'), done };
        if (done) return { kind: 'done' };
        if (m.error !== undefined || m.message !== undefined) throw messageError(name, str(m.error), str(m.message), secret);
        return { kind: 'none' };
      },
      rejected: (ev) => rejectionError(name, ev.status, ev.headers, ev.body, secret),
      closed: (ev) => closeError(name, ev.code, ev.reason, secret),
    };
  }

  private parse(text: string): Record<string, unknown> {
    const m = parseJsonObject(this.name, text);
    const audio = (m as { audio?: unknown }).audio;
    if (audio !== undefined && audio !== null && !isBase64(audio)) {
      throw new ProviderError('provider_failed', `${this.name}: an audio field that is not base64`, true);
    }
    return m;
  }
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** ElevenLabs' error words -> the runtime's codes (its socket reports errors as text, not status). */
function classify(name: string, text: string, secret: string): ProviderError {
  const t = text.toLowerCase();
  const msg = redact(`${name}: ${text}`, secret).slice(0, 400);
  if (t.includes('quota')) return new ProviderRateLimitedError(msg, false, undefined);
  if (/api.?key|unauthori[sz]ed|authenticat|permission/.test(t)) return new ProviderError('provider_auth_failed', msg, false);
  if (/rate.?limit|too.?many|concurren/.test(t)) return new ProviderRateLimitedError(msg, true, undefined);
  if (/voice.*not.?found|voice_not_found|invalid|not found|unsupported/.test(t)) return new ProviderError('provider_bad_request', msg, false);
  return new ProviderError('provider_failed', msg, true);
}

function messageError(name: string, error: string | undefined, message: string | undefined, secret: string): ProviderError {
  return classify(name, [error, message].filter(Boolean).join(': ') || 'unknown error', secret);
}

function closeError(name: string, code: number, reason: string, secret: string): ProviderError {
  if (code === 1006 || code === 1005) return new ProviderError('provider_failed', `${name}: the connection dropped before the audio was complete (close ${code})`, true);
  if (code === 1000 || code === 1001) return new ProviderError('provider_failed', `${name}: the server closed (${code}) before the audio was complete`, true);
  return classify(name, `closed ${code}${reason ? `: ${reason}` : ''}`, secret);
}

/** Its HTTP errors are `{"detail": {"status", "message"}}` (or `{"detail": "text"}`); quota_exceeded comes as 401. */
function rejectionError(name: string, status: number, headers: Headers, body: string, secret: string): ProviderError {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const detail = (JSON.parse(body) as { detail?: unknown }).detail;
    if (typeof detail === 'string') message = detail;
    else if (typeof detail === 'object' && detail !== null) {
      code = str((detail as { status?: unknown }).status);
      message = str((detail as { message?: unknown }).message);
    }
  } catch {
    // not JSON: shown as text below
  }
  if (message === undefined && code === undefined) message = parseVendorError(body).message;
  const text = [code, message].filter(Boolean).join(': ');
  if (code === 'quota_exceeded') return statusError(name, 429, headers, text, secret, { quotaExhausted: true });
  return statusError(name, status, headers, text, secret);
}

/** Checks an agent's ElevenLabs settings without the network (model and voice names are not checked). */
export function checkElevenLabsTtsSettings(s: ResolvedProviderSettings): Omit<ElevenLabsTtsOptions, 'apiKey' | 'clock'> {
  const voiceSettings: Record<string, number | boolean> = {};
  for (const key of ['stability', 'similarity_boost', 'style', 'speed']) {
    const v = numberOption(s, key);
    if (v !== undefined) voiceSettings[key] = v;
  }
  const boost = booleanOption(s, 'use_speaker_boost');
  if (boost !== undefined) voiceSettings.use_speaker_boost = boost;
  const speed = voiceSettings.speed;
  if (typeof speed === 'number' && (speed < 0.7 || speed > 1.2)) {
    throw new ProviderError('provider_bad_request', `elevenlabs option speed must be between 0.7 and 1.2, got ${speed}`, false);
  }
  const out: Omit<ElevenLabsTtsOptions, 'apiKey' | 'clock'> = { voiceSettings, timeouts: ttsTimeouts(s) };
  if (s.base_url) out.baseUrl = s.base_url;
  if (s.model) out.model = s.model;
  if (s.voice) out.voice = s.voice;
  // The call's language goes as language_code only to the models that take it (the vendor refuses it
  // for the others); the option language_code is sent as given.
  const model = s.model ?? ELEVENLABS_DEFAULT_MODEL;
  const lang = stringOption(s, 'language_code') ?? (LANGUAGE_CODE_MODELS.has(model) ? iso639_1(s.language) : undefined);
  if (lang) out.languageCode = lang;
  const auto = booleanOption(s, 'auto_mode');
  if (auto !== undefined) out.autoMode = auto;
  const nb = oneOf(s, 'narrowband_format', stringOption(s, 'narrowband_format'), ['pcm_8000', 'ulaw_8000'] as const);
  if (nb) out.narrowbandFormat = nb;
  const norm = oneOf(s, 'apply_text_normalization', stringOption(s, 'apply_text_normalization'), ['auto', 'on', 'off'] as const);
  if (norm) out.applyTextNormalization = norm;
  return out;
}

export function createElevenLabsTts(s: ResolvedProviderSettings, extra: { clock?: Clock } = {}): ElevenLabsTts {
  const checked = checkElevenLabsTtsSettings(s);
  const opts: ElevenLabsTtsOptions = { ...checked, apiKey: requireApiKey('tts', s) };
  if (extra.clock) opts.clock = extra.clock;
  return new ElevenLabsTts(opts);
}
