import { spawn, type ChildProcess } from 'node:child_process';
import { ProviderError } from '../errors.js';
import { SttEventQueue } from './event-queue.js';
import { PocketsphinxOutputParser, type PsUtterance } from './pocketsphinx-output.js';
import type { SttEvent, SttProvider, SttStartOptions, SttStream } from './types.js';

/**
 * Offline recognition with Debian's pocketsphinx + pocketsphinx-en-us: one long-lived
 * `pocketsphinx_continuous` per stream, fed 20 ms chunks. The engine segments utterances with its
 * own VAD and prints one result per utterance about 0.4-0.5 s after it ends. The US English model
 * is 16 kHz only (word error rate ~100% on 8 kHz phone audio here), so narrowband legs are refused.
 */
export interface PocketsphinxOptions {
  /** Path to pocketsphinx_continuous (default: from PATH). */
  binary?: string;
  /**
   * Trailing silence that ends an utterance (engine default 500 ms). Shorter answers sooner but
   * splits sentences at pauses.
   */
  endSilenceMs?: number;
  /** Extra engine flags, e.g. ['-hmm', dir, '-lm', file, '-dict', file] for another model. */
  extraArgs?: readonly string[];
}

const RATE = 16000;
/** Wait this long after the last output line before treating an utterance without `</s>` as done. */
const SETTLE_MS = 50;
/** Audio queued for the engine beyond this (30 s) means it is not keeping up: fail the stream. */
const MAX_BACKLOG_BYTES = 30 * RATE * 2;

export class PocketsphinxStt implements SttProvider {
  readonly name = 'pocketsphinx';
  readonly capabilities = { streaming: true, interimResults: false, sampleRates: [RATE] } as const;

  constructor(private readonly opts: PocketsphinxOptions = {}) {}

  start(opts: SttStartOptions): PocketsphinxStream {
    if (opts.sampleRate !== RATE) {
      const leg = opts.sampleRate === 8000 ? 'this leg is narrowband 8 kHz' : `this leg is ${opts.sampleRate} Hz`;
      throw new ProviderError(
        'unsupported_audio',
        `pocketsphinx needs 16 kHz audio; ${leg}: use a wideband codec (L16/16000 or G.722) or a cloud recognizer`,
        false,
      );
    }
    if (opts.language !== undefined && !/^en(-|$)/i.test(opts.language)) {
      throw new ProviderError('provider_bad_request', `pocketsphinx has only a US English model here, not '${opts.language}'`, false);
    }
    return new PocketsphinxStream(this.opts, opts.signal);
  }
}

export class PocketsphinxStream implements SttStream {
  readonly #events = new SttEventQueue();
  readonly #parser = new PocketsphinxOutputParser();
  readonly #signal: AbortSignal | undefined;
  #child: ChildProcess | undefined;
  #samples = 0;
  #lastEndMs = 0;
  #ended = false;
  #aborted = false;
  #stderrTail = '';
  #settleTimer: NodeJS.Timeout | undefined;
  readonly #onAbort = () => this.#abort();

  constructor(opts: PocketsphinxOptions, signal: AbortSignal | undefined) {
    this.#signal = signal;
    if (signal?.aborted) {
      this.#aborted = true;
      this.#events.emit({ type: 'closed' });
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    const args = ['-infile', '/dev/stdin', '-samprate', String(RATE), '-time', 'yes'];
    if (opts.endSilenceMs !== undefined) args.push('-vad_postspeech', String(Math.max(1, Math.round(opts.endSilenceMs / 10))));
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
    if (stdin.writableLength > MAX_BACKLOG_BYTES) {
      this.#finish(new ProviderError('provider_failed', `pocketsphinx fell ${Math.round(stdin.writableLength / (2 * RATE))} s behind the audio`, false));
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
    const heardMs = Math.round((this.#samples * 1000) / RATE);
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
