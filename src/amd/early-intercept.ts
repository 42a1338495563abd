/**
 * A network intercept heard before the answer. Carriers often play the special information tones and
 * their announcement ("the number you have dialed is not in service") as early media, over a 183
 * Session Progress with SDP (RFC 3960 §3.1), and answer with a final 4xx only after it, or never. The
 * call is then known to reach nobody seconds before the carrier says so, and before any ring timeout.
 *
 * Only SIT decides here (ITU-T Q.35, Telcordia SR-2275): its three rising tones in order are never
 * ringback (440 + 480 Hz at once, not one tone), a ringtone or a carrier's music, so the call cannot
 * be failed by mistake while it rings. An announcement without SIT leaves the call ringing, as before:
 * the carrier's final response (or the answer, where the detector hears it) ends it.
 */
import { FrameAnalyzer } from './spectrum.js';
import { SitMatcher, ToneTracker } from './tones.js';

export class EarlyIntercept {
  readonly #spectrum: FrameAnalyzer;
  readonly #tones: ToneTracker;
  readonly #sit = new SitMatcher();
  readonly #rate: number;
  /** Audio ms of early media heard so far (the watcher's only clock). */
  #now = 0;
  #found = false;

  constructor(sampleRate: 8000 | 16000) {
    this.#rate = sampleRate;
    this.#spectrum = new FrameAnalyzer(sampleRate);
    this.#tones = new ToneTracker(sampleRate);
  }

  /** Whether SIT was heard (the watcher then takes no more audio). */
  get found(): boolean {
    return this.#found;
  }

  /** One 20 ms frame; the audio ms at which SIT was matched, the first time it is. */
  push(frame: Int16Array): number | undefined {
    if (this.#found || frame.length === 0) return undefined;
    const startMs = this.#now;
    const frameMs = (frame.length * 1000) / this.#rate;
    this.#now += frameMs;
    const step = this.#tones.step(this.#spectrum.analyze(frame), frame, startMs, frameMs);
    if (step.ended) this.#sit.ended(step.ended);
    if (!this.#sit.matches(step.current)) return undefined;
    this.#found = true;
    return this.#now;
  }
}
