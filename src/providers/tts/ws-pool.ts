/**
 * Idle vendor WebSockets kept between utterances, so an agent's next turn does not pay TCP + TLS +
 * the upgrade again. Module state: one set of pools per worker thread (each thread has its own
 * module instances). A connection serves one synthesis at a time; while idle its socket is
 * unref'd (it never keeps the process alive) and a close by the server removes it at once.
 */
import { createHash } from 'node:crypto';
import type { Clock, TimerHandle } from '../../time/clock.js';
import type { WsChannel } from './ws-channel.js';

export interface WsPoolLimits {
  /** An idle connection is closed after this long. */
  idleMs: number;
  /** Idle connections kept per key; more are closed when they come back. */
  maxIdle: number;
}

interface IdleConnection {
  ch: WsChannel;
  clock: Clock;
  timer: TimerHandle;
}

const pools = new Set<WsPool>();

export class WsPool {
  readonly #idle = new Map<string, IdleConnection[]>();
  /** Keys with a connection being opened by warm(), settled once it is idle (or failed). */
  readonly #warming = new Map<string, Promise<void>>();

  constructor(readonly limits: WsPoolLimits) {
    pools.add(this);
  }

  /** The pool key of an endpoint and credential; the key is digested so it is not kept in clear. */
  static key(url: string, apiKey: string, ...extra: string[]): string {
    return [url, createHash('sha256').update(apiKey).digest('hex'), ...extra].join('\n');
  }

  /** The most recently used idle connection still open (the warmest), or none. */
  checkOut(key: string): WsChannel | undefined {
    for (let c = this.#idle.get(key)?.at(-1); c !== undefined; c = this.#idle.get(key)?.at(-1)) {
      this.#forget(key, c);
      c.ch.setIdle(false);
      // What arrived while idle belongs to earlier utterances; a connection that died meanwhile goes.
      if (c.ch.discardPending()) return c.ch;
      c.ch.terminate();
    }
    return undefined;
  }

  /**
   * An idle connection, or the one warm() is opening for this key once it is open (so an utterance
   * right after prepare() does not open a second connection beside it); none when neither exists.
   */
  async acquire(key: string): Promise<WsChannel | undefined> {
    const warming = this.#idle.has(key) ? undefined : this.#warming.get(key);
    if (warming) await warming;
    return this.checkOut(key);
  }

  checkIn(key: string, ch: WsChannel, clock: Clock): void {
    const list = this.#idle.get(key) ?? [];
    if (!ch.open || list.length >= this.limits.maxIdle) {
      ch.close();
      return;
    }
    const c: IdleConnection = {
      ch,
      clock,
      timer: clock.setTimer(this.limits.idleMs, () => {
        if (this.#forget(key, c)) ch.close();
      }),
    };
    list.push(c);
    this.#idle.set(key, list);
    ch.setIdle(true, () => {
      if (this.#forget(key, c)) ch.terminate();
    });
  }

  /**
   * Opens a connection for `key` ahead of the utterance that will need it (the vendors' advice:
   * set the WebSocket up before the first generation), unless one is idle or already opening.
   * It joins the idle connections once open; a failure is dropped quietly, since the utterance
   * itself will open a connection and report what goes wrong.
   */
  warm(key: string, connect: () => WsChannel, clock: Clock, timeoutMs: number): void {
    if (this.#idle.has(key) || this.#warming.has(key)) return;
    const ch = connect();
    const timer = clock.setTimer(timeoutMs, () => ch.terminate());
    this.#warming.set(
      key,
      ch.next().then(
        (ev) => {
          clock.clearTimer(timer);
          this.#warming.delete(key);
          if (ev.type === 'open') this.checkIn(key, ch, clock);
          else ch.terminate();
        },
        () => {
          clock.clearTimer(timer);
          this.#warming.delete(key);
          ch.terminate();
        },
      ),
    );
  }

  /** Closes every idle connection of this pool. */
  closeIdle(): void {
    for (const [key, list] of [...this.#idle]) {
      for (const c of [...list]) if (this.#forget(key, c)) c.ch.close();
    }
  }

  #forget(key: string, c: IdleConnection): boolean {
    const list = this.#idle.get(key);
    const i = list?.indexOf(c) ?? -1;
    if (!list || i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) this.#idle.delete(key);
    c.clock.clearTimer(c.timer);
    return true;
  }
}

/** Closes every idle pooled vendor connection of this thread (worker shutdown, tests). */
export function closeIdleTtsConnections(): void {
  for (const p of pools) p.closeIdle();
}
