/**
 * Puts a CallRecorder on a call leg: the callee side from the leg's decoded audio, the agent side from
 * what is written into the leg (the greeting, the voice session's playout). Playout only writes a few
 * frames ahead of the listener and drops the rest on barge-in, so what is written is what was heard.
 * Recording starts on 'answered' (nothing before answer is ever recorded).
 */
import { CallRecorder, type RecordingChannels, type Recording } from '../../media/wav-recorder.js';
import type { Leg } from '../../voice/leg.js';

export interface RecordingTap {
  /** The leg to use instead of the original: writes go through the recorder. */
  readonly leg: Leg;
  /** Stops recording; the recording from answer to `at`, or undefined if the call was never answered. */
  finish(at: number): Recording | undefined;
}

export function tapLeg(inner: Leg, opts: { channels: RecordingChannels; maxMs: number; now: () => number }): RecordingTap {
  let recorder: CallRecorder | undefined;
  let offAudio: (() => void) | undefined;
  let done = false;
  // Subscribed before anyone else is given the leg, so the recorder exists when others react to 'answered'.
  const offLeg = inner.on((e) => {
    if (e.type !== 'answered' || recorder || done) return;
    recorder = new CallRecorder({ sampleRate: e.sampleRate, channels: opts.channels, startAt: opts.now(), maxMs: opts.maxMs });
    const r = recorder;
    offAudio = inner.onAudio?.((frame) => r.callee(frame, opts.now()));
  });
  const leg: Leg = {
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
    // Called as a method of the inner leg (a CallLeg's onAudio uses `this`).
    ...(inner.onAudio ? { onAudio: (listener: (frame: Int16Array) => void) => inner.onAudio?.(listener) ?? (() => undefined) } : {}),
  };
  return {
    leg,
    finish(at) {
      if (done) return undefined;
      done = true;
      offLeg();
      offAudio?.();
      return recorder?.finish(at);
    },
  };
}
