/**
 * A summary without a model: the key lines of the transcript, picked deterministically. The agent's
 * first sentence says what the call was about, the callee's answers say what came of it, and the
 * agent's last line usually states the outcome ("Great, see you Tuesday."). Each piece is clipped,
 * the whole is kept under maxChars. A transcript of one line is that line.
 */
import type { TranscriptTurn } from '../voice/events.js';
import { clip, speakerLabel, spokenLines } from './transcript-text.js';

export interface ExtractiveOptions {
  /** Longest summary, in characters. Default 500. */
  maxChars?: number;
  /** Longest single piece (one line's share), in characters. Default 160. */
  maxPieceChars?: number;
}

/** Words that end in a period without ending a sentence ("Dr. Lee"), and single initials ("J. Smith"). */
const ABBREVIATION = /(?:^|\s)(?:dr|mr|mrs|ms|prof|st|jr|sr|vs|etc|e\.g|i\.e|no|[a-z])\.$/i;

/** The first sentence of a line (the whole line when it has no sentence end). */
export function firstSentence(text: string): string {
  for (const m of text.matchAll(/[.!?](?=\s|$)/g)) {
    const head = text.slice(0, (m.index as number) + 1);
    if (m[0] === '.' && ABBREVIATION.test(head)) continue;
    return head;
  }
  return text;
}

export function extractiveSummary(turns: readonly TranscriptTurn[], opts: ExtractiveOptions = {}): string {
  const maxChars = opts.maxChars ?? 500;
  const maxPiece = opts.maxPieceChars ?? 160;
  const lines = spokenLines(turns);
  // A call of one line (a greeting-only agent's) is summed up by that line, whole.
  const only = lines.length === 1 ? lines[0] : undefined;
  if (only) return clip(`${speakerLabel(only.speaker)}: ${only.text}`, maxChars);
  const firstAgent = lines.findIndex((l) => l.speaker === 'agent');
  let lastAgent = -1;
  lines.forEach((l, i) => {
    if (l.speaker === 'agent') lastAgent = i;
  });
  const pieces: string[] = [];
  lines.forEach((l, i) => {
    let text: string | undefined;
    if (l.speaker === 'callee') text = l.text;
    else if (i === firstAgent) text = firstSentence(l.text);
    // The closing line, unless the callee never answered (then the opening says it all).
    else if (i === lastAgent && lines.some((x, j) => j < i && x.speaker === 'callee')) text = l.text;
    if (text) pieces.push(`${speakerLabel(l.speaker)}: ${clip(text, maxPiece)}`);
  });
  return clip(pieces.join(' '), maxChars);
}
