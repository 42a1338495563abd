/**
 * Records one call from answer to end as 16-bit PCM WAV: the callee's decoded audio and the agent's
 * audio as it was played, time-aligned on the 20 ms frame clock of the call. Mono is the clipped sum
 * of both sides; dual puts the callee on the left channel and the agent on the right.
 *
 * Alignment: each side keeps a cursor (the sample where its next frame goes). A leg plays what is
 * written to it one frame per 20 ms tick after what is already queued, so an agent frame lands at
 * max(cursor, the current frame slot). Callee frames come out of the jitter buffer one per tick, so
 * they follow each other at the cursor; only when they arrive later than `gapToleranceMs` past the
 * cursor did the callee really send nothing, and the gap is kept as silence. Arrival jitter of the
 * event loop therefore never shifts or splits the audio.
 *
 * Memory: samples live in one-second blocks allocated as audio arrives (silent stretches allocate
 * nothing), and nothing is kept past maxMs (the call's max_duration).
 *
 * Options of the call's `record`: `track` keeps one side only (inbound: the callee, outbound: the
 * agent; a single track is one channel, so it goes with mono), and `trimSilence` cuts the leading
 * and trailing silence off the finished recording (silence-trim.ts says how silence is measured).
 */
import { FRAME_MS, samplesPerFrame } from './frames.js';
import { soundRange } from './silence-trim.js';
import { encodeWav } from './wav.js';

export type RecordingChannels = 'mono' | 'dual';

/** Which side is recorded: inbound is the callee (what we receive), outbound the agent (what we send). */
export type RecordingTrack = 'inbound' | 'outbound' | 'both';

/** What the call's `record` asks of the recording. */
export interface RecordingOptions {
  channels: RecordingChannels;
  /** Default 'both'. */
  track?: RecordingTrack;
  /** Cut leading and trailing silence at finish(). Default false. */
  trimSilence?: boolean;
}

export interface RecorderOptions extends RecordingOptions {
  sampleRate: number;
  /** Time of answer, in the same clock as the `at` given to callee()/agent()/finish() (ms). */
  startAt: number;
  /** Nothing past this is recorded (the call's max duration). */
  maxMs: number;
  /** A callee frame later than this past its side's cursor starts after a gap of silence. Default 40. */
  gapToleranceMs?: number;
}

export interface Recording {
  format: 'wav';
  channels: RecordingChannels;
  sampleRate: number;
  durationMs: number;
  /** The whole WAV file. */
  wav: ArrayBuffer;
}

/** PCM in one-second blocks, allocated on first write; unwritten samples are silence. */
class BlockTrack {
  readonly #blocks: Array<Int16Array | undefined> = [];

  constructor(private readonly blockSize: number) {}

  /** Adds `pcm` at sample `pos`, clipping the sum to 16 bits, up to (not including) sample `limit`. */
  add(pos: number, pcm: Int16Array, limit: number): void {
    const end = Math.min(pos + pcm.length, limit);
    for (let p = pos; p < end; ) {
      const b = Math.floor(p / this.blockSize);
      const block = (this.#blocks[b] ??= new Int16Array(this.blockSize));
      const stop = Math.min(end, (b + 1) * this.blockSize);
      for (let i = p - b * this.blockSize, j = p - pos; p < stop; p++, i++, j++) {
        const s = (block[i] as number) + (pcm[j] as number);
        block[i] = s > 32767 ? 32767 : s < -32768 ? -32768 : s;
      }
    }
  }

  /** The first n samples as one plane. */
  plane(n: number): Int16Array {
    const out = new Int16Array(n);
    for (let b = 0; b * this.blockSize < n; b++) {
      const block = this.#blocks[b];
      if (block) out.set(block.subarray(0, Math.min(this.blockSize, n - b * this.blockSize)), b * this.blockSize);
    }
    return out;
  }
}

export class CallRecorder {
  readonly #opts: RecorderOptions;
  readonly #frameSize: number;
  readonly #maxSamples: number;
  readonly #gapSamples: number;
  /** Mono: both sides sum into the first track. Dual: callee, agent. */
  readonly #tracks: BlockTrack[];
  /** Undefined until the first callee frame, which sits at its own slot. */
  #calleeCursor: number | undefined;
  #agentCursor = 0;
  #finished = false;

  constructor(opts: RecorderOptions) {
    this.#opts = opts;
    this.#frameSize = samplesPerFrame(opts.sampleRate);
    this.#maxSamples = Math.max(0, Math.floor((opts.maxMs * opts.sampleRate) / 1000));
    this.#gapSamples = Math.round(((opts.gapToleranceMs ?? 40) * opts.sampleRate) / 1000);
    const track = () => new BlockTrack(opts.sampleRate);
    this.#tracks = opts.channels === 'mono' ? [track()] : [track(), track()];
  }

  /** The first sample of the 20 ms slot that `at` falls in. */
  #slot(at: number): number {
    return Math.max(0, Math.floor((at - this.#opts.startAt) / FRAME_MS)) * this.#frameSize;
  }

  /** A frame heard from the callee at time `at`. */
  callee(frame: Int16Array, at: number): void {
    if (this.#finished || this.#opts.track === 'outbound') return;
    const now = this.#slot(at);
    const cursor = this.#calleeCursor;
    const pos = cursor === undefined || now > cursor + this.#gapSamples ? now : cursor;
    (this.#tracks[0] as BlockTrack).add(pos, frame, this.#maxSamples);
    this.#calleeCursor = pos + frame.length;
  }

  /** A frame the agent wrote into the leg at time `at` (it plays after what is already queued). */
  agent(frame: Int16Array, at: number): void {
    if (this.#finished || this.#opts.track === 'inbound') return;
    const pos = Math.max(this.#agentCursor, this.#slot(at));
    (this.#tracks[this.#tracks.length - 1] as BlockTrack).add(pos, frame, this.#maxSamples);
    this.#agentCursor = pos + frame.length;
  }

  /**
   * The recording from answer to `at` (the end of the call), capped at maxMs, without its leading and
   * trailing silence with trimSilence (then possibly empty: durationMs 0). Once only.
   */
  finish(at: number): Recording {
    if (this.#finished) throw new Error('recording already finished');
    this.#finished = true;
    const rate = this.#opts.sampleRate;
    const n = Math.min(this.#maxSamples, Math.max(0, Math.round(((at - this.#opts.startAt) * rate) / 1000)));
    let planes = this.#tracks.map((t) => t.plane(n));
    if (this.#opts.trimSilence) {
      const { start, end } = soundRange(planes, rate);
      planes = planes.map((p) => p.subarray(start, end));
    }
    const samples = planes[0]?.length ?? 0;
    return {
      format: 'wav',
      channels: this.#opts.channels,
      sampleRate: rate,
      durationMs: Math.round((samples * 1000) / rate),
      wav: encodeWav(planes, rate),
    };
  }
}
