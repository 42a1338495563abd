/**
 * The OpenAI Realtime settings of one call, read from the agent's speech_to_speech settings
 * (ResolvedProviderSettings). Defaults suit phone calls: server VAD tuned for a phone line, the
 * cheap transcription model for the callee's side of the transcript.
 *
 * Wire protocol: the GA Realtime interface ("session.type: realtime", "audio.input/output",
 * "response.output_audio.*"), https://developers.openai.com/api/reference/resources/realtime/client-events
 * and .../server-events. The beta interface (OpenAI-Beta: realtime=v1, "response.audio.delta",
 * "input_audio_format") is not spoken.
 */
import { ProviderError } from '../../providers/errors.js';
import { numberOption, requireApiKey, stringOption, type ResolvedProviderSettings } from '../../providers/settings.js';

export const REALTIME_DEFAULT_URL = 'wss://api.openai.com/v1';
export const REALTIME_DEFAULT_MODEL = 'gpt-realtime';
/** marin is one of the voices OpenAI recommends for gpt-realtime. */
export const REALTIME_DEFAULT_VOICE = 'marin';
export const REALTIME_DEFAULT_TRANSCRIPTION = 'gpt-4o-mini-transcribe';

export type TurnDetection =
  | { type: 'server_vad'; threshold?: number; silence_duration_ms?: number; prefix_padding_ms?: number }
  | { type: 'semantic_vad'; eagerness?: 'low' | 'medium' | 'high' | 'auto' };

export interface RealtimeConfig {
  /** The full WebSocket URL, model in the query. */
  url: string;
  apiKey: string;
  model: string;
  voice: string;
  turnDetection: TurnDetection;
  transcriptionModel: string;
  language?: string;
  /** Cap on one response's output tokens (the agent's max_tokens); the vendor's default is "inf". */
  maxOutputTokens?: number;
  /** Time allowed to open the socket and get session.created. */
  connectTimeoutMs: number;
}

const EAGERNESS = ['low', 'medium', 'high', 'auto'] as const;

function bad(message: string): ProviderError {
  return new ProviderError('provider_bad_request', `speech_to_speech: ${message}`, false);
}

/** Everything that can be checked without the network; throws provider_bad_request. */
export function checkOpenAiRealtimeSettings(s: ResolvedProviderSettings): void {
  realtimeConfigFrom({ ...s, api_key: s.api_key ?? 'unchecked' });
}

/**
 * Options: vad ('server_vad' default | 'semantic_vad'), vad_threshold (0..1), silence_duration_ms,
 * prefix_padding_ms, eagerness (semantic_vad), transcription_model, connect_timeout_ms.
 */
export function realtimeConfigFrom(s: ResolvedProviderSettings): RealtimeConfig {
  if (s.provider !== 'openai') throw bad(`provider "${s.provider}" has no speech-to-speech model here; use openai`);
  const apiKey = requireApiKey('speech_to_speech', s);
  const vad = stringOption(s, 'vad') ?? 'server_vad';
  let turnDetection: TurnDetection;
  if (vad === 'server_vad') {
    const threshold = numberOption(s, 'vad_threshold');
    if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) throw bad(`option vad_threshold must be within 0..1, got ${threshold}`);
    const silence = msOption(s, 'silence_duration_ms', 100, 5000);
    const prefix = msOption(s, 'prefix_padding_ms', 0, 2000);
    turnDetection = {
      type: 'server_vad',
      ...(threshold !== undefined ? { threshold } : {}),
      // 500 ms: shorter than OpenAI's own default would cut callees off mid-sentence on a phone line.
      silence_duration_ms: silence ?? 500,
      ...(prefix !== undefined ? { prefix_padding_ms: prefix } : {}),
    };
  } else if (vad === 'semantic_vad') {
    const eagerness = stringOption(s, 'eagerness');
    if (eagerness !== undefined && !(EAGERNESS as readonly string[]).includes(eagerness)) throw bad(`option eagerness must be one of ${EAGERNESS.join(', ')}`);
    turnDetection = { type: 'semantic_vad', ...(eagerness ? { eagerness: eagerness as (typeof EAGERNESS)[number] } : {}) };
  } else throw bad(`option vad must be server_vad or semantic_vad, got ${JSON.stringify(vad)}`);
  // The GA session object has no sampling temperature (the beta's was removed); refusing it says so
  // at save time instead of the setting being silently ignored on every call.
  if (s.temperature !== undefined) throw bad('the OpenAI Realtime interface takes no temperature; remove it');
  if (s.max_tokens !== undefined && !(Number.isInteger(s.max_tokens) && s.max_tokens >= 1 && s.max_tokens <= 4096)) {
    throw bad(`max_tokens must be a whole number in 1..4096 (the Realtime max_output_tokens range), got ${s.max_tokens}`);
  }
  const model = s.model ?? REALTIME_DEFAULT_MODEL;
  return {
    url: realtimeUrl(s.base_url ?? REALTIME_DEFAULT_URL, model),
    apiKey,
    model,
    voice: s.voice ?? REALTIME_DEFAULT_VOICE,
    turnDetection,
    transcriptionModel: stringOption(s, 'transcription_model') ?? REALTIME_DEFAULT_TRANSCRIPTION,
    ...(s.language ? { language: s.language.split(/[-_]/)[0] as string } : {}),
    ...(s.max_tokens !== undefined ? { maxOutputTokens: s.max_tokens } : {}),
    connectTimeoutMs: msOption(s, 'connect_timeout_ms', 500, 30_000) ?? 10_000,
  };
}

function msOption(s: ResolvedProviderSettings, key: string, min: number, max: number): number | undefined {
  const v = numberOption(s, key);
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) throw bad(`option ${key} must be a whole number of ms in ${min}..${max}, got ${v}`);
  return v;
}

/** `<base>/realtime?model=...`; an http(s) base (a local test server) becomes ws(s). */
export function realtimeUrl(base: string, model: string): string {
  let u: URL;
  try {
    u = new URL(base.replace(/^http(s?):/, 'ws$1:'));
  } catch {
    throw bad(`base_url ${JSON.stringify(base)} is not a URL`);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw bad(`base_url must be wss:// (or https://), got ${u.protocol}`);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/realtime`;
  u.searchParams.set('model', model);
  return u.toString();
}
