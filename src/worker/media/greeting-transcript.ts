/**
 * The transcript of a greeting-only call: the one line the agent played, as far as it was played.
 * A greeting that played to its end is the whole line; one cut by the callee's hang-up keeps the
 * words of its played share (prorated like a voice session's interrupted turn, voice/playout.ts),
 * marked interrupted; nothing played (hung up before the first frame, no greeting, synthesis
 * failed) is an empty transcript.
 */
import { prorate, SPEECH_MS_PER_CHAR } from '../../voice/playout.js';
import type { TranscriptTurn } from '../../voice/events.js';

export interface GreetingPlayback {
  text: string;
  /** ms from answer to the first greeting frame written; undefined when none was. */
  startedMs: number | undefined;
  /** ms of greeting audio written into the leg. */
  writtenMs: number;
  /** The greeting's whole length once synthesis finished; undefined while it was still arriving. */
  totalMs: number | undefined;
  /** Every frame was written and the leg drained them: the callee heard the whole line. */
  playedAll: boolean;
  /** ms from answer to the end of the call. */
  endMs: number;
}

export function greetingTranscript(g: GreetingPlayback): TranscriptTurn[] {
  if (g.startedMs === undefined) return [];
  const text = g.text.replace(/\s+/g, ' ').trim();
  if (g.playedAll) return text ? [{ speaker: 'agent', text, startMs: g.startedMs, endMs: g.startedMs + g.writtenMs, interrupted: false }] : [];
  // Frames leave one per 20 ms from the first one: what was played by the end is at most the time
  // since then, and never more than what was written.
  const playedMs = Math.max(0, Math.min(g.writtenMs, g.endMs - g.startedMs));
  // Cut while synthesis was still arriving: its length is taken at a typical speaking rate.
  const totalMs = g.totalMs ?? Math.max(g.writtenMs, text.length * SPEECH_MS_PER_CHAR);
  const heard = prorate(text, totalMs === 0 ? 0 : playedMs / totalMs);
  return heard ? [{ speaker: 'agent', text: heard, startMs: g.startedMs, endMs: g.startedMs + playedMs, interrupted: true }] : [];
}
