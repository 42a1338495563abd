import type { TranscriptTurn } from '../voice/events.js';

/** The spoken lines of a transcript (empty turns dropped), whitespace collapsed. */
export function spokenLines(turns: readonly TranscriptTurn[]): Array<{ speaker: 'agent' | 'callee'; text: string }> {
  return turns
    .map((t) => ({ speaker: t.speaker, text: t.text.replace(/\s+/g, ' ').trim() }))
    .filter((t) => t.text.length > 0);
}

const LABEL = { agent: 'Agent', callee: 'Callee' } as const;

/** "Agent: ...\nCallee: ..." as a model or a person reads it. */
export function transcriptText(turns: readonly TranscriptTurn[]): string {
  return spokenLines(turns)
    .map((l) => `${LABEL[l.speaker]}: ${l.text}`)
    .join('\n');
}

export function speakerLabel(speaker: 'agent' | 'callee'): string {
  return LABEL[speaker];
}

/** text cut to at most max characters at a word boundary, with an ellipsis when cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, Math.max(0, max - 1));
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:]+$/, '')}…`;
}
