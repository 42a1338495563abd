import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ProviderError } from '../errors.js';
import { SttEventQueue } from './event-queue.js';
import { PocketsphinxOutputParser, type PsUtterance } from './pocketsphinx-output.js';
import type { SttEvent, SttProvider, SttStartOptions, SttStream } from './types.js';

/**
 * Offline recognition with Debian's pocketsphinx + pocketsphinx-en-us: one long-lived
 * `pocketsphinx_continuous` per stream, fed 20 ms chunks. The engine segments utterances with its
 * own VAD and prints one result per utterance shortly after it ends.
 *
 * The acoustic model follows the leg's rate. Debian's US English model is wideband (its filterbank
 * reaches 6.8 kHz), so it hears 16 kHz legs and nothing useful on 8 kHz ones. Narrowband legs
 * (G.711, RFC 3551 §4.5.14: 8000 Hz) get CMU's 8 kHz en-us model that the npm package
 * `soundswallower` ships (filterbank 130-3700 Hz, inside the telephone band), with Debian's
 * language model and dictionary (the engine's compiled-in defaults). That model describes its
 * front end in `feat_params.json`; Debian's engine reads a text `feat.params`, so one is written
 * once into a private cache directory and passed with `-featparams`, with `-nfft 256` (a 25.6 ms
 * window at 8 kHz is 205 samples). Other rates are refused: the voice session resamples a leg above
 * 16 kHz down to 16 kHz before it gets here (src/voice/frame-resampler.ts).
 */
export interface PocketsphinxOptions {
  /** Path to pocketsphinx_continuous (default: from PATH). */
  binary?: string;
  /**
   * Trailing silence that ends an utterance (default DEFAULT_END_SILENCE_MS). Shorter answers
   * sooner but splits sentences at pauses.
   */
  endSilenceMs?: number;
  /** Extra engine flags, e.g. ['-hmm', dir, '-lm', file, '-dict', file] for another model. */
  extraArgs?: readonly string[];
  /** Directory of the 8 kHz acoustic model (default: soundswallower's model/en-us). */
  narrowbandModelDir?: string;
  /** Where the text feat.params for the 8 kHz model is written (default: a private dir under the OS temp dir). */
  cacheDir?: string;
}

/**
 * Default end-of-utterance silence (-vad_postspeech). The engine's own default is 500 ms. Measured
 * (BENCHMARKS.md, bench/speech-wer.ts and bench/providers-vad.ts): 300 ms gives the final ~200 ms
 * sooner and split none of the 65 committed phone sentences (neither did 500 ms). Word error rate
 * (flite slt) moved within run-to-run noise, with no trend: 16 kHz 7.7 vs 7.6 %, 8 kHz 17.9 vs
 * 15.8 %, mu-law 18.2 / 19.2 / 18.4 % and A-law 19.0 / 16.6 / 16.9 % at 300 / 400 / 500 ms.
 */
export const DEFAULT_END_SILENCE_MS = 300;

const RATES = [8000, 16000] as const;
/** Wait this long after the last output line before treating an utterance without `</s>` as done. */
const SETTLE_MS = 50;
/** Audio queued for the engine beyond 30 s means it is not keeping up: fail the stream. */
const MAX_BACKLOG_S = 30;

export class PocketsphinxStt implements SttProvider {
  readonly name = 'pocketsphinx';
  readonly capabilities = { streaming: true, interimResults: false, sampleRates: RATES } as const;

  constructor(private readonly opts: PocketsphinxOptions = {}) {}

  start(opts: SttStartOptions): PocketsphinxStream {
    if (opts.sampleRate !== 8000 && opts.sampleRate !== 16000) {
      throw new ProviderError(
        'unsupported_audio',
        `pocketsphinx hears 8 kHz (narrowband model) or 16 kHz (wideband model) audio, not ${opts.sampleRate} Hz: resample to one of them`,
        false,
      );
    }
    if (opts.language !== undefined && !/^en(-|$)/i.test(opts.language)) {
      throw new ProviderError('provider_bad_request', `pocketsphinx has only a US English model here, not '${opts.language}'`, false);
    }
    const modelArgs = opts.sampleRate === 8000 ? narrowbandModelArgs(this.opts) : [];
    return new PocketsphinxStream(this.opts, opts.sampleRate, modelArgs, opts.signal);
  }
}

/** Flags that load the 8 kHz model; throws provider_unavailable when it cannot be found. */
function narrowbandModelArgs(o: PocketsphinxOptions): string[] {
  const dir = o.narrowbandModelDir ?? defaultNarrowbandModelDir();
  const json = join(dir, 'feat_params.json');
  let params: Record<string, unknown>;
  try {
    params = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ProviderError('provider_unavailable', `pocketsphinx cannot load the 8 kHz model: ${json} is missing or unreadable (is the npm package soundswallower installed?)`, false, { cause: err });
  }
  const featParams = featParamsFile(params, o.cacheDir ?? join(tmpdir(), `outcall-pocketsphinx-${process.getuid?.() ?? 'user'}`));
  // The npm model names its noise dictionary noisedict.txt; the engine looks for `noisedict`.
  return ['-hmm', dir, '-featparams', featParams, '-fdict', join(dir, 'noisedict.txt'), '-nfft', '256'];
}

let cachedModelDir: string | undefined;
function defaultNarrowbandModelDir(): string {
  if (cachedModelDir === undefined) {
    let entry: string;
    try {
      entry = createRequire(import.meta.url).resolve('soundswallower');
    } catch (err) {
      throw new ProviderError('provider_unavailable', 'pocketsphinx needs the npm package soundswallower for its 8 kHz model; it is not installed', false, { cause: err });
    }
    cachedModelDir = join(dirname(entry), 'model', 'en-us');
  }
  return cachedModelDir;
}

/** feat_params.json as the engine's text form: one `-key value` per line, booleans as yes/no. */
export function featParamsText(params: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (!/^[a-z_]+$/.test(k)) continue; // only plain flag names: nothing can smuggle another flag in
    const value = typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
    if (/\s/.test(value) || value === '') continue;
    lines.push(`-${k} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}

const written = new Map<string, string>();

/**
 * Writes feat.params once per content into `cacheDir` (created 0700 and checked to be ours, since a
 * shared temp dir is writable by everyone) and returns its path. Named by content hash and written
 * through a rename, so concurrent processes never see half a file.
 */
function featParamsFile(params: Record<string, unknown>, cacheDir: string): string {
  const text = featParamsText(params);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const done = written.get(`${cacheDir}\0${hash}`);
  if (done) return done;
  const file = join(cacheDir, `feat-${hash}.params`);
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const st = lstatSync(cacheDir);
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
      throw new Error(`${cacheDir} is not a private directory of this user`);
    }
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, text, { mode: 0o600 });
      renameSync(tmp, file);
    }
  } catch (err) {
    throw new ProviderError('provider_unavailable', `pocketsphinx cannot write the 8 kHz model's feat.params: ${(err as Error).message}`, false, { cause: err });
  }
  written.set(`${cacheDir}\0${hash}`, file);
  return file;
}

export class PocketsphinxStream implements SttStream {
  readonly #events = new SttEventQueue();
  readonly #parser = new PocketsphinxOutputParser();
  readonly #signal: AbortSignal | undefined;
  readonly #rate: number;
  #child: ChildProcess | undefined;
  #samples = 0;
  #lastEndMs = 0;
  #ended = false;
  #aborted = false;
  #stderrTail = '';
  #settleTimer: NodeJS.Timeout | undefined;
  readonly #onAbort = () => this.#abort();

  constructor(opts: PocketsphinxOptions, rate: number, modelArgs: readonly string[], signal: AbortSignal | undefined) {
    this.#signal = signal;
    this.#rate = rate;
    if (signal?.aborted) {
      this.#aborted = true;
      this.#events.emit({ type: 'closed' });
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    const args = ['-infile', '/dev/stdin', '-samprate', String(rate), '-time', 'yes', ...modelArgs];
    // -vad_postspeech counts 10 ms frames.
    args.push('-vad_postspeech', String(Math.max(1, Math.round((opts.endSilenceMs ?? DEFAULT_END_SILENCE_MS) / 10))));
    args.push(...(opts.extraArgs ?? []));
    // The engine fopen()s its input by path, and Node's child stdin is a socket, which /dev/stdin
    // cannot open (ENXIO). A `cat` behind process substitution turns it into a real pipe while the
    // engine itself stays the child we watch (exec), so its death is seen at once. detached puts
    // bash/engine and cat in their own process group, so one kill(-pid) ends both.
    const child = spawn('bash', ['-c', 'exec "$0" "$@" < <(exec cat 2>/dev/null)', opts.binary ?? 'pocketsphinx_continuous', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.#child = child;
    child.stdin?.on('error', () => undefined); // EPIPE when the engine died: reported via 'close'
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => this.#onStdout(d));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.#stderrTail = (this.#stderrTail + d).slice(-4000); // for the error message only
    });
    child.once('error', (err) => this.#finish(new ProviderError('provider_unavailable', `could not start bash for pocketsphinx: ${err.message}`, false, { cause: err })));
    child.once('close', (code, sig) => this.#onClose(code, sig));
  }

  /** The engine's pid (also its process group id), for diagnostics and tests. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Audio pushed but not yet taken by the engine, in samples (benches feed as fast as it reads). */
  get backlogSamples(): number {
    return Math.floor((this.#child?.stdin?.writableLength ?? 0) / 2);
  }

  [Symbol.asyncIterator](): AsyncIterator<SttEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  push(frame: Int16Array): void {
    if (this.#ended || this.#aborted || this.#events.closed) return;
    const stdin = this.#child?.stdin;
    if (!stdin || stdin.destroyed) return;
    this.#samples += frame.length;
    // Copy: the caller may reuse its frame buffer, and the write completes later.
    stdin.write(Buffer.from(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength)));
    // An engine that stopped reading (stuck, starved of CPU) would make us buffer a live call's
    // audio without bound; past MAX_BACKLOG its results would be too late to matter anyway.
    if (stdin.writableLength > MAX_BACKLOG_S * this.#rate * 2) {
      this.#finish(new ProviderError('provider_failed', `pocketsphinx fell ${Math.round(stdin.writableLength / (2 * this.#rate))} s behind the audio`, false));
    }
  }

  end(): void {
    if (this.#ended || this.#aborted) return;
    this.#ended = true;
    // EOF makes the engine finish the utterance in progress, print it and exit 0.
    this.#child?.stdin?.end();
  }

  #abort(): void {
    if (this.#aborted || this.#events.closed) return;
    this.#aborted = true;
    const child = this.#child;
    this.#kill();
    // `closed` waits for the engine's exit ('close'), so a reader that sees it knows the process is gone.
    if (!child || child.exitCode !== null || child.signalCode !== null) this.#finish(undefined);
  }

  #onStdout(text: string): void {
    if (this.#aborted) return;
    for (const u of this.#parser.push(text)) this.#emitFinal(u);
    clearTimeout(this.#settleTimer);
    this.#settleTimer = undefined;
    if (this.#parser.hasPending) {
      // An utterance normally ends with `</s>`; if a build omits it, settle after a short quiet.
      this.#settleTimer = setTimeout(() => {
        for (const u of this.#parser.flush()) this.#emitFinal(u);
      }, SETTLE_MS);
    }
  }

  #emitFinal(u: PsUtterance): void {
    const first = u.words[0];
    const last = u.words[u.words.length - 1];
    const heardMs = Math.round((this.#samples * 1000) / this.#rate);
    // Engine times are seconds from the first sample; without them, the best bound we have is
    // "after the previous result, before now".
    const startMs = first ? Math.round(first.startS * 1000) : this.#lastEndMs;
    const endMs = last ? Math.round(last.endS * 1000) : heardMs;
    this.#lastEndMs = endMs;
    const ev: SttEvent = { type: 'final', text: u.text, startMs, endMs };
    if (u.words.length > 0) ev.confidence = u.words.reduce((a, w) => a + Math.min(1, Math.max(0, w.prob)), 0) / u.words.length;
    this.#events.emit(ev);
  }

  #onClose(code: number | null, sig: NodeJS.Signals | null): void {
    clearTimeout(this.#settleTimer);
    if (this.#aborted) return this.#finish(undefined);
    for (const u of this.#parser.flush()) this.#emitFinal(u);
    if (code === 0 && this.#ended) return this.#finish(undefined);
    const detail = this.#stderrTail.split('\n').filter((l) => /FATAL|ERROR|not found|No such/i.test(l)).slice(-3).join(' | ');
    const err =
      code === 127
        ? new ProviderError('provider_unavailable', `pocketsphinx_continuous is not installed or not executable: ${detail}`, false)
        : new ProviderError(
            'provider_failed',
            `pocketsphinx exited ${sig ? `on ${sig}` : `with ${code}`}${this.#ended ? '' : ' while audio was still flowing'}${detail ? `: ${detail}` : ''}`,
            false,
          );
    this.#finish(err);
  }

  #finish(error: ProviderError | undefined): void {
    if (this.#events.closed) return;
    clearTimeout(this.#settleTimer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#kill();
    if (error) this.#events.emit({ type: 'error', error });
    this.#events.emit({ type: 'closed' });
  }

  #kill(): void {
    const child = this.#child;
    if (!child) return;
    // Closing our end also ends the helper `cat` (EOF) when the engine already exited by itself.
    child.stdin?.destroy();
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL'); // no group (already gone): make sure the engine is
    }
  }
}
