/**
 * Runs an async task every `ms`, never two at once (the next run is armed when the last one ends,
 * so a slow store cannot pile runs up). stop() waits for a run in progress.
 */
export class Periodic {
  #timer: NodeJS.Timeout | undefined;
  #current: Promise<void> | undefined;
  #stopped = true;

  constructor(
    private readonly ms: number,
    private readonly task: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.#stopped = false;
    this.#arm();
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#current = this.#run();
    }, this.ms);
    // Timers must not keep a process alive on their own: the owner decides when to stop.
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    try {
      await this.task();
    } catch (err) {
      this.onError(err);
    } finally {
      this.#current = undefined;
      this.#arm();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#current;
  }
}
