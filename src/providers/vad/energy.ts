import { samplesPerFrame } from '../../media/frames.js';
import { checkFrame, segmenterSettings, SpeechSegmenter, unsupportedRate } from './segmenter.js';
import type { VadEvent, VadFrameResult, VadOptions, VadProvider, VadStream } from './types.js';

/**
 * Energy VAD: per-frame RMS level in dBFS against an adaptive noise floor. No model, microseconds
 * per frame, any rate; it cannot tell speech from other loud sounds (music, a door), so it is the
 * fallback when Silero cannot run, not the default.
 */
export interface EnergyVadSettings {
  /** How far above the noise floor a frame must be to count as speech (default 12 dB). */
  marginDb?: number;
  /** Frames quieter than this are never speech, whatever the floor (default -55 dBFS). */
  absoluteMinDb?: number;
  /** How fast the floor may rise when the room gets louder (default 3 dB/s); it falls at once. */
  floorRiseDbPerSecond?: number;
}

const FLOOR_MIN_DB = -90;
const SILENCE_DB = -100; // digital silence has no finite level; treat it as far below any floor

export function rmsDbfs(frame: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) {
    const v = frame[i] as number;
    sum += v * v;
  }
  const rms = Math.sqrt(sum / Math.max(1, frame.length)) / 32768;
  return rms > 0 ? Math.max(SILENCE_DB, 20 * Math.log10(rms)) : SILENCE_DB;
}

export class EnergyVad implements VadProvider {
  readonly name = 'energy';
  readonly capabilities = { sampleRates: [8000, 16000] } as const;

  constructor(private readonly settings: EnergyVadSettings = {}) {}

  async create(opts: VadOptions): Promise<VadStream> {
    if (!this.capabilities.sampleRates.includes(opts.sampleRate as 8000 | 16000)) {
      throw unsupportedRate(this.name, opts.sampleRate, this.capabilities.sampleRates);
    }
    return new EnergyVadStream(opts, this.settings);
  }
}

class EnergyVadStream implements VadStream {
  readonly sampleRate: number;
  readonly #frameSamples: number;
  readonly #segmenter: SpeechSegmenter;
  readonly #margin: number;
  readonly #absMin: number;
  readonly #risePerFrame: number;
  #floor: number | undefined;
  #frames = 0;

  constructor(opts: VadOptions, s: EnergyVadSettings) {
    this.sampleRate = opts.sampleRate;
    this.#frameSamples = samplesPerFrame(opts.sampleRate);
    this.#segmenter = new SpeechSegmenter(segmenterSettings(opts, 0.5));
    this.#margin = s.marginDb ?? 12;
    this.#absMin = s.absoluteMinDb ?? -55;
    this.#risePerFrame = (s.floorRiseDbPerSecond ?? 3) / 50;
  }

  async push(frame: Int16Array): Promise<VadFrameResult> {
    checkFrame(frame, this.#frameSamples, this.sampleRate);
    const db = rmsDbfs(frame);
    // The floor starts at the first frame's level, follows quiet frames down at once and creeps up
    // slowly. It creeps up during speech too: otherwise a room that got louder (a TV switched on)
    // would read as speech forever. Speech itself cannot lift it much, because the dips between
    // words pull it straight back down.
    let floor = this.#floor ?? db;
    floor = db < floor ? db : Math.min(db, floor + this.#risePerFrame);
    this.#floor = Math.max(FLOOR_MIN_DB, floor);
    const over = db - Math.max(this.#floor + this.#margin, this.#absMin);
    // A logistic over the margin maps "level above the gate" to a probability with 0.5 at the gate,
    // so thresholds and hysteresis mean the same as for model-based VADs.
    const probability = 1 / (1 + Math.exp(-over / 2));
    const startMs = this.#frames * 20;
    this.#frames++;
    const events = this.#segmenter.update(probability, startMs, 20);
    return { probability, speaking: this.#segmenter.speaking, events };
  }

  async end(): Promise<VadEvent[]> {
    return this.#segmenter.end();
  }
}
