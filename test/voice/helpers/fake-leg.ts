import type { LegEvent, Leg } from '../../../src/voice/leg.js';

/** A call leg whose queue drains only when the test says so (play(ms)), so playout is exact. */
export class FakeLeg implements Leg {
  readonly listeners = new Set<(e: LegEvent) => void>();
  readonly written: Int16Array[] = [];
  queued = 0;
  calls: string[] = [];
  /** Everything that happened, in order: 'write', 'hangup' (for ordering assertions). */
  log: string[] = [];

  on(l: (e: LegEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: LegEvent): void {
    for (const l of [...this.listeners]) l(e);
  }
  write(frame: Int16Array): void {
    this.written.push(frame);
    this.log.push('write');
    this.queued += 20;
  }
  get queuedMs(): number {
    return this.queued;
  }
  /** The callee hears ms of queued audio; 'drained' when the queue empties. */
  play(ms: number): void {
    if (this.queued === 0) return;
    this.queued = Math.max(0, this.queued - ms);
    if (this.queued === 0) this.emit({ type: 'drained' });
  }
  readonly audioListeners = new Set<(frame: Int16Array) => void>();
  onAudio(l: (frame: Int16Array) => void): () => void {
    this.audioListeners.add(l);
    return () => this.audioListeners.delete(l);
  }
  /** A frame of the callee's audio to whoever listens through onAudio. */
  hear(frame: Int16Array): void {
    for (const l of [...this.audioListeners]) l(frame);
  }
  answer(sampleRate = 8000): void {
    this.emit({ type: 'answered', codec: 'PCMU', sampleRate });
  }
  async cancel(): Promise<void> {
    this.calls.push('cancel');
  }
  /** ms still queued (unplayed) when hangup() was called: 0 means the goodbye was heard in full. */
  queuedAtHangup: number | undefined;
  async hangup(): Promise<void> {
    this.queuedAtHangup = this.queued;
    this.calls.push('hangup');
    this.log.push('hangup');
  }
}
