import { spawn } from 'node:child_process';
import { samplesPerFrame } from '../../../src/media/frames.js';
import { resample } from '../../../src/media/resampler.js';
import { WavStreamParser } from '../../../src/providers/tts/wav-stream.js';

/**
 * Test audio made at run time rather than checked in: real synthetic speech from flite's `slt`
 * voice (16 kHz, the voice pocketsphinx recognizes best), plus silence and seeded noise, cut into
 * the 20 ms frames the pipeline pushes.
 */
const clips = new Map<string, Promise<Int16Array>>();

/** `text` spoken by flite at 16 kHz. Cached per process: several suites use the same sentence. */
export function fliteSpeech(text: string, voice = 'slt'): Promise<Int16Array> {
  const key = `${voice}\n${text}`;
  let p = clips.get(key);
  if (!p) {
    p = runFlite(text, voice);
    clips.set(key, p);
  }
  return p;
}

async function runFlite(text: string, voice: string): Promise<Int16Array> {
  // flite writes nothing to a socket (Node's stdio), so it writes to a pipe that cat copies.
  // The text is passed as an argument of the script ($1), never spliced into the shell code.
  const child = spawn('sh', ['-c', 'flite -voice "$0" -t "$1" -o /dev/stdout | cat', voice, text], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const parser = new WavStreamParser();
  const parts: Int16Array[] = [];
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) parts.push(parser.push(chunk));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  const code = await exited;
  const pcm = concat(...parts);
  if (code !== 0 || pcm.length === 0) throw new Error(`flite failed (exit ${code}): ${stderr.trim()}`);
  const rate = parser.format?.sampleRate ?? 16000;
  return rate === 16000 ? pcm : resample(pcm, rate, 16000);
}

/** Converts 16 kHz test audio to the rate under test. */
export function atRate(pcm16k: Int16Array, rate: number): Int16Array {
  return rate === 16000 ? pcm16k : resample(pcm16k, 16000, rate);
}

export function silence(ms: number, rate: number): Int16Array {
  return new Int16Array(Math.round((ms * rate) / 1000));
}

/** White noise at an RMS level in dBFS, from a seeded generator so every run hears the same noise. */
export function whiteNoise(ms: number, rate: number, dbfs: number, seed = 1): Int16Array {
  const out = new Int16Array(Math.round((ms * rate) / 1000));
  // Uniform in [-a, a] has RMS a/sqrt(3).
  const amp = Math.sqrt(3) * 32768 * 10 ** (dbfs / 20);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = Math.round(((s >>> 0) / 0xffffffff) * 2 * amp - amp);
  }
  return out;
}

export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Sample-wise sum, clipped: speech over a noise bed. */
export function mix(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, (a[i] ?? 0) + (b[i] ?? 0)));
  return out;
}

/** 20 ms frames; the last one is padded with silence. */
export function toFrames(pcm: Int16Array, rate: number): Int16Array[] {
  const n = samplesPerFrame(rate);
  const out: Int16Array[] = [];
  for (let i = 0; i < pcm.length; i += n) {
    const f = new Int16Array(n);
    f.set(pcm.subarray(i, Math.min(i + n, pcm.length)));
    out.push(f);
  }
  return out;
}

/**
 * Where the audible part of a clip starts and ends (10 ms blocks above `dbfs`): the ground truth
 * the VAD's onset is checked against, independent of any VAD.
 */
export function audibleBounds(pcm: Int16Array, rate: number, dbfs = -40): { onsetMs: number; endMs: number } {
  const block = Math.round(rate / 100);
  const gate = 32768 * 10 ** (dbfs / 20);
  let first = -1;
  let last = -1;
  for (let b = 0; b * block < pcm.length; b++) {
    let sum = 0;
    const end = Math.min(pcm.length, (b + 1) * block);
    for (let i = b * block; i < end; i++) sum += (pcm[i] as number) ** 2;
    if (Math.sqrt(sum / (end - b * block)) > gate) {
      if (first < 0) first = b;
      last = b;
    }
  }
  if (first < 0) throw new Error('clip has no audible part');
  return { onsetMs: first * 10, endMs: (last + 1) * 10 };
}
