/**
 * Puts a CallRecorder on a call leg: the callee side from the leg's decoded audio, the agent side from
 * what is written into the leg (the greeting, the voice session's playout). Playout only writes a few
 * frames ahead of the listener and drops the rest on barge-in, so what is written is what was heard.
 * Recording starts on 'answered' (nothing before answer is ever recorded).
 *
 * The tapped leg must be the whole leg: the agent's tools look for `transfer` and `sendDtmf` on it,
 * and a member the tap forgot to pass on made them fail `tool_unavailable` on every recorded call.
 * So the tap lists every member of Leg (LegMembers below): a member added to Leg is a type error
 * here until the tap says how it is passed on.
 */
import { CallRecorder, type RecordingOptions, type Recording } from '../../media/wav-recorder.js';
import type { Leg } from '../../voice/leg.js';

export interface RecordingTap {
  /** The leg to use instead of the original: writes go through the recorder. */
  readonly leg: Leg;
  /**
   * Stops recording; the recording from answer to `at`, or undefined if the call was never answered
   * or nothing is left of it (trim_silence over a silent call).
   */
  finish(at: number): Recording | undefined;
}

/** Leg's optional members (a leg may lack them: a fake in tests, a leg without REFER). */
type OptionalMember = { [K in keyof Leg]-?: Partial<Pick<Leg, K>> extends Pick<Leg, K> ? K : never }[keyof Leg];

/**
 * Every member of Leg, none optional: an optional one is present with the inner leg's value, which
 * may be undefined (the tools then say the leg lacks the feature, which is true).
 */
type LegMembers = { [K in keyof Required<Leg>]: K extends OptionalMember ? Leg[K] | undefined : Leg[K] };

export function tapLeg(inner: Leg, opts: RecordingOptions & { maxMs: number; now: () => number }): RecordingTap {
  let recorder: CallRecorder | undefined;
  let offAudio: (() => void) | undefined;
  let done = false;
  // Subscribed before anyone else is given the leg, so the recorder exists when others react to 'answered'.
  const offLeg = inner.on((e) => {
    if (e.type !== 'answered' || recorder || done) return;
    recorder = new CallRecorder({ ...opts, sampleRate: e.sampleRate, startAt: opts.now(), maxMs: opts.maxMs });
    const r = recorder;
    offAudio = inner.onAudio?.((frame) => r.callee(frame, opts.now()));
  });
  const leg: LegMembers = {
    on: (listener) => inner.on(listener),
    write(frame) {
      inner.write(frame);
      recorder?.agent(frame, opts.now());
    },
    get queuedMs() {
      return inner.queuedMs;
    },
    cancel: () => inner.cancel(),
    hangup: () => inner.hangup(),
    // Bound: a CallLeg's methods use `this`.
    onAudio: inner.onAudio?.bind(inner),
    onEarlyAudio: inner.onEarlyAudio?.bind(inner),
    transfer: inner.transfer?.bind(inner),
    sendDtmf: inner.sendDtmf?.bind(inner),
    mediaQuality: inner.mediaQuality?.bind(inner),
  };
  return {
    leg,
    finish(at) {
      if (done) return undefined;
      done = true;
      offLeg();
      offAudio?.();
      const rec = recorder?.finish(at);
      return rec && rec.durationMs > 0 ? rec : undefined;
    },
  };
}
