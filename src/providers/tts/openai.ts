/**
 * OpenAI text to speech: `POST {base}/audio/speech` (https://platform.openai.com/docs/api-reference/audio/createSpeech)
 * with model, input, voice, `response_format: "pcm"` and optional instructions (gpt-4o-mini-tts
 * only) and speed (0.25-4). The audio streams back by chunked transfer as it is generated.
 *
 * Rate: OpenAI's "pcm" is raw 24 kHz 16-bit signed little-endian mono with no header, and that is
 * its only PCM rate (the API has no 8 or 16 kHz output; wav is the same 24 kHz), so this is the one
 * adapter that always resamples: 24 kHz -> the leg's rate, on the fly. Errors come in OpenAI's
 * `{"error": {"message", "type", "param", "code"}}` shape.
 */
import { realClock, type Clock } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { parseVendorError, redact } from '../llm/http-errors.js';
import { numberOption, requireApiKey, stringOption, type ResolvedProviderSettings } from '../settings.js';
import { Pcm16leBytes, VendorAudioResampler, SynthesisTimer, statusError, ttsTimeouts, type TtsTimeouts } from './cloud-audio.js';
import type { TtsProvider, TtsRequest } from './types.js';

export const OPENAI_TTS_BASE_URL = 'https://api.openai.com/v1';
export const OPENAI_TTS_DEFAULT_MODEL = 'gpt-4o-mini-tts';
export const OPENAI_TTS_DEFAULT_VOICE = 'alloy';
/** The only rate response_format "pcm" has. */
export const OPENAI_PCM_RATE = 24_000;

export interface OpenAiTtsOptions {
  apiKey: string;
  /** Up to and including the version segment, e.g. https://api.openai.com/v1 */
  baseUrl?: string;
  model?: string;
  voice?: string;
  /** How to speak (tone, pace); gpt-4o-mini-tts only. */
  instructions?: string;
  /** 0.25 to 4, 1 by default. */
  speed?: number;
  timeouts?: TtsTimeouts;
  clock?: Clock;
  fetch?: typeof fetch;
}

const MAX_ERROR_BODY = 64 * 1024;

export class OpenAiTts implements TtsProvider {
  readonly name = 'openai';
  readonly capabilities = { streaming: true, nativeSampleRates: [OPENAI_PCM_RATE] };
  private readonly clock: Clock;
  private readonly fetchFn: typeof fetch;
  private readonly timeouts: TtsTimeouts;
  readonly url: string;

  constructor(private readonly opts: OpenAiTtsOptions) {
    this.clock = opts.clock ?? realClock;
    this.fetchFn = opts.fetch ?? fetch;
    this.timeouts = opts.timeouts ?? { firstAudioMs: 5000, idleMs: 10_000 };
    this.url = `${(opts.baseUrl ?? OPENAI_TTS_BASE_URL).replace(/\/+$/, '')}/audio/speech`;
  }

  requestBody(req: TtsRequest): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: this.opts.model ?? OPENAI_TTS_DEFAULT_MODEL,
      input: req.text,
      voice: req.voice ?? this.opts.voice ?? OPENAI_TTS_DEFAULT_VOICE,
      response_format: 'pcm',
    };
    if (this.opts.instructions !== undefined) body.instructions = this.opts.instructions;
    if (this.opts.speed !== undefined) body.speed = this.opts.speed;
    return body;
  }

  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    if (req.signal?.aborted) return;
    const secret = this.opts.apiKey;
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = new SynthesisTimer(this.clock, this.name, () => ac.abort());
    // Why a request stopped: the caller's abort is no error at all; then our own timeouts.
    const stopped = (err: unknown, during: 'connect' | 'stream'): ProviderError | undefined => {
      if (req.signal?.aborted) return undefined;
      if (timer.fired) return timer.fired;
      const cause = err instanceof Error && err.cause instanceof Error ? ((err.cause as NodeJS.ErrnoException).code ?? err.cause.message) : String(err);
      const text = redact(`${this.name}: ${during === 'connect' ? 'could not connect' : 'the audio stream failed'}: ${cause}`, secret);
      return new ProviderError(during === 'connect' ? 'provider_unavailable' : 'provider_failed', text, true, { cause: err });
    };
    let eof = false;
    try {
      timer.arm(this.timeouts.firstAudioMs, 'no first audio');
      let res: Response;
      try {
        res = await this.fetchFn(this.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify(this.requestBody(req)),
          signal: ac.signal,
        });
      } catch (err) {
        const e = stopped(err, 'connect');
        if (e) throw e;
        return;
      }
      if (!res.ok || (res.headers.get('content-type') ?? '').includes('application/json')) {
        let text = '';
        try {
          text = (await res.text()).slice(0, MAX_ERROR_BODY);
          eof = true;
        } catch (err) {
          const e = stopped(err, 'stream');
          if (e === undefined) return;
          if (res.ok) throw e;
        }
        const v = parseVendorError(text);
        const detail = [v.message, v.code ?? v.type].filter(Boolean).join(' ');
        if (res.ok) throw new ProviderError('provider_failed', redact(`${this.name}: JSON instead of audio: ${detail}`, secret), true);
        const quota = v.code === 'insufficient_quota' || v.type === 'insufficient_quota';
        throw statusError(this.name, res.status, res.headers, detail, secret, { quotaExhausted: quota, nowMs: Date.now() });
      }
      if (res.body === null) throw new ProviderError('provider_failed', `${this.name}: HTTP ${res.status} with no body`, true);
      const reader = res.body.getReader();
      const bytes = new Pcm16leBytes();
      const rate = new VendorAudioResampler(OPENAI_PCM_RATE, req.sampleRate);
      let audio = false;
      for (;;) {
        if (audio) timer.arm(this.timeouts.idleMs, 'no audio');
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch (err) {
          const e = stopped(err, 'stream');
          if (e) throw e;
          return;
        }
        if (audio) timer.clear();
        if (r.done) {
          eof = true;
          break;
        }
        const pcm = rate.process(bytes.push(r.value));
        if (pcm.length === 0) continue;
        if (!audio) timer.clear();
        audio = true;
        yield pcm;
        if (req.signal?.aborted) return;
      }
      if (!audio) throw new ProviderError('provider_failed', `${this.name}: the answer had no audio`, true);
      const tail = rate.flush();
      if (tail.length > 0) yield tail;
    } finally {
      timer.clear();
      req.signal?.removeEventListener('abort', onAbort);
      if (!eof) ac.abort();
    }
  }
}

/** Checks an agent's OpenAI TTS settings without the network (model and voice names are not checked). */
export function checkOpenAiTtsSettings(s: ResolvedProviderSettings): Omit<OpenAiTtsOptions, 'apiKey' | 'clock' | 'fetch'> {
  const out: Omit<OpenAiTtsOptions, 'apiKey' | 'clock' | 'fetch'> = { timeouts: ttsTimeouts(s) };
  const speed = numberOption(s, 'speed');
  if (speed !== undefined) {
    if (speed < 0.25 || speed > 4) throw new ProviderError('provider_bad_request', `openai option speed must be between 0.25 and 4, got ${speed}`, false);
    out.speed = speed;
  }
  const instructions = stringOption(s, 'instructions');
  if (instructions !== undefined) out.instructions = instructions;
  if (s.base_url) out.baseUrl = s.base_url;
  if (s.model) out.model = s.model;
  if (s.voice) out.voice = s.voice;
  return out;
}

export function createOpenAiTts(s: ResolvedProviderSettings, extra: { clock?: Clock; fetch?: typeof fetch } = {}): OpenAiTts {
  const opts: OpenAiTtsOptions = { ...checkOpenAiTtsSettings(s), apiKey: requireApiKey('tts', s) };
  if (extra.clock) opts.clock = extra.clock;
  if (extra.fetch) opts.fetch = extra.fetch;
  return new OpenAiTts(opts);
}
