import type { Worker } from 'node:worker_threads';
import { startThread } from '../../threads.js';
import type { MediaConfig } from '../../config.js';
import type { WorkerCommand, WorkerEvent } from '../protocol.js';

/**
 * The control side's handle on a media worker thread. The entry is the compiled .js next to this
 * file, or the .ts source when running from source (the tsx loader in execArgv is inherited).
 */
export class MediaThread {
  readonly #worker: Worker;
  readonly #listeners = new Set<(e: WorkerEvent) => void>();
  readonly #exited: Promise<number>;
  sipPort = 0;

  private constructor(worker: Worker) {
    this.#worker = worker;
    this.#worker.on('message', (e: WorkerEvent) => {
      for (const l of this.#listeners) l(e);
    });
    this.#exited = new Promise((resolve) => this.#worker.once('exit', resolve));
  }

  static async start(cfg: MediaConfig): Promise<MediaThread> {
    const worker = startThread(import.meta.url, '../media/media-worker-main', { workerData: cfg });
    const t = new MediaThread(worker);
    t.sipPort = await new Promise<number>((resolve, reject) => {
      const off = t.on((e) => {
        if (e.type === 'ready') {
          off();
          resolve(e.sipPort);
        }
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`media worker exited with ${code} before it was ready`)));
    });
    return t;
  }

  onExit(listener: (code: number) => void): void {
    void this.#exited.then(listener);
  }

  on(listener: (e: WorkerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  send(cmd: WorkerCommand): void {
    this.#worker.postMessage(cmd);
  }

  /**
   * Lets live calls go on for drainMs, ends the rest, then waits for the thread to end (terminating it
   * after a grace period past the drain).
   */
  async stop(graceMs = 3000, drainMs = 0): Promise<void> {
    this.send({ type: 'shutdown', ...(drainMs > 0 ? { drainMs } : {}) });
    const timer = setTimeout(() => void this.#worker.terminate(), drainMs + graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
