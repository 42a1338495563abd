import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resample } from '../../media/resampler.js';
import { ProviderError } from '../errors.js';
import type { TtsProvider, TtsRequest } from './types.js';
import { WavStreamParser } from './wav-stream.js';

/** The voices Debian's flite package builds in (`flite -lv`); kal speaks at 8 kHz, the others at 16 kHz. */
export const FLITE_VOICES = ['kal', 'kal16', 'awb', 'awb_time', 'rms', 'slt'] as const;

/**
 * flite (CMU) from Debian, one process per sentence. Why not one process streaming to a pipe:
 * `flite -f` appends each utterance to its output by re-opening it and reading the header back,
 * which blocks forever on a pipe, and `flite -t` writes the whole wave only at the end. So the text
 * goes in on stdin (never argv: other local users can read a process's arguments), each sentence's
 * wave goes to a private temporary file, and sentences stream one after another: the first audio
 * of a long reply comes after its first sentence, not after all of it. Resampled to the leg's rate.
 */
export class FliteTts implements TtsProvider {
  readonly name = 'flite';
  readonly capabilities = { streaming: true, nativeSampleRates: [8000, 16000] } as const;

  constructor(private readonly opts: { binary?: string; defaultVoice?: string } = {}) {}

  /** Whether flite knows `voice`: a built-in name, or a path to a .flitevox file. */
  static knowsVoice(voice: string): boolean {
    return (FLITE_VOICES as readonly string[]).includes(voice) || (voice.startsWith('/') && voice.endsWith('.flitevox'));
  }

  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    const voice = req.voice ?? this.opts.defaultVoice ?? 'slt';
    if (!FliteTts.knowsVoice(voice)) {
      throw new ProviderError('provider_bad_request', `flite has no voice "${voice}" (voices: ${FLITE_VOICES.join(', ')})`, false);
    }
    for (const sentence of sentences(req.text)) {
      if (req.signal?.aborted) return;
      const pcm = await this.#sentence(sentence, voice, req.signal);
      if (pcm === undefined) return; // aborted
      const resampled = resample(pcm.samples, pcm.rate, req.sampleRate);
      if (resampled.length > 0) yield resampled;
    }
  }

  async #sentence(text: string, voice: string, signal: AbortSignal | undefined): Promise<{ samples: Int16Array; rate: number } | undefined> {
    const file = join(tmpdir(), `outcall-flite-${process.pid}-${randomBytes(8).toString('hex')}.wav`);
    // `-f -` reads the text from stdin (fd 0 itself, so Node's socket works as well as a pipe).
    const child = spawn(this.opts.binary ?? 'flite', ['-voice', voice, '-f', '-', '-o', file], { stdio: ['pipe', 'ignore', 'pipe'] });
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined); // the process may exit before reading all input
    child.stdin.end(text);
    try {
      const { code, error } = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
        child.once('error', (e) => resolve({ code: null, error: e }));
        child.once('close', (c) => resolve({ code: c }));
      });
      if (signal?.aborted) return undefined;
      if (error) throw new ProviderError('provider_unavailable', `flite could not start: ${error.message}`, false, { cause: error });
      if (code !== 0) throw new ProviderError('provider_failed', `flite exited with ${code}: ${stderr.trim()}`, false);
      const parser = new WavStreamParser();
      let samples: Int16Array;
      try {
        samples = parser.push(await readFile(file));
      } catch (err) {
        throw new ProviderError('provider_failed', `flite wrote no readable wave: ${(err as Error).message}`, false, { cause: err });
      }
      return { samples, rate: parser.format?.sampleRate ?? 16000 };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await rm(file, { force: true });
    }
  }
}

/** Sentences to synthesize one by one; a text with no sentence end is one sentence. */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?…])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
