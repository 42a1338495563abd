/**
 * One model response as the session tracks it: its audio items (one playout utterance each), what
 * of them the callee heard, its tool calls, and its latency. A response is one agent turn of the
 * transcript.
 */
import type { ToolCallRecord, TurnLatency, VoiceEndReason } from '../events.js';
import { prorate } from '../playout.js';
import type { RealtimeAudioFormat } from './audio.js';

export interface AudioItem {
  id: string;
  /** The item's audio received so far, in ms of the model's format (what audio_end_ms counts). */
  receivedMs: number;
  transcript: string;
  /** All audio received (response.output_audio.done). */
  audioDone: boolean;
  /** Fully written to the leg (the playout reported it played). */
  played: boolean;
}

export class RealtimeResponse {
  readonly items = new Map<string, AudioItem>();
  readonly toolCalls: ToolCallRecord[] = [];
  /** Undefined when it answers no callee speech (or handed its baseline to a follow-up). */
  latency: TurnLatency | undefined;
  /** Tool calls still running. */
  pendingTools = 0;
  /** Whether a follow-up response must be asked for once the tools are done. */
  wantsFollowUp = false;
  /** response.done arrived. */
  done = false;
  /** Cut by barge-in or the end of the call: its later events are ignored. */
  cut = false;
  /** Clock time of its first frame on the leg. */
  firstFrameAt: number | undefined;
  endAfter: VoiceEndReason | undefined;

  constructor(
    readonly id: string,
    readonly turnId: number,
    readonly format: RealtimeAudioFormat,
    readonly createdAt: number,
    /** Clock time the callee stopped speaking, when this response answers them. */
    readonly base: number | undefined,
    /** Where its line goes in the transcript. */
    readonly order: number,
  ) {
    this.latency = base === undefined ? undefined : { turnId };
  }

  item(id: string): AudioItem {
    let it = this.items.get(id);
    if (!it) {
      it = { id, receivedMs: 0, transcript: '', audioDone: false, played: false };
      this.items.set(id, it);
    }
    return it;
  }

  /** First audio delta arrived: the model's own delay (speech end -> first audio from the server). */
  firstDelta(now: number): void {
    if (this.latency && this.base !== undefined && this.latency.ttsFirstAudioMs === undefined) {
      this.latency.llmFirstTokenMs = now - this.base;
      this.latency.ttsFirstAudioMs = now - this.base;
    }
  }

  /** First frame written to the leg: speech end -> first agent audio on the wire. */
  firstFrame(now: number): boolean {
    if (this.firstFrameAt !== undefined) return false;
    this.firstFrameAt = now;
    if (this.latency && this.base !== undefined) this.latency.endToEndMs = now - this.base;
    return true;
  }

  /** Every item's audio is done and written to the leg (or had none), and no tool is out. */
  get settled(): boolean {
    if (!this.done || this.pendingTools > 0) return false;
    for (const it of this.items.values()) if (it.receivedMs > 0 && !it.played) return false;
    return true;
  }

  /** What the callee heard, all of it when fully played. */
  heardText(cutReports: ReadonlyMap<string, { playedMs: number }> = new Map()): string {
    const parts: string[] = [];
    for (const it of this.items.values()) {
      if (it.played) parts.push(it.transcript.trim());
      else {
        const r = cutReports.get(it.id);
        if (r && it.receivedMs > 0) parts.push(prorate(it.transcript, Math.min(1, r.playedMs / it.receivedMs)));
      }
    }
    return parts.filter((p) => p !== '').join(' ');
  }
}
