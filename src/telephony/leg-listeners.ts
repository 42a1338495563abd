/**
 * The listeners of one leg (CallLeg, InboundLeg): its events and the audio it hears. A listener that
 * throws is reported as a process warning and never breaks the leg's state machine or the shared
 * pacing clock that delivers the audio.
 */
import type { LegEnded, LegEvent } from './leg-events.js';

export class LegListeners {
  readonly #events = new Set<(e: LegEvent) => void>();
  readonly #audio = new Set<(frame: Int16Array) => void>();
  readonly #early = new Set<(frame: Int16Array) => void>();

  /** `label` names the leg in warnings, e.g. "CallLeg <Call-ID>". */
  constructor(private readonly label: string) {}

  on(listener: (e: LegEvent) => void): () => void {
    this.#events.add(listener);
    return () => this.#events.delete(listener);
  }

  onAudio(listener: (frame: Int16Array) => void): () => void {
    this.#audio.add(listener);
    return () => this.#audio.delete(listener);
  }

  /** Early media (before the answer): the network's ringback or announcements, for whoever watches them. */
  onEarlyAudio(listener: (frame: Int16Array) => void): () => void {
    this.#early.add(listener);
    return () => this.#early.delete(listener);
  }

  get hearingEarly(): boolean {
    return this.#early.size > 0;
  }

  earlyAudio(frame: Int16Array): void {
    for (const l of [...this.#early]) this.#safely(() => l(frame), 'early audio');
  }

  /** Someone listens to the audio (decoding can be skipped otherwise). */
  get hearing(): boolean {
    return this.#audio.size > 0;
  }

  emit(e: LegEvent): void {
    for (const l of [...this.#events]) this.#safely(() => l(e), e.type);
  }

  audio(frame: Int16Array): void {
    for (const l of [...this.#audio]) this.#safely(() => l(frame), 'audio');
  }

  /** The leg's last event: delivered, then every listener is dropped. */
  end(e: LegEnded): void {
    this.emit(e);
    this.#events.clear();
    this.#audio.clear();
    this.#early.clear();
  }

  #safely(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      process.emitWarning(`${this.label}: '${what}' listener threw: ${String(err)}`);
    }
  }
}
