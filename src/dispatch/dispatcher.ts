/**
 * The dispatch loop of one worker: claims due calls and hands them to the dialer.
 *
 * It runs a claim pass when woken (NOTIFY on CALLS_QUEUED_CHANNEL, `wake()`, or its own timer) and
 * coalesces wake-ups: while a pass runs, any number of wakes just ask for one more pass after it.
 * Between passes it sleeps until the poll interval (the fallback if a NOTIFY is lost) or, if
 * sooner, until the next scheduled call or the moment a CPS bucket holding a due call opens.
 * Heartbeats (lease renewal) and the lease reaper run on their own timers.
 */
import type { Database } from '../store/db.js';
import { claimCalls, type ClaimResult } from './claim.js';
import { beginDial } from './dial-guard.js';
import { deregisterWorker, failUndialed, heartbeat, pruneWorkers, reapExpiredLeases, registerWorker, type ReapResult } from './leases.js';
import { failOverdueCalls } from './overdue.js';
import { Periodic } from './periodic.js';
import { consoleLogger, type ClaimedCall, type Dialer, type DispatchLogger } from './types.js';
import { CALLS_QUEUED_CHANNEL } from '../store/channels.js';

export interface DispatcherOptions {
  db: Database;
  workerId: string;
  dialer: Dialer;
  now?: () => Date;
  /** Longest sleep between passes when nothing wakes the loop (default 1000 ms). */
  pollIntervalMs?: number;
  /** How long a claim stays ours without a heartbeat (default 30 s). */
  leaseMs?: number;
  /** Calls (and agents) per claim pass (default 10). */
  batchSize?: number;
  /** Default leaseMs / 3: two heartbeats may be lost before a lease runs out. */
  heartbeatIntervalMs?: number;
  /** Default leaseMs / 2. */
  reapIntervalMs?: number;
  logger?: DispatchLogger;
}

export class Dispatcher {
  readonly workerId: string;
  readonly #db: Database;
  readonly #dialer: Dialer;
  readonly #now: () => Date;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #batchSize: number;
  readonly #log: DispatchLogger;
  readonly #heartbeat: Periodic;
  readonly #reaper: Periodic;
  /** Calls handed to the dialer whose dial() has not settled: their leases are renewed. */
  readonly #held = new Map<string, Promise<void>>();
  #running = false;
  #again = false;
  #loop: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(opts: DispatcherOptions) {
    this.workerId = opts.workerId;
    this.#db = opts.db;
    this.#dialer = opts.dialer;
    this.#now = opts.now ?? (() => new Date());
    this.#pollMs = opts.pollIntervalMs ?? 1000;
    this.#leaseMs = opts.leaseMs ?? 30_000;
    this.#batchSize = opts.batchSize ?? 10;
    this.#log = opts.logger ?? consoleLogger;
    const logAs = (msg: string) => (err: unknown) => this.#log.error({ err, workerId: this.workerId }, msg);
    this.#heartbeat = new Periodic(opts.heartbeatIntervalMs ?? Math.max(1, Math.floor(this.#leaseMs / 3)), () => this.heartbeatOnce().then(() => undefined), logAs('heartbeat failed'));
    this.#reaper = new Periodic(opts.reapIntervalMs ?? Math.max(1, Math.floor(this.#leaseMs / 2)), () => this.reapOnce().then(() => undefined), logAs('lease reaper failed'));
  }

  /** Ids of calls handed to the dialer and not yet settled. */
  get heldCallIds(): string[] {
    return [...this.#held.keys()];
  }

  async start(): Promise<void> {
    if (this.#running) throw new Error(`dispatcher ${this.workerId} is already running`);
    await registerWorker(this.#db, this.workerId, 'dispatcher', this.#now());
    this.#unlisten = await this.#db.listen(CALLS_QUEUED_CHANNEL, () => this.wake());
    this.#running = true;
    this.#heartbeat.start();
    this.#reaper.start();
    this.wake();
  }

  /**
   * Stops claiming, waits for the pass in flight, then for the calls in the dialer's hands (their
   * leases are renewed meanwhile), then stops heartbeats and the reaper.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearTimeout(this.#timer);
    const unlisten = this.#unlisten;
    this.#unlisten = undefined;
    await unlisten?.();
    await this.#loop;
    await Promise.all(this.#held.values());
    await Promise.all([this.#heartbeat.stop(), this.#reaper.stop()]);
    await deregisterWorker(this.#db, this.workerId);
  }

  /** Asks for a claim pass soon; wake-ups during a pass fold into one more pass. */
  wake(): void {
    if (!this.#running) return;
    this.#again = true;
    this.#loop ??= this.#drain().finally(() => {
      this.#loop = undefined;
    });
  }

  async #drain(): Promise<void> {
    while (this.#running && this.#again) {
      this.#again = false;
      clearTimeout(this.#timer);
      let delay = this.#pollMs;
      try {
        const r = await this.runPass();
        if (r.more) this.#again = true;
        else if (r.nextAt !== null) delay = Math.min(delay, Math.max(0, r.nextAt.getTime() - this.#now().getTime()));
      } catch (err) {
        // The store may be briefly unreachable: log, and try again after the poll interval.
        this.#log.error({ err, workerId: this.workerId }, 'claim pass failed');
      }
      if (this.#running && !this.#again) this.#sleep(delay);
    }
  }

  #sleep(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.wake(), ms);
    this.#timer.unref();
  }

  /** One claim pass, handing each claimed call to the dialer. Public so tests can step it. */
  async runPass(): Promise<ClaimResult> {
    const r = await claimCalls(this.#db, { workerId: this.workerId, now: this.#now(), leaseMs: this.#leaseMs, batchSize: this.#batchSize });
    for (const call of r.claimed) this.#handOff(call);
    return r;
  }

  #handOff(call: ClaimedCall): void {
    const done = (async () => {
      try {
        await this.#dialer.dial(call);
      } catch (err) {
        this.#log.error({ err, callId: call.id, workerId: this.workerId }, 'dialer failed');
        await failUndialed(this.#db, call, this.workerId, this.#now(), err instanceof Error ? err.message : String(err)).catch((e: unknown) =>
          this.#log.error({ err: e, callId: call.id }, 'could not record the dial failure; the lease reaper will end the call'),
        );
      } finally {
        this.#held.delete(call.id);
      }
    })();
    this.#held.set(call.id, done);
  }

  /**
   * A call this worker holds without having claimed it (an inbound call it answers): its lease is
   * renewed like a claimed call's until `done` settles, and stop() waits for it.
   */
  adopt(callId: string, done: Promise<void>): void {
    const held = done
      .catch((err: unknown) => this.#log.error({ err, callId, workerId: this.workerId }, 'an adopted call failed'))
      .finally(() => this.#held.delete(callId));
    this.#held.set(callId, held);
  }

  /** Renews this worker's heartbeat and the leases of the calls it holds. */
  async heartbeatOnce(): Promise<number> {
    return heartbeat(this.#db, this.workerId, this.#now(), this.#leaseMs, this.heldCallIds);
  }

  /** One reaper pass; re-queued calls are announced by NOTIFY, which wakes every dispatcher. */
  async reapOnce(): Promise<ReapResult> {
    const now = this.#now();
    // Our own live calls are not ours to reap: after an outage of the store, the heartbeat renews them.
    const r = await reapExpiredLeases(this.#db, { now, alive: this.heldCallIds });
    if (r.requeued.length > 0 || r.failed.length > 0) this.#log.warn({ ...r, workerId: this.workerId }, 'expired leases reaped');
    const overdue = await failOverdueCalls(this.#db, { now });
    if (overdue.length > 0) this.#log.error({ overdue, workerId: this.workerId }, 'calls whose worker never reported an ending were failed as overdue');
    // Workers silent for ten leases hold nothing any more (their calls were reaped): forget them.
    await pruneWorkers(this.#db, now, this.#leaseMs * 10);
    return r;
  }

  /**
   * The dial guard for a call this dispatcher claimed (see dial-guard.ts): true means send the
   * INVITE now; false means the call was canceled or re-queued meanwhile, send nothing.
   */
  beginDial(call: Pick<ClaimedCall, 'orgId' | 'id'>): Promise<boolean> {
    return beginDial(this.#db, call, this.workerId, { now: this.#now(), leaseMs: this.#leaseMs });
  }
}
