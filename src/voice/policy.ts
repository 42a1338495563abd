/**
 * How a voice agent holds a conversation: the options a session is given and, written once, what
 * holds when neither the agent nor the worker says otherwise (the lines said on its behalf, the
 * barge-in rule, the silence allowed). Both sessions (cascaded and speech-to-speech) and the
 * worker that fills in their options read these; the API's descriptions of the agent's
 * conversation settings (src/contract/agent.ts) name the same values in words.
 */

export interface VoiceSessionOptions {
  greeting?: string;
  firstSpeaker: 'agent' | 'callee';
  /**
   * enabled (default true): the callee's speech may cut the agent off. minSpeechMs: how long it must
   * last (also the VAD's minimum speech). minWords (default 0): if > 0, it must also have been
   * transcribed to at least this many words (partials or finals), so a "mm-hm" does not cut in.
   */
  bargeIn: { minSpeechMs: number; enabled?: boolean; minWords?: number };
  /** Silence after the agent finished before the prompt, and again before hanging up. */
  inactivityTimeoutMs: number;
  maxDurationMs: number;
  inactivityPrompt?: string;
  wrapUpLine?: string;
  apologyLine?: string;
  language?: string;
  /**
   * The leg's rate if the callee answers with the first codec offered: the opening is synthesized
   * at it while the phone rings (default 16000), so a narrowband call gets 8 kHz audio made
   * natively rather than resampled.
   */
  expectedSampleRate?: number;
  /**
   * Said (phrases in turn) when a reply has not started speaking afterMs after it was asked for (the
   * model still thinking), and once per tool call when the agent has been silent for afterMs while
   * the tool is still running. Absent (the default): no filler, the line stays quiet meanwhile.
   */
  filler?: { afterMs: number; phrases: string[] };
  /**
   * How long after the answer the callee's first words over the opening may be their pickup hello
   * (src/voice/session.ts): default 2000 ms; 0 turns the rule off (any speech barges in as usual).
   */
  pickupHelloWindowMs?: number;
  /**
   * The opening waits for machineHost().openGate() (machine_detection.gate_greeting): who answered
   * is decided first. The answering-machine policy always opens it (or ends the call).
   */
  gateOpening?: boolean;
}

/** The session options when neither the worker nor the agent says otherwise. */
export const CONVERSATION_DEFAULTS = {
  firstSpeaker: 'agent',
  bargeIn: { enabled: true, minSpeechMs: 300, minWords: 0 },
  inactivityTimeoutMs: 10_000,
} as const satisfies Partial<VoiceSessionOptions>;

/** What the agent says on its own when the agent's settings name no line of their own. */
export const DEFAULT_LINES = {
  /** After inactivityTimeoutMs of silence; the same silence again hangs up. */
  inactivityPrompt: 'Are you still there?',
  /** At max duration, before hanging up. */
  wrapUp: 'We are out of time. Thank you, goodbye.',
  /** When a speech or language provider fails, before hanging up. */
  apology: 'Sorry, something went wrong on our side. We will call you back. Goodbye.',
} as const;

export interface ConversationLines {
  inactivityPrompt: string;
  wrapUp: string;
  apology: string;
}

/** The session's lines: the agent's own, else the defaults. */
export function linesOf(o: VoiceSessionOptions): ConversationLines {
  return {
    inactivityPrompt: o.inactivityPrompt ?? DEFAULT_LINES.inactivityPrompt,
    wrapUp: o.wrapUpLine ?? DEFAULT_LINES.wrapUp,
    apology: o.apologyLine ?? DEFAULT_LINES.apology,
  };
}

/** The barge-in rule with its defaults filled in (minSpeechMs is always given: it is the VAD's too). */
export function bargeInOf(o: VoiceSessionOptions): Required<VoiceSessionOptions['bargeIn']> {
  const b = o.bargeIn;
  return {
    enabled: b.enabled ?? CONVERSATION_DEFAULTS.bargeIn.enabled,
    minSpeechMs: b.minSpeechMs,
    minWords: b.minWords ?? CONVERSATION_DEFAULTS.bargeIn.minWords,
  };
}
