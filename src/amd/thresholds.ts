/**
 * Every threshold the answering-machine detector uses, with the reason for its value. "Measured"
 * means tuned on the labelled set (bench/amd-set, bench/amd-eval.ts, BENCHMARKS.md); "standard" cites
 * the document that fixes it. The user-facing tuning (AmdSettings) lives in settings.ts.
 */

// ---- Framing and spectrum -------------------------------------------------------------------------

/** The frame the media worker hands us: 20 ms (RTP ptime 20, RFC 3551 §4.2). */
export const FRAME_MS = 20;
/**
 * FFT bin spacing: 256 points at 8 kHz and 512 at 16 kHz both give 31.25 Hz, zero-padded from the
 * 20 ms frame (160/320 samples). The true resolution stays ~50 Hz (1/20 ms), enough to tell the SIT
 * pairs apart (913.8 vs 985.2 Hz are 71 Hz apart) and a DTMF pair's two tones (>= 73 Hz apart, Q.23).
 */
export const FFT_BIN_HZ = 31.25;
/** The telephone band the spectrum is judged over (ITU-T G.712: 300-3400 Hz passband). */
export const BAND_LO_HZ = 300;
export const BAND_HI_HZ = 3400;
/**
 * Half-width, in bins, of the window around the peak counted as "the tone": a Hann window's main lobe
 * is +-2 true bins (+-100 Hz at 20 ms) = +-3.2 bins of 31.25 Hz, so +-3 bins hold ~99 % of a pure tone.
 */
export const PEAK_HALF_BINS = 3;
/** Under the band from here (above mains hum at 50/60 Hz and its second harmonic): where voices keep their fundamental (85-255 Hz). */
export const SUB_LO_HZ = 130;

// ---- Steady tones (beep, SIT, fax) --------------------------------------------------------------

/**
 * Spectral purity (share of in-band energy within the peak's lobe) for a frame to count as tonal.
 * Measured (test/amd/tones.test.ts): a pure tone ~1.0; 0.89-0.94 with white noise at 10 dB SNR after
 * mu-law at 8 kHz (0.77-0.86 at 6 dB, below what we promise); a DTMF pair 0.50 (two equal tones, Q.23);
 * voiced speech 0.3-0.55 (its energy spreads over harmonics). A monotone hum with one narrow formant
 * on a harmonic reaches 0.84: steadiness and length must then reject it.
 */
export const TONAL_PURITY = 0.8;
/**
 * Energy under the band relative to the tone (FrameSpectrum.subDb) above which a frame is a voice, not
 * a tone. Measured on the set: the vowels that pass purity (a harmonic near 400 Hz on the first
 * formant, purity up to 0.99, steady for 80-160 ms in TTS and recorded prompts) carry their
 * fundamental at -9 to +9 dB; beeps, SIT and fax tones with line noise at 15 dB SNR sit at -22 dB or
 * lower. A line that strips everything under 300 Hz would defeat this cue (see BENCHMARKS.md).
 */
export const TONE_MAX_SUB_DB = -15;
/** A tonal frame must also be audible: -45 dBFS is ~20 dB under a quiet talker on a G.711 line. */
export const TONE_MIN_DBFS = -45;
/**
 * Steadiness: a frame continues a tone when its frequency is within this of the tone's mean so far.
 * Parabolic peak interpolation is accurate to a few Hz on a clean tone; speech harmonics glide far
 * more than 25 Hz in 100 ms (pitch moves), a vowel does not stay within it.
 */
export const TONE_STEADY_HZ = 12;
/** A tonal frame this far under the tone's mean level holds only the tone's tail: the tone ends with it (so a beep's end is reported within a frame). */
export const TONE_TAIL_DROP_DB = 3;
/**
 * Phase coherence a beep needs (tones.ts coherence()): a generated tone keeps > 0.99, > 0.95 with
 * noise at 10 dB SNR after G.711 (measured, test/amd/tones.test.ts). A guard against a real voice's
 * pitch jitter; it does NOT separate TTS vowels (their pitch is machine-steady: 0.94-0.999 on the
 * set), which the under-band check (TONE_MAX_SUB_DB) does.
 */
export const BEEP_COHERENCE = 0.9;
/** Frames kept for the coherence check: 300 ms is plenty to judge, and bounds the work at a run's end. */
export const COHERENCE_MAX_FRAMES = 15;

/** Beep band, from the issue: any steady tone 400-2100 Hz (voicemail beeps are ~440-1400 Hz; 2100 kept for safety). */
export const BEEP_LO_HZ = 390;
export const BEEP_HI_HZ = 2110;
/**
 * A beep lasts >= 100 ms (issue 17). A 100 ms tone spans 5 or 6 frames, of which the edge ones hold
 * only part of it, so 4 tonal frames (80 ms of whole frames) are required; DTMF (>= 40 ms, Q.24) is
 * rejected by purity, not by length.
 */
export const BEEP_MIN_FRAMES = 4;

/**
 * SIT (ITU-T Q.35 / E.180 Suppl. 2 and Telcordia GR-1399/SR-2275): three tones in sequence, each
 * 913.8 or 985.2, 1370.6 or 1428.5, 1776.7 Hz, 274 ms (short) or 380 ms (long). Bands are the
 * nominal pairs +-1.5 % (the standard's tolerance) widened by our +-10 Hz estimate error.
 */
export const SIT_BANDS_HZ: readonly (readonly [number, number])[] = [
  [890, 1010],
  [1340, 1460],
  [1740, 1815],
];
/** Each SIT segment: 274 or 380 ms nominal; we accept 200-460 ms of tonal frames (edges and jitter). */
export const SIT_SEG_MIN_MS = 200;
export const SIT_SEG_MAX_MS = 460;
/** Segments follow each other at once (no gap in the standard); one or two mixed boundary frames. */
export const SIT_MAX_GAP_MS = 60;

/** Fax CNG (ITU-T T.30 §5.2.3.1): 1100 Hz +-38 Hz, 0.5 s on (+-15 %), 3 s off. */
export const CNG_HZ: readonly [number, number] = [1062, 1138];
export const CNG_MIN_MS = 380;
export const CNG_MAX_MS = 700;
/** Fax/modem answer tone CED / ANS (T.30 §5.2.3.2, V.25): 2100 Hz +-15 Hz, 2.6-4 s. */
export const CED_HZ: readonly [number, number] = [2070, 2130];
/**
 * CED is decided after 1.5 s of 2100 Hz from the start: longer than any beep we know (<= 1 s), far
 * shorter than CED's 2.6 s, and only when no speech came first (a machine's beep follows speech).
 */
export const CED_DECIDE_MS = 1500;
/**
 * ...or once a 2100 Hz tone of at least 800 ms has ended with no speech before it: some fax machines
 * cut CED short and go on to V.21 flags (1650/1850 Hz), as a real fax clip of the corpus does (1.04 s).
 */
export const CED_MIN_ENDED_MS = 800;

// ---- Energy and cadence ---------------------------------------------------------------------------

/**
 * A frame is speech when this far above the noise floor (the quietest frame of the last 1.5 s: white
 * line noise sits 1-2 dB above it). Measured: 10 dB chopped greetings at 15 dB SNR into "a short
 * answer and a wait" (2 machines called human); 6 dB none.
 */
export const SPEECH_OVER_FLOOR_DB = 6;
/** ...and at least this loud (a G.711 line's idle noise sits near -60 dBFS; speech at -15 to -30). */
export const SPEECH_MIN_DBFS = -48;
/** The noise floor is the minimum frame level over this window: long enough to see a pause between words. */
export const FLOOR_WINDOW_MS = 1500;
/** Before any quiet frame was seen, the floor assumed (a quiet line). */
export const FLOOR_START_DBFS = -65;
/** Speech starts after this much speech (two frames: a click or a single burst of noise is not a word). */
export const SPEECH_START_MS = 40;
/**
 * A person who said "Hello?" waits for the caller: silence this long after a short first utterance
 * (tones do not count as silence) decides human; pauses shorter than this are inside the greeting.
 * People answer and wait 1-2 s before "Hello?" again; a recorded greeting's sentence gap is ~250-600 ms.
 * Measured on the set: 700 ms gives 97.0 % human-vs-machine, human p95 2.19 s from the first word;
 * 600 ms gives 95.2 % (3 machines with a short first sentence turn human) for p95 2.09 s.
 */
export const HUMAN_WAIT_SILENCE_MS = 700;
/** A "word" burst: level rises this far above the dip before it (a syllable nucleus after a consonant or pause). */
export const BURST_RISE_DB = 6;
/** Bursts counted in the first utterance from which `many_words` is reported as evidence (Asterisk's maximumNumberOfWords is 2-3 for whole words). */
export const MANY_WORDS_BURSTS = 8;

// ---- Words ----------------------------------------------------------------------------------------

/**
 * With words expected, a machine verdict resting on cadence alone waits at most this long (from the
 * cadence verdict, never past totalAnalysisMs) for the words to decide it. A recognizer without
 * partials (pocketsphinx: 300 ms end silence + ~200 ms) gives a clause's words ~0.5 s after the
 * clause ends, and a phrase sits in the first or second clause of a greeting (1-3 s long). Measured
 * on the set: BENCHMARKS.md.
 */
export const WORDS_HOLD_MS = 2500;
/**
 * A final that arrives this long after the last speech frame has heard all the speech so far (a
 * final during speech, or just as it resumed, may hold only the part before a pause).
 */
export const FINAL_AFTER_SPEECH_MS = 100;
/**
 * ...and once the line has been quiet this long with such a final in, the recognizer has heard the
 * greeting and found no phrase: the cadence verdict stands. As long as a person's wait
 * (HUMAN_WAIT_SILENCE_MS): a shorter quiet is a pause inside the greeting, and a talkative person's
 * "Maria speaking" may come after it. Measured (BENCHMARKS.md): 300 ms released talkative people
 * at their comma pauses when clauses were spoken apart (1 of 17 rescued vs 2 with 700 ms), and
 * saved machines 240 ms at p50.
 */
export const WORDS_QUIET_MS = HUMAN_WAIT_SILENCE_MS;
/**
 * A machine verdict resting on cadence alone may be taken back by words for this long after it
 * (revised to screening or human): a talkative person's "how can I help you" or a screening
 * assistant's "say your name and why you are calling" ends 3-7 s into the answer, and a recognizer
 * that waits for a pause (pocketsphinx: 300 ms + ~200 ms) gives it 0.5 s later.
 */
export const REVISE_WINDOW_MS = 8000;
/**
 * With words coming, the end of a greeting found by silence waits at most this much longer for the
 * recognizer to give the greeting's last words (pocketsphinx: ~0.5 s after the speech) while the
 * machine verdict may still be taken back. It was 1.5 s; on a loaded 2-core CI host a screening
 * assistant's words came later than that and it was left a voicemail message. The wait ends as soon
 * as a final covering the speech arrives, so a host that keeps up pays nothing for the margin; a
 * mailbox still records 3 s of silence before the message.
 */
export const WORDS_SETTLE_MS = 3000;
