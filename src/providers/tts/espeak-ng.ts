import { spawn } from 'node:child_process';
import { Resampler } from '../../media/resampler.js';
import { ProviderError } from '../errors.js';
import type { TtsProvider, TtsRequest } from './types.js';
import { WavStreamParser } from './wav-stream.js';

/**
 * espeak-ng from Debian, run per utterance. It streams WAV to stdout as it synthesizes (first
 * audio in ~11-25 ms on this machine), at 22,050 Hz; we resample to the leg's rate on the fly.
 * Runs offline with no key, so every agent can speak out of the box.
 */
export class EspeakNgTts implements TtsProvider {
  readonly name = 'espeak-ng';
  readonly capabilities = { streaming: true, nativeSampleRates: [22050] } as const;

  constructor(private readonly opts: { binary?: string; defaultVoice?: string; wordsPerMinute?: number } = {}) {}

  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    if (req.signal?.aborted) return;
    const args = ['--stdout', '-v', req.voice ?? this.opts.defaultVoice ?? 'en-us', '-s', String(this.opts.wordsPerMinute ?? 165)];
    // Text goes through stdin, never through argv, so nothing in it is read as an option.
    const child = spawn(this.opts.binary ?? 'espeak-ng', [...args, '--stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const onAbort = () => child.kill('SIGKILL');
    req.signal?.addEventListener('abort', onAbort, { once: true });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, error }));
      child.once('close', (code) => resolve({ code }));
    });
    child.stdin.on('error', () => undefined); // the process may exit before reading all input
    child.stdin.end(req.text);
    const parser = new WavStreamParser();
    let resampler: Resampler | undefined;
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        if (req.signal?.aborted) return;
        const pcm = parser.push(chunk);
        if (pcm.length === 0) continue;
        const rate = parser.format?.sampleRate ?? 22050;
        if (rate !== req.sampleRate) resampler ??= new Resampler(rate, req.sampleRate);
        yield resampler ? resampler.process(pcm) : pcm;
      }
      if (resampler) {
        const tail = resampler.flush();
        if (tail.length > 0) yield tail;
      }
      const { code, error } = await exited;
      if (req.signal?.aborted) return;
      if (error) {
        throw new ProviderError('provider_unavailable', `espeak-ng could not start: ${error.message}`, false, { cause: error });
      }
      if (code !== 0) throw new ProviderError('provider_failed', `espeak-ng exited with ${code}: ${stderr.trim()}`, false);
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
}
