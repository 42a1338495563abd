import type { SttEvent } from './types.js';

/**
 * The single-consumer event channel behind an SttStream. Providers push events from process or
 * socket callbacks; the pipeline pulls them with `for await`. Events are buffered until read so
 * none are lost when the reader is busy, and `closed` is delivered exactly once and ends the
 * iteration, so a reader never hangs on a stream whose engine is gone.
 */
export class SttEventQueue implements AsyncIterable<SttEvent> {
  #buffer: SttEvent[] = [];
  #waiting: ((r: IteratorResult<SttEvent>) => void) | undefined;
  #closed = false;
  #done = false;
  #iterating = false;

  get closed(): boolean {
    return this.#closed;
  }

  /** Adds an event; anything after `closed` is dropped (the stream is over). */
  emit(event: SttEvent): void {
    if (this.#closed) return;
    if (event.type === 'closed') this.#closed = true;
    const w = this.#waiting;
    if (w) {
      this.#waiting = undefined;
      w({ value: event, done: false });
    } else {
      this.#buffer.push(event);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<SttEvent> {
    // Two readers would each see half the events: refuse it loudly rather than lose results.
    if (this.#iterating) throw new Error('an STT stream can be iterated only once');
    this.#iterating = true;
    return {
      next: () => {
        if (this.#done) return Promise.resolve({ value: undefined, done: true });
        const ev = this.#buffer.shift();
        if (ev) {
          if (ev.type === 'closed') this.#done = true;
          return Promise.resolve({ value: ev, done: false });
        }
        return new Promise<IteratorResult<SttEvent>>((resolve) => {
          this.#waiting = (r) => {
            if (!r.done && r.value.type === 'closed') this.#done = true;
            resolve(r);
          };
        });
      },
      return: () => {
        this.#done = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
