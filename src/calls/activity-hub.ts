/**
 * One LISTEN per process for all live call streams: subscribers register per call id, and each
 * notification is handed to that call's subscribers only. A stream per listening connection would
 * cost a database connection per watcher.
 */
import type { Database } from '../store/db.js';
import { CALL_ACTIVITY_CHANNEL, decodeActivity, type CallActivity } from './activity.js';

type Listener = (a: CallActivity) => void;

export class CallActivityHub {
  readonly #subs = new Map<string, Set<Listener>>();
  #started: Promise<() => Promise<void>> | undefined;

  constructor(private readonly db: Database) {}

  /** Listens from now on (the LISTEN is in place when this resolves). */
  async subscribe(callId: string, fn: Listener): Promise<() => void> {
    this.#started ??= this.db.listen(CALL_ACTIVITY_CHANNEL, (payload) => this.#dispatch(payload));
    try {
      await this.#started;
    } catch (err) {
      this.#started = undefined; // let the next subscriber try again
      throw err;
    }
    let set = this.#subs.get(callId);
    if (!set) this.#subs.set(callId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#subs.get(callId) === set) this.#subs.delete(callId);
    };
  }

  get watchedCalls(): number {
    return this.#subs.size;
  }

  #dispatch(payload: string): void {
    const a = decodeActivity(payload);
    if (!a) return;
    for (const fn of [...(this.#subs.get(a.callId) ?? [])]) fn(a);
  }

  async stop(): Promise<void> {
    const started = this.#started;
    this.#started = undefined;
    this.#subs.clear();
    if (started) await (await started.catch(() => async () => {}))();
  }
}
