/**
 * One agent turn: reads what the brain says (or a fixed line), chunks it into sentences, speaks it
 * through TTS into the playout, and keeps the turn's record: heard text, tool calls, end request,
 * latency. The session decides what happens around turns; this only runs one.
 */
import type { TtsProvider } from '../providers/tts/types.js';
import type { Clock } from '../time/clock.js';
import { NamedTimers } from '../time/named-timers.js';
import type { BrainOutput } from './brain.js';
import type { ToolCallRecord, TurnLatency, VoiceEndReason, VoiceEvent } from './events.js';
import type { Playout, UtteranceReport } from './playout.js';
import { SentenceChunker } from './sentence-chunker.js';
import { TurnSpeaker } from './turn-speaker.js';

/** The reply filler's timer (tool fillers are named by their tool call ids). */
const REPLY_FILLER = '#reply';

export type TurnOutput = BrainOutput | { type: 'end_with'; reason: VoiceEndReason };

export type TurnOutcome = { kind: 'done' } | { kind: 'aborted' } | { kind: 'failed'; source: 'llm' | 'tts'; error: unknown };

export interface AgentTurnDeps {
  tts: TtsProvider;
  playout: Playout;
  sampleRate: number;
  now: () => number;
  emit: (e: VoiceEvent) => void;
  /**
   * Filler speech: `phrase()` is said when a reply has said nothing afterMs after it was asked for
   * (see fillIfSlow), and once per tool call when the agent has been silent for afterMs with the
   * tool still out. It never delays the answer: one that comes meanwhile is queued after it.
   */
  filler?: { afterMs: number; phrase: () => string; clock: Clock };
}

export class AgentTurn {
  readonly ac = new AbortController();
  readonly speaker: TurnSpeaker;
  readonly heard: string[] = [];
  readonly toolCalls: ToolCallRecord[] = [];
  readonly latency: TurnLatency | undefined;
  /** Clock time the first frame of this turn went to the leg. */
  startMs: number | undefined;
  /** All audio of the turn is in the playout; the turn ends when the playout is idle. */
  synthDone = false;
  endAfter: VoiceEndReason | undefined;
  wait: { timeoutMs: number; listenId: number | undefined } | undefined;
  readonly #chunker = new SentenceChunker();
  readonly #d: AgentTurnDeps;
  /**
   * Tool calls still out that may get a filler, with the playout subscription of those waiting for
   * the agent to fall silent (undefined once their filler timer runs).
   */
  readonly #tools = new Map<string, (() => void) | undefined>();
  /** The filler timers, by tool call id. */
  readonly #fillers: NamedTimers | undefined;
  /** Set by stop(): the source is read no further (a tool ended the call, e.g. a transfer). */
  #stopped = false;
  /** This turn answers the callee (fillIfSlow): a silent wait for the model counts again after each tool. */
  #reply = false;

  /** `base`: clock time the callee stopped speaking, when this turn answers them (latency baseline). */
  constructor(
    readonly id: number,
    readonly base: number | undefined,
    sttFinalMs: number | undefined,
    deps: AgentTurnDeps,
  ) {
    this.#d = deps;
    this.#fillers = deps.filler ? new NamedTimers(deps.filler.clock) : undefined;
    this.latency = base === undefined ? undefined : { turnId: id, ...(sttFinalMs !== undefined ? { sttFinalMs } : {}) };
    this.speaker = new TurnSpeaker(deps.tts, deps.playout, deps.sampleRate, id, this.ac.signal, () => {
      if (this.latency && base !== undefined) this.latency.ttsFirstAudioMs ??= deps.now() - base;
    });
    this.ac.signal.addEventListener('abort', () => {
      for (const id of [...this.#tools.keys()]) this.#toolDone(id);
      this.#fillers?.clear(REPLY_FILLER);
    });
  }

  /**
   * This turn answers the callee: when nothing of it has been handed to the voice afterMs from now
   * (the model is still thinking), a filler phrase is said first. A reply whose first words are
   * already being synthesized gets none (it would only be heard after them), and a tool call takes
   * over with its own filler.
   */
  fillIfSlow(): void {
    const f = this.#d.filler;
    if (!f || !this.#fillers || f.afterMs < 0 || this.ac.signal.aborted) return;
    this.#reply = true;
    this.#fillers.set(REPLY_FILLER, f.afterMs, () => {
      // A tool still out has its own filler timer.
      if (this.ac.signal.aborted || this.#stopped || this.speaker.ids.size > 0 || this.#tools.size > 0) return;
      this.speaker.say(f.phrase());
    });
  }

  /** Ends the turn after the output being handled: the brain is not asked for more, the call ends with `reason`. */
  stop(reason: VoiceEndReason): void {
    this.#stopped = true;
    this.endAfter = reason;
  }

  /** Speaks everything the source yields. Never rejects: failures come back as the outcome. */
  async run(source: AsyncIterable<TurnOutput>): Promise<TurnOutcome> {
    const say = (chunks: string[]) => chunks.forEach((c) => this.speaker.say(c));
    try {
      for await (const o of source) {
        if (this.ac.signal.aborted) return { kind: 'aborted' };
        if (o.type === 'text') {
          if (this.latency && this.base !== undefined) this.latency.llmFirstTokenMs ??= this.#d.now() - this.base;
          say(this.#chunker.push(o.text));
        } else if (o.type === 'flush') say(this.#chunker.flush());
        else if (o.type === 'tool_call_started') {
          this.toolCalls.push({ id: o.id, name: o.name, arguments: o.arguments });
          this.#d.emit({ type: 'tool_call_started', id: o.id, name: o.name, arguments: o.arguments, atMs: this.#d.now() });
          this.#armFiller(o.id);
        } else if (o.type === 'tool_call_finished') {
          this.#toolDone(o.id);
          // Nothing said yet and the model is asked again: its answer may be slow too.
          if (this.#reply && this.speaker.ids.size === 0 && this.#tools.size === 0) this.fillIfSlow();
          const rec = this.toolCalls.find((t) => t.id === o.id);
          if (rec) Object.assign(rec, { ok: o.ok, result: o.result });
          this.#d.emit({ type: 'tool_call_finished', id: o.id, name: o.name, ok: o.ok, result: o.result, atMs: this.#d.now() });
        } else if (o.type === 'end_call' || o.type === 'end_with') this.endAfter = o.reason;
        else this.wait = o.timeoutMs === undefined ? undefined : { timeoutMs: o.timeoutMs, listenId: o.listenId };
        if (this.#stopped) break;
      }
      say(this.#chunker.flush());
      this.#fillers?.clear(REPLY_FILLER);
    } catch (error) {
      if (this.ac.signal.aborted) return { kind: 'aborted' };
      await this.speaker.done();
      return { kind: 'failed', source: 'llm', error };
    }
    await this.speaker.done();
    if (this.ac.signal.aborted) return { kind: 'aborted' };
    if (this.speaker.error !== undefined) return { kind: 'failed', source: 'tts', error: this.speaker.error };
    return { kind: 'done' };
  }

  /**
   * The filler clock starts once the agent is silent (an announcement before the tool still playing
   * is not dead air), so afterMs is measured from the later of the tool start and the end of speech.
   */
  #armFiller(id: string): void {
    const f = this.#d.filler;
    const fillers = this.#fillers;
    if (!f || !fillers || f.afterMs < 0 || this.ac.signal.aborted) return;
    this.#tools.set(id, undefined);
    const arm = () => {
      this.#tools.get(id)?.();
      this.#tools.set(id, undefined);
      fillers.set(id, f.afterMs, () => {
        if (!this.#tools.has(id) || this.ac.signal.aborted) return;
        this.#tools.delete(id);
        this.speaker.say(f.phrase());
      });
    };
    if (!this.#d.playout.busy) return arm();
    this.#tools.set(id, this.#d.playout.on((e) => {
      if (e.type === 'idle') arm();
    }));
  }

  #toolDone(id: string): void {
    if (!this.#tools.has(id)) return;
    const off = this.#tools.get(id);
    this.#tools.delete(id);
    off?.();
    this.#fillers?.clear(id);
  }

  /** The playout wrote an utterance's first frame; true if it was this turn's first audio. */
  firstFrame(utteranceId: string): boolean {
    if (!this.speaker.ids.has(utteranceId) || this.startMs !== undefined) return false;
    this.startMs = this.#d.now();
    if (this.latency && this.base !== undefined) this.latency.endToEndMs = this.startMs - this.base;
    return true;
  }

  /** What the callee heard: utterances played in full, then the heard part of those just cleared. */
  heardText(cleared: readonly UtteranceReport[] = []): string {
    const partial = cleared.filter((r) => this.speaker.ids.has(r.id)).map((r) => r.heardText);
    return [...this.heard, ...partial].filter((h) => h !== '').join(' ');
  }
}

export async function* fixedLine(text: string, endAfter: VoiceEndReason | undefined): AsyncIterable<TurnOutput> {
  yield { type: 'text', text };
  if (endAfter) yield { type: 'end_with', reason: endAfter };
}
