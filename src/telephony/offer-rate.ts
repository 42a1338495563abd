import { offerTokens } from './leg-events.js';

/** The rate of the first audio codec offered (the one a callee that honours our order answers with). */
export function offerRate(codecs: readonly string[] | undefined): number {
  const first = offerTokens(codecs).find((c) => c !== 'telephone-event');
  return first === 'L16/16000' || first === 'G722' ? 16000 : 8000;
}
