/**
 * Lines a speech-to-speech call says in a local voice (a TTS on this worker) instead of the model's:
 * the apology when the model's session failed (there is no model left to say it), and filler while a
 * reply is slow. Each line is one playout utterance in the same line as the model's audio, so a reply
 * that comes meanwhile plays after it, and barge-in clears it like anything else said.
 */
import type { TtsProvider } from '../../providers/tts/types.js';
import type { TranscriptTurn, VoiceEvent } from '../events.js';
import type { Playout, UtteranceReport } from '../playout.js';

/** Where a line's end is told: the session's transcript (ordered by `key`) and its events. */
export interface LocalVoiceSink {
  now(): number;
  /** Transcript times count from the answer. */
  sinceAnswer(t: number): number;
  addTurn(turn: TranscriptTurn, key: number): void;
  emit(e: VoiceEvent): void;
}

export interface LocalLine {
  id: string;
  text: string;
  /** The agent turn it is in the transcript. */
  turnId: number;
  /** Its place in the transcript's order. */
  order: number;
  /** Clock time its first frame went to the leg. */
  startedAt: number | undefined;
  /** Stops its synthesis (cleared, or the call is over). */
  readonly ac: AbortController;
}

export class LocalVoice {
  readonly #lines = new Map<string, LocalLine>();
  #seq = 0;

  constructor(
    readonly tts: TtsProvider,
    private readonly sink: LocalVoiceSink,
  ) {}

  /** Lines queued or playing. */
  get speaking(): boolean {
    return this.#lines.size > 0;
  }

  /**
   * Starts saying `text` at the leg's rate. Resolves once its audio is all in the playout; rejects
   * when the TTS fails (the line is then dropped from the playout).
   */
  async say(playout: Playout, rate: number, text: string, turnId: number, order: number): Promise<LocalLine> {
    const line: LocalLine = { id: `local.${++this.#seq}`, text, turnId, order, startedAt: undefined, ac: new AbortController() };
    this.#lines.set(line.id, line);
    playout.start(line.id, text);
    try {
      for await (const pcm of this.tts.synthesize({ text, sampleRate: rate, signal: line.ac.signal })) {
        if (line.ac.signal.aborted) break;
        playout.push(line.id, pcm);
      }
    } finally {
      playout.finish(line.id);
    }
    return line;
  }

  /** The playout wrote a line's first frame: true when `id` is one of ours. */
  firstFrame(id: string, now: number): LocalLine | undefined {
    const line = this.#lines.get(id);
    if (line && line.startedAt === undefined) line.startedAt = now;
    return line;
  }

  /** An utterance played in full: true when it was one of our lines (then recorded as finished). */
  played(report: UtteranceReport): boolean {
    const line = this.#lines.get(report.id);
    if (!line) return false;
    this.#lines.delete(report.id);
    this.#record(line, report.heardText, false, report.playedMs);
    return true;
  }

  /** The playout was cleared (barge-in, a last line): our lines are cut, each recorded with what was heard of it. */
  cleared(reports: ReadonlyMap<string, UtteranceReport>): void {
    for (const line of this.#lines.values()) {
      line.ac.abort();
      const r = reports.get(line.id);
      this.#record(line, r?.heardText ?? '', true, r?.playedMs ?? 0);
    }
    this.#lines.clear();
  }

  /** A line is over: its transcript line (what was heard of it) and its turn's end. */
  #record(line: LocalLine, heard: string, interrupted: boolean, playedMs: number): void {
    const now = this.sink.now();
    if (heard !== '') {
      const startMs = this.sink.sinceAnswer(line.startedAt ?? now);
      this.sink.addTurn({ speaker: 'agent', text: heard, startMs, endMs: this.sink.sinceAnswer(now), interrupted }, line.order);
    }
    if (interrupted) this.sink.emit({ type: 'agent_turn_interrupted', turnId: line.turnId, heardText: heard, playedMs: Math.round(playedMs), atMs: now });
    else this.sink.emit({ type: 'agent_turn_finished', turnId: line.turnId, text: heard, atMs: now });
  }

  /** The call is over: no more synthesis. */
  stop(): void {
    for (const line of this.#lines.values()) line.ac.abort();
    this.#lines.clear();
  }
}
