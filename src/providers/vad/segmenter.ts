import { ProviderError } from '../errors.js';
import type { VadEvent, VadOptions } from './types.js';

export interface SegmenterSettings {
  startThreshold: number;
  stopThreshold: number;
  minSpeechMs: number;
  minSilenceMs: number;
}

/** Resolves a caller's options against a provider's defaults, and refuses settings that cannot work. */
export function segmenterSettings(opts: VadOptions, defaultThreshold: number): SegmenterSettings {
  const startThreshold = opts.threshold ?? defaultThreshold;
  const stopThreshold = opts.stopThreshold ?? Math.max(0.01, startThreshold - 0.15);
  const minSpeechMs = opts.minSpeechMs ?? 250;
  const minSilenceMs = opts.minSilenceMs ?? 400;
  const bad = (m: string) => new ProviderError('provider_bad_request', `VAD options: ${m}`, false);
  if (!(startThreshold > 0 && startThreshold < 1)) throw bad(`threshold must be in (0, 1), got ${startThreshold}`);
  if (!(stopThreshold > 0 && stopThreshold <= startThreshold)) throw bad(`stopThreshold must be in (0, threshold], got ${stopThreshold}`);
  if (!(minSpeechMs >= 0) || !(minSilenceMs >= 0)) throw bad('minSpeechMs and minSilenceMs must be >= 0');
  return { startThreshold, stopThreshold, minSpeechMs, minSilenceMs };
}

/**
 * Turns a sequence of speech probabilities over consecutive stretches of audio into speech
 * segments, shared by every VAD so they all mean the same thing by "speech":
 * - a segment starts when the probability reaches startThreshold and stays at or above
 *   stopThreshold for minSpeechMs (hysteresis: one dip to just under start does not break it);
 * - it ends when the probability stays below stopThreshold for minSilenceMs.
 * Events carry the audio time where the change happened, not the time it was confirmed.
 */
export class SpeechSegmenter {
  #state: 'silence' | 'maybe_speech' | 'speech' | 'maybe_silence' = 'silence';
  #onsetMs = 0;
  #speechStartMs = 0;
  #silenceStartMs = 0;
  #nowMs = 0;

  constructor(private readonly s: SegmenterSettings) {}

  get speaking(): boolean {
    return this.#state === 'speech' || this.#state === 'maybe_silence';
  }

  /** The probability `p` covers audio [startMs, startMs + durationMs). */
  update(p: number, startMs: number, durationMs: number): VadEvent[] {
    const endMs = startMs + durationMs;
    this.#nowMs = endMs;
    const out: VadEvent[] = [];
    switch (this.#state) {
      case 'silence':
        if (p >= this.s.startThreshold) {
          this.#onsetMs = startMs;
          this.#state = 'maybe_speech';
          this.#confirmSpeech(endMs, out);
        }
        break;
      case 'maybe_speech':
        if (p < this.s.stopThreshold) this.#state = 'silence';
        else this.#confirmSpeech(endMs, out);
        break;
      case 'speech':
        if (p < this.s.stopThreshold) {
          this.#silenceStartMs = startMs;
          this.#state = 'maybe_silence';
          this.#confirmSilence(endMs, out);
        }
        break;
      case 'maybe_silence':
        if (p >= this.s.stopThreshold) this.#state = 'speech';
        else this.#confirmSilence(endMs, out);
        break;
    }
    return out;
  }

  /** The audio ended: close an open segment at its last speech. */
  end(): VadEvent[] {
    if (!this.speaking) {
      this.#state = 'silence';
      return [];
    }
    const atMs = this.#state === 'maybe_silence' ? this.#silenceStartMs : this.#nowMs;
    this.#state = 'silence';
    return [{ type: 'speech_end', atMs, durationMs: atMs - this.#speechStartMs }];
  }

  #confirmSpeech(endMs: number, out: VadEvent[]): void {
    if (endMs - this.#onsetMs < this.s.minSpeechMs) return;
    this.#state = 'speech';
    this.#speechStartMs = this.#onsetMs;
    out.push({ type: 'speech_start', atMs: this.#onsetMs });
  }

  #confirmSilence(endMs: number, out: VadEvent[]): void {
    if (endMs - this.#silenceStartMs < this.s.minSilenceMs) return;
    this.#state = 'silence';
    out.push({ type: 'speech_end', atMs: this.#silenceStartMs, durationMs: this.#silenceStartMs - this.#speechStartMs });
  }
}

/** Checks a pushed frame is exactly 20 ms at the stream's rate: anything else is a caller bug. */
export function checkFrame(frame: Int16Array, frameSamples: number, sampleRate: number): void {
  if (!(frame instanceof Int16Array) || frame.length !== frameSamples) {
    throw new ProviderError('unsupported_audio', `VAD takes 20 ms frames: ${frameSamples} samples at ${sampleRate} Hz, got ${frame?.length}`, false);
  }
}

export function unsupportedRate(provider: string, rate: number, rates: readonly number[]): ProviderError {
  return new ProviderError('unsupported_audio', `${provider} VAD works at ${rates.join(' or ')} Hz, not ${rate} Hz`, false);
}
