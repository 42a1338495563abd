/**
 * What every streaming HTTP client of a model needs around one request: one AbortController that
 * the caller's signal, our timeouts and an early exit all pull; a timer re-armed per phase (first
 * token, then idle between pieces, then the end grace); and the rule for why a request stopped,
 * in priority order: the caller's abort is no error at all, then our own timeout, then what the
 * connection said (with the key redacted).
 */
import type { Clock, TimerHandle } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { redact } from './http-errors.js';

/** How long a complete answer's connection may take to end its body before it is closed instead of reused. */
const END_GRACE_MS = 250;

export class RequestGuard {
  readonly ac = new AbortController();
  #timeout: ProviderError | undefined;
  #timer: TimerHandle | undefined;
  readonly #onAbort = () => this.ac.abort();

  constructor(
    private readonly name: string,
    private readonly clock: Clock,
    private readonly caller: AbortSignal | undefined,
    private readonly secret: string | undefined,
  ) {
    caller?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** The caller gave up (barge-in, hang-up): stop quietly. */
  get callerAborted(): boolean {
    return this.caller?.aborted ?? false;
  }

  /** Fails the request with provider_timeout unless disarmed (or re-armed) within `ms`. */
  arm(ms: number, what: string): void {
    this.disarm();
    this.#timer = this.clock.setTimer(ms, () => {
      this.#timeout = new ProviderError('provider_timeout', `${this.name}: ${what} within ${ms} ms`, true);
      this.ac.abort();
    });
  }

  disarm(): void {
    if (this.#timer) this.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  /** Why the request stopped: undefined when the caller aborted, else the error to throw. */
  stopped(err: unknown, during: string): ProviderError | undefined {
    if (this.callerAborted) return undefined;
    if (this.#timeout) return this.#timeout;
    const why = redact(describe(err), this.secret);
    return new ProviderError(during === 'connect' ? 'provider_unavailable' : 'provider_failed', `${this.name}: ${during} failed: ${why}`, true);
  }

  /**
   * After a complete answer, reads on to the end of the body (normally right after the last event)
   * so the connection goes back to the keep-alive pool instead of being closed. Briefly: the caller
   * already has its answer, and a server that lingers is not worth waiting for. Returns whether
   * the body ended (the argument of dispose).
   */
  async drain(reader: { read(): Promise<{ done: boolean }> }): Promise<boolean> {
    this.arm(END_GRACE_MS, 'no end of stream');
    try {
      while (!(await reader.read()).done);
      return true;
    } catch {
      // The answer is complete; a connection that fails now only costs its reuse.
      return false;
    } finally {
      this.disarm();
    }
  }

  /** Always last: a request left before its body's end (break, abort, error) closes its connection. */
  dispose(bodyEnded: boolean): void {
    this.disarm();
    this.caller?.removeEventListener('abort', this.#onAbort);
    if (!bodyEnded) this.ac.abort();
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${(err.cause as NodeJS.ErrnoException).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}
