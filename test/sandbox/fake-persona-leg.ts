/**
 * A persona call's leg without SIP or RTP, on virtual time: write() queues audio that "plays" in real
 * length (drained fires when the queue would have run empty, as MediaSession does), hear() delivers
 * the agent's frames, hangups end it. Plus a TTS whose utterances have a known length and a marker
 * frequency, so a test can tell each sound in what was sent.
 */
import type { LegEnded, LegEvent } from '../../src/telephony/leg-events.js';
import type { PersonaLeg } from '../../src/sandbox/persona-call.js';
import type { TtsProvider, TtsRequest } from '../../src/providers/tts/types.js';
import type { TimerHandle } from '../../src/time/clock.js';
import type { VirtualClock } from '../helpers/virtual-clock.js';
import { tone } from '../fixtures/media/signals.js';

export interface Sent {
  /** ms from the answer when this chunk started playing. */
  readonly startMs: number;
  readonly pcm: Int16Array;
}

export class FakePersonaLeg implements PersonaLeg {
  readonly callId = 'fake-call';
  readonly ended: Promise<LegEnded>;
  readonly sent: Sent[] = [];
  answeredAt: number | undefined;
  rang = false;
  private answered = false;
  private playingUntil = 0;
  private drainTimer: TimerHandle | undefined;
  private readonly listeners = new Set<(e: LegEvent) => void>();
  private readonly audio = new Set<(frame: Int16Array) => void>();
  private resolveEnded: (e: LegEnded) => void = () => undefined;
  private over = false;

  constructor(
    private readonly clock: VirtualClock,
    readonly dialed = '+12025550105',
    private readonly rate = 8000,
  ) {
    this.ended = new Promise((r) => {
      this.resolveEnded = r;
    });
  }

  get sampleRate(): number | undefined {
    return this.answered ? this.rate : undefined;
  }

  get codec(): string | undefined {
    return this.answered ? 'PCMU' : undefined;
  }

  ringing(): void {
    this.rang = true;
  }

  async answer(): Promise<void> {
    this.answered = true;
    this.answeredAt = this.clock.now();
  }

  /** The persona hung up. */
  async hangup(): Promise<LegEnded> {
    this.end('local');
    return this.ended;
  }

  /** The agent (caller) hung up. */
  callerHangsUp(): void {
    this.end('remote');
  }

  write(pcm: Int16Array): void {
    if (!this.answered) throw new Error('write before answer');
    if (this.over) return;
    const now = this.clock.now();
    const start = Math.max(now, this.playingUntil);
    this.sent.push({ startMs: start - (this.answeredAt ?? 0), pcm });
    this.playingUntil = start + (pcm.length * 1000) / this.rate;
    if (this.drainTimer) this.clock.clearTimer(this.drainTimer);
    this.drainTimer = this.clock.setTimer(this.playingUntil - now, () => {
      this.drainTimer = undefined;
      if (!this.over) for (const l of this.listeners) l({ type: 'drained' });
    });
  }

  on(listener: (e: LegEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onAudio(listener: (frame: Int16Array) => void): () => void {
    this.audio.add(listener);
    return () => this.audio.delete(listener);
  }

  /** One 20 ms frame from the agent. */
  hear(frame: Int16Array): void {
    for (const l of this.audio) l(frame);
  }

  private end(by: 'local' | 'remote'): void {
    if (this.over) return;
    this.over = true;
    if (this.drainTimer) this.clock.clearTimer(this.drainTimer);
    const e: LegEnded = { type: 'ended', sipStatusCode: 200, reason: 'BYE', by, outcome: 'completed' };
    for (const l of this.listeners) l(e);
    this.resolveEnded(e);
  }
}

/** Each utterance: 60 ms per character of a 300 Hz tone, whatever the voice (recorded per request), so lengths are known. */
export class FakeTts implements TtsProvider {
  readonly name = 'flite-wasm';
  readonly capabilities = { streaming: false, nativeSampleRates: [8000, 16000] };
  readonly requests: Array<{ text: string; voice: string | undefined }> = [];

  static msFor(text: string): number {
    return text.length * 60;
  }

  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    this.requests.push({ text: req.text, voice: req.voice });
    yield tone(req.sampleRate, 300, FakeTts.msFor(req.text));
  }
}
