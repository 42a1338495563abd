/**
 * Who answered, from the callee's first seconds: tone detectors (beep, SIT, fax), the cadence of the
 * answer and the recognizer's words, combined into exactly one verdict per call and, for
 * detect_message_end after a machine, exactly one greeting end. Pure and causal: time is the audio
 * pushed (20 ms a frame), nothing here reads a clock or sets a timer, so the runtime may call it on
 * the media thread and tests run it in virtual time.
 *
 * Order of precedence before the verdict: network and fax tones (decisive and unmistakable), then a
 * beep (after a short greeting, or alone), then cadence (a long greeting: machine; a short one and a
 * wait: human), then initial silence and the deadline. Words (words()) decide whenever they come
 * first: a phrase is stronger evidence than cadence. A recognizer's final usually arrives after the
 * cadence has called a long greeting a machine, so when words are expected (settings.wordsExpected)
 * that verdict, resting on cadence alone, is held until the earliest of: a phrase (voicemail, IVR,
 * screening or a person's "how can I help you"), a beep, the recognizer having heard the whole
 * greeting with no phrase in it, or WORDS_HOLD_MS; then it is given, at the time it is released.
 * A talkative person and a screening assistant sound like a recording; only their words differ.
 */
import { Cadence } from './cadence.js';
import { findPhrases, type PhraseClass } from './phrases.js';
import { FrameAnalyzer } from './spectrum.js';
import { FINAL_AFTER_SPEECH_MS, FRAME_MS, MANY_WORDS_BURSTS, REVISE_WINDOW_MS, WORDS_HOLD_MS, WORDS_QUIET_MS, WORDS_SETTLE_MS } from './thresholds.js';
import { isBeep, isCedSoFar, isCng, isShortCed, SitMatcher, ToneTracker, type ToneRun } from './tones.js';
import type { AmdCue, AmdEvent, AmdSettings, AnsweredBy, MachineDetector } from './types.js';

export { AMD_DEFAULTS, AMD_RANGES } from './settings.js';

/** Which verdict a phrase class gives, and in which order classes win when one text holds several. */
const PHRASE_VERDICT: readonly { cls: PhraseClass; answeredBy: AnsweredBy; cue: AmdCue }[] = [
  { cls: 'intercept', answeredBy: 'intercept', cue: 'ivr_phrase' },
  { cls: 'screening', answeredBy: 'screening', cue: 'screening_phrase' },
  { cls: 'voicemail', answeredBy: 'machine_start', cue: 'voicemail_phrase' },
  // A receptionist's "thanks for calling, how can I help you" outranks an IVR's wording; a voicemail
  // phrase outranks it ("Sam speaking, please leave a message").
  { cls: 'human', answeredBy: 'human', cue: 'human_phrase' },
  { cls: 'ivr', answeredBy: 'ivr', cue: 'ivr_phrase' },
];

export function createMachineDetector(settings: AmdSettings, sampleRate: 8000 | 16000): MachineDetector {
  return new Detector(settings, sampleRate);
}

class Detector implements MachineDetector {
  readonly #s: AmdSettings;
  readonly #rate: number;
  readonly #spectrum: FrameAnalyzer;
  readonly #tones: ToneTracker;
  readonly #sit = new SitMatcher();
  readonly #cadence = new Cadence();
  /** Audio ms pushed so far: the detector's only clock. */
  #now = 0;
  #verdict: { answeredBy: AnsweredBy; atMs: number } | undefined;
  #greetingEnded = false;
  /** A beep that may be a SIT segment, held until SIT shows (intercept) or cannot any more (beep). */
  #heldBeep: ToneRun | undefined;
  /** A cadence-only machine verdict waiting for words (wordsExpected), until `untilMs` at the latest. */
  #hold: { untilMs: number } | undefined;
  /** When the last final transcript arrived (audio ms), if any. */
  #finalAtMs: number | undefined;
  /** A machine verdict on cadence alone: words may take it back until `untilMs` (REVISE_WINDOW_MS). */
  #revisable: { untilMs: number } | undefined;

  constructor(settings: AmdSettings, sampleRate: 8000 | 16000) {
    this.#s = settings;
    this.#rate = sampleRate;
    this.#spectrum = new FrameAnalyzer(sampleRate);
    this.#tones = new ToneTracker(sampleRate);
  }

  get done(): boolean {
    if (!this.#verdict || this.#revisable) return false;
    return this.#verdict.answeredBy !== 'machine_start' || this.#s.mode !== 'detect_message_end' || this.#greetingEnded;
  }

  line(): { speaking: boolean; quietMs: number } {
    const c = this.#cadence.state;
    return { speaking: c.inSpeech, quietMs: c.inSpeech ? 0 : this.#now - c.lastSoundEndMs };
  }

  /** An empty frame counts as a lost 20 ms frame: time still passes, so the deadline still comes. */
  push(frame: Int16Array): AmdEvent[] {
    const startMs = this.#now;
    const frameMs = frame.length > 0 ? (frame.length * 1000) / this.#rate : FRAME_MS;
    this.#now += frameMs;
    const endMs = this.#now;
    const spec = this.#spectrum.analyze(frame);
    const step = this.#tones.step(spec, frame, startMs, frameMs);
    this.#cadence.step(spec.dbfs, step.tonal, startMs, endMs);
    if (this.#revisable && endMs >= this.#revisable.untilMs) this.#revisable = undefined;
    // Done: the line is still followed (line()), for whoever acts after the verdict.
    if (this.done) return [];
    if (step.ended) this.#sit.ended(step.ended);
    const out: AmdEvent[] = [];
    if (!this.#verdict) this.#decide(step.ended, step.current, endMs, out);
    if (this.#waitingForGreetingEnd()) this.#greetingEnd(step.ended, endMs, out);
    return out;
  }

  words(text: string, final: boolean, atMs: number): AmdEvent[] {
    const out: AmdEvent[] = [];
    const now = Math.max(this.#now, atMs);
    const hits = findPhrases(text);
    if (this.#verdict) {
      if (final) this.#finalAtMs = now;
      if (this.#revisable) this.#revise(hits, now, out);
      // The greeting's end may have been waiting for these words.
      if (this.#waitingForGreetingEnd()) this.#greetingEnd(undefined, now, out);
      return out;
    }
    for (const p of PHRASE_VERDICT) {
      if (!hits.some((h) => h.cls === p.cls)) continue;
      // Without words expected the detector keeps its audio-only behaviour (human phrases are new).
      if (p.cls === 'human' && this.#s.wordsExpected !== true) continue;
      const cues: AmdCue[] = [p.cue];
      if (p.answeredBy === 'machine_start') cues.push(...this.#cadenceCues());
      this.#give(p.answeredBy, now, cues, out);
      // The greeting may already be over (words come late): look for its end at once.
      if (this.#waitingForGreetingEnd()) this.#greetingEnd(undefined, now, out);
      return out;
    }
    if (final) this.#finalAtMs = now;
    if (this.#hold) this.#holding(now, out);
    else if (now >= this.#s.totalAnalysisMs) this.#give('unknown', now, ['timeout'], out);
    return out;
  }

  #decide(ended: ToneRun | undefined, current: ToneRun | undefined, endMs: number, out: AmdEvent[]): void {
    const c = this.#cadence.state;
    if (this.#sit.matches(current)) return this.#give('intercept', endMs, ['sit_tones'], out);
    if (c.firstSpeechMs === undefined && ((ended && (isCng(ended) || isShortCed(ended))) || (current && isCedSoFar(current)))) return this.#give('fax', endMs, ['fax_tone'], out);
    // A beep after the greeting, or alone (a mailbox with no greeting): fax and SIT were ruled out
    // above, but a tone that may be a SIT segment waits (a few frames) to see whether SIT follows.
    if (ended && isBeep(ended)) this.#heldBeep = ended;
    if (this.#heldBeep && !this.#sit.mayBecomeSit(current, endMs)) return this.#giveBeep(this.#heldBeep, endMs, out);
    if (this.#hold) return this.#holding(endMs, out);
    if (c.greetingStartMs !== undefined && c.greetingEndMs !== undefined) {
      if (c.greetingEndMs - c.greetingStartMs >= this.#s.greetingMaxMs) return this.#cadenceMachine(endMs, out);
      if (c.greetingClosed) return this.#give('human', endMs, ['short_greeting'], out);
    } else if (endMs >= this.#s.initialSilenceMs && endMs - c.lastSoundEndMs >= this.#s.initialSilenceMs) {
      return this.#give('unknown', endMs, ['initial_silence'], out);
    }
    if (endMs >= this.#s.totalAnalysisMs) this.#give('unknown', endMs, ['timeout'], out);
  }

  /** A long greeting: a machine, at once on audio alone, or held for the words when they are expected. */
  #cadenceMachine(endMs: number, out: AmdEvent[]): void {
    if (this.#s.wordsExpected !== true) return this.#give('machine_start', endMs, this.#cadenceCues(), out);
    this.#hold = { untilMs: Math.min(endMs + WORDS_HOLD_MS, this.#s.totalAnalysisMs) };
    this.#holding(endMs, out);
  }

  /**
   * The held verdict stands once the recognizer has heard all the speech (a final after it stopped)
   * and the line has stayed quiet WORDS_QUIET_MS, or at the hold's end, whichever comes first.
   */
  #holding(now: number, out: AmdEvent[]): void {
    const hold = this.#hold;
    if (!hold) return;
    const c = this.#cadence.state;
    const spoken = c.lastSpeechEndMs ?? 0;
    const heardAll = this.#finalAtMs !== undefined && this.#finalAtMs >= spoken + FINAL_AFTER_SPEECH_MS;
    if (heardAll && !c.inSpeech && now - spoken >= WORDS_QUIET_MS) return this.#give('machine_start', now, [...this.#cadenceCues(), 'no_phrase'], out);
    if (now >= hold.untilMs) this.#give('machine_start', now, [...this.#cadenceCues(), 'words_timeout'], out);
  }

  #giveBeep(run: ToneRun, endMs: number, out: AmdEvent[]): void {
    this.#heldBeep = undefined;
    this.#give('machine_start', endMs, ['beep', ...this.#cadenceCues()], out);
    if (this.#waitingForGreetingEnd()) this.#endGreeting('machine_end_beep', endMs, ['beep'], out, run.hz);
  }

  /** The cadence evidence for a machine: a greeting longer than greetingMaxMs, many bursts in it. */
  #cadenceCues(): AmdCue[] {
    const c = this.#cadence.state;
    const cues: AmdCue[] = [];
    if (c.greetingStartMs !== undefined && c.greetingEndMs !== undefined && c.greetingEndMs - c.greetingStartMs >= this.#s.greetingMaxMs) cues.push('long_greeting');
    if (c.bursts >= MANY_WORDS_BURSTS) cues.push('many_words');
    return cues;
  }

  /** Words after a cadence-only machine verdict: a voicemail phrase confirms it; a screening or a person's phrase takes it back. */
  #revise(hits: readonly { cls: PhraseClass }[], now: number, out: AmdEvent[]): void {
    if (hits.some((h) => h.cls === 'voicemail' || h.cls === 'ivr' || h.cls === 'intercept')) {
      this.#revisable = undefined;
      return;
    }
    const to = hits.some((h) => h.cls === 'screening') ? 'screening' : hits.some((h) => h.cls === 'human') ? 'human' : undefined;
    if (!to) return;
    this.#revisable = undefined;
    this.#greetingEnded = true; // nothing more to wait for: it was not a machine's greeting
    this.#verdict = { answeredBy: to, atMs: now };
    out.push({ type: 'revised', answeredBy: to, atMs: now, cues: [to === 'screening' ? 'screening_phrase' : 'human_phrase'] });
  }

  #give(answeredBy: AnsweredBy, atMs: number, cues: AmdCue[], out: AmdEvent[]): void {
    this.#hold = undefined;
    // A machine on sound alone (no phrase, no beep) may still be taken back by the words that follow.
    if (answeredBy === 'machine_start' && !cues.includes('voicemail_phrase') && !cues.includes('beep')) this.#revisable = { untilMs: atMs + REVISE_WINDOW_MS };
    this.#verdict = { answeredBy, atMs };
    out.push({ type: 'verdict', answeredBy, atMs, cues: [...new Set(cues)] });
  }

  #waitingForGreetingEnd(): boolean {
    return this.#verdict?.answeredBy === 'machine_start' && this.#s.mode === 'detect_message_end' && !this.#greetingEnded;
  }

  #greetingEnd(ended: ToneRun | undefined, endMs: number, out: AmdEvent[]): void {
    const c = this.#cadence.state;
    const verdictAt = this.#verdict?.atMs ?? endMs;
    if (ended && isBeep(ended)) return this.#endGreeting('machine_end_beep', endMs, ['beep'], out, ended.hz);
    if (c.lastSpeechEndMs !== undefined && !c.inSpeech && endMs - c.lastSoundEndMs >= this.#s.afterGreetingSilenceMs) {
      // Words may still take the verdict back: wait (a little) for the recognizer to have heard it all.
      const heardAll = this.#finalAtMs !== undefined && this.#finalAtMs >= c.lastSpeechEndMs + FINAL_AFTER_SPEECH_MS;
      if (this.#revisable && this.#s.wordsComing === true && !heardAll && endMs - c.lastSoundEndMs < this.#s.afterGreetingSilenceMs + WORDS_SETTLE_MS) return;
      return this.#endGreeting('machine_end_silence', endMs, ['after_greeting_silence'], out);
    }
    if (endMs - verdictAt >= this.#s.beepTimeoutMs) this.#endGreeting('machine_end_other', endMs, ['timeout'], out);
  }

  #endGreeting(answeredBy: 'machine_end_beep' | 'machine_end_silence' | 'machine_end_other', atMs: number, cues: AmdCue[], out: AmdEvent[], beepHz?: number): void {
    this.#greetingEnded = true;
    this.#revisable = undefined;
    out.push({ type: 'greeting_end', answeredBy, atMs, cues, ...(beepHz === undefined ? {} : { beepHz: Math.round(beepHz) }) });
  }
}
