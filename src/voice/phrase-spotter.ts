/**
 * The answering-machine detector's own ears, for calls whose agent has no recognizer of its own (a
 * speech-to-speech model hears for itself, and its transcript may come late or never): a keyword
 * spotter that listens for the phrases of src/amd/phrases.ts (voicemail, screening, IVR, intercept
 * and a person's "how can I help you") from the answer until the detector needs no more words. It is
 * soundswallower (in-process WebAssembly, from npm) with a grammar of those phrases and a loop of
 * common words, its own endpointer over the line's noise floor, and a partial every 500 ms of speech,
 * so a phrase reaches the detector while the greeting is still playing. A cascaded call's own
 * recognizer gives the same words (measured the same: BENCHMARKS.md, "Round 3"), so it has none.
 */
import { PHRASES } from '../amd/phrases.js';
import { SoundswallowerStt } from '../providers/stt/soundswallower.js';
import type { SttProvider } from '../providers/stt/types.js';

/** Every phrase the detector acts on: the spotter's vocabulary. */
export const SPOTTER_PHRASES: readonly string[] = Object.values(PHRASES).flat();

/**
 * Silence that ends an utterance for the spotter. Shorter than a turn's end (300 ms): a comma pause in
 * "Doctor Lee's office, Maria speaking, how can I help you" is 150-300 ms, and each clause heard
 * at its end is what lets the words come before the hold runs out. Measured on the set: BENCHMARKS.md.
 */
export const SPOTTER_END_SILENCE_MS = 200;

/**
 * Narrower beams than the engine's defaults (1e-48 / 7e-29 / 1e-48, no HMM cap). With the ~150
 * phrases and the filler loop, bench/spotter-search.ts (13 clips, 94.5 s of speech): defaults 0.73 s
 * of CPU per second of speech, these 0.16 s, none decoded to nothing; a word beam of 1e-15 is a
 * little faster but prunes short utterances to nothing. A final must come within a fraction of a
 * second of its clause for the words to matter.
 */
export const SPOTTER_SEARCH = { beam: 1e-30, wbeam: 1e-20, pbeam: 1e-20, maxhmmpf: 1000 } as const;

/**
 * Speech is 9 dB over the line's noise floor (and over -45 dBFS): on a line with hiss at 25 dB SNR a
 * fixed -45 dBFS took a whole greeting and the silence after it for one utterance.
 */
export const SPOTTER_OVER_FLOOR_DB = 9;

/**
 * A partial (the clause so far, decoded whole) every 500 ms of speech: a recorded greeting or a
 * screening prompt runs 3-6 s with pauses too short to end an utterance, and its telling phrase is
 * often in its first seconds. Cost: each partial decodes the clause from its start, about 2-3
 * decodes of the speech in all for a 4 s clause (at SPOTTER_SEARCH, 0.4-0.6 s of CPU); the spotter
 * stops at the verdict.
 */
export const SPOTTER_PARTIAL_EVERY_MS = 500;

/** The spotter's recognizer (one per media thread: its decoding thread is shared by the thread's calls). */
export function createPhraseSpotter(endSilenceMs = SPOTTER_END_SILENCE_MS, partialEveryMs = SPOTTER_PARTIAL_EVERY_MS): SttProvider {
  return new SoundswallowerStt({ endSilenceMs, overFloorDb: SPOTTER_OVER_FLOOR_DB, search: SPOTTER_SEARCH, partialEveryMs });
}
