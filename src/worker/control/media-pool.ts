import type { MediaConfig } from '../../config.js';
import type { MediaLink } from './call-dialer.js';
import { MediaThread } from './media-thread.js';
import type { WorkerCommand, WorkerEvent } from '../protocol.js';

interface Member {
  thread: MediaThread;
  calls: Set<string>;
  alive: boolean;
}

/**
 * Several media worker threads behind one MediaLink. Sending and receiving RTP is mostly syscalls
 * (about 80% of a core for 1000 full-duplex legs on this machine kind), so one event loop caps a
 * process well below what its cores can carry; each thread here owns its own SIP port and a slice of
 * the RTP port range, and a new call goes to the thread with the fewest calls. A thread that dies
 * takes only its own calls with it.
 */
export class MediaPool implements MediaLink {
  readonly #members: Member[];
  readonly #owner = new Map<string, Member>();
  /** Inbound INVITEs waiting for the control side's answer or refusal: the thread that holds each. */
  readonly #invites = new Map<string, Member>();
  /** Trunk registrations: the thread that keeps each (its SIP port is the Contact registered). */
  readonly #registrations = new Map<string, Member>();
  readonly #listeners = new Set<(e: WorkerEvent) => void>();
  readonly #lostListeners = new Set<(callIds: string[], allLost: boolean) => void>();

  private constructor(threads: MediaThread[]) {
    this.#members = threads.map((thread) => ({ thread, calls: new Set<string>(), alive: true }));
    for (const m of this.#members) {
      m.thread.on((e) => {
        if (e.type === 'ended') {
          m.calls.delete(e.callId);
          this.#owner.delete(e.callId);
        } else if (e.type === 'incoming') {
          this.#invites.set(e.inviteId, m);
        }
        for (const l of this.#listeners) l(e);
      });
      m.thread.onExit(() => {
        m.alive = false;
        const lost = [...m.calls];
        m.calls.clear();
        for (const id of lost) this.#owner.delete(id);
        for (const [id, owner] of this.#invites) if (owner === m) this.#invites.delete(id);
        // Its registrations are gone with its socket: say so, and the keeper registers them again.
        for (const [trunkId, owner] of this.#registrations) {
          if (owner !== m) continue;
          this.#registrations.delete(trunkId);
          for (const l of this.#listeners) l({ type: 'registration', trunkId, state: 'failed', lastError: 'the media thread holding it died', at: Date.now(), gone: true });
        }
        const allLost = this.#members.every((x) => !x.alive);
        for (const l of this.#lostListeners) l(lost, allLost);
      });
    }
  }

  /** Starts `count` threads; thread i gets SIP port base+2i (or any free port) and the i-th slice of RTP ports. */
  static async start(cfg: MediaConfig, count: number): Promise<MediaPool> {
    const n = Math.max(1, Math.floor(count));
    const span = Math.floor((cfg.rtpPortMax - cfg.rtpPortMin + 1) / n);
    if (span < 4) throw new Error(`the RTP port range ${cfg.rtpPortMin}-${cfg.rtpPortMax} is too small for ${n} media threads`);
    const threads = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        MediaThread.start({
          ...cfg,
          sipPort: cfg.sipPort === 0 ? 0 : cfg.sipPort + 2 * i,
          rtpPortMin: cfg.rtpPortMin + i * span,
          rtpPortMax: i === n - 1 ? cfg.rtpPortMax : cfg.rtpPortMin + (i + 1) * span - 1,
        }),
      ),
    );
    return new MediaPool(threads);
  }

  get sipPorts(): number[] {
    return this.#members.map((m) => m.thread.sipPort);
  }

  /** Calls per thread, for load checks and tests. */
  get load(): number[] {
    return this.#members.map((m) => m.calls.size);
  }

  on(listener: (e: WorkerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called with the calls a dead thread held; allLost once no thread is left. */
  onLost(listener: (callIds: string[], allLost: boolean) => void): void {
    this.#lostListeners.add(listener);
  }

  send(cmd: WorkerCommand): void {
    if (cmd.type === 'shutdown') {
      for (const m of this.#members) if (m.alive) m.thread.send(cmd);
      return;
    }
    if (cmd.type === 'cancel') {
      this.#owner.get(cmd.callId)?.thread.send(cmd);
      return;
    }
    if (cmd.type === 'reject' || cmd.type === 'answer') {
      // The INVITE lives on the thread that received it; an answer makes its call that thread's.
      const m = this.#invites.get(cmd.inviteId);
      this.#invites.delete(cmd.inviteId);
      if (!m?.alive) throw new Error(`no media thread holds the INVITE ${cmd.inviteId}`);
      if (cmd.type === 'answer') {
        m.calls.add(cmd.callId);
        this.#owner.set(cmd.callId, m);
      }
      m.thread.send(cmd);
      return;
    }
    if (cmd.type === 'register' || cmd.type === 'unregister') {
      // A trunk's registration stays on one thread: a new register replaces it there.
      const holder = this.#registrations.get(cmd.trunkId);
      if (cmd.type === 'unregister') {
        this.#registrations.delete(cmd.trunkId);
        if (holder?.alive) holder.thread.send(cmd);
        return;
      }
      const m = holder?.alive ? holder : this.#members.find((x) => x.alive);
      if (!m) throw new Error('no media thread is alive');
      this.#registrations.set(cmd.trunkId, m);
      m.thread.send(cmd);
      return;
    }
    let best: Member | undefined;
    for (const m of this.#members) if (m.alive && (!best || m.calls.size < best.calls.size)) best = m;
    if (!best) throw new Error('no media thread is alive');
    best.calls.add(cmd.callId);
    this.#owner.set(cmd.callId, best);
    best.thread.send(cmd);
  }

  /** Each thread lets its live calls go on for drainMs, then ends the rest (worker_shutdown) and stops. */
  async stop(graceMs?: number, drainMs = 0): Promise<void> {
    await Promise.all(this.#members.map((m) => m.thread.stop(graceMs, drainMs)));
  }
}
