/**
 * The conversation settings a speech-to-speech agent cannot act on. The model hears the callee
 * itself, so what depends on our own hearing of the call has nothing to work with: refused (422)
 * when the agent is saved, and again when a call is created, rather than silently ignored.
 * (barge_in.enabled and min_speech_ms, the lines, filler and first_speaker all act: see session.ts.)
 */
import type { ConversationSettings } from '../../contract/agent.js';

export interface SettingProblem {
  /** The agent field at fault, e.g. `conversation.vad`. */
  path: string;
  message: string;
}

export function realtimeConversationProblem(c: ConversationSettings | null | undefined): SettingProblem | undefined {
  if (!c) return undefined;
  if (c.vad !== undefined) {
    return {
      path: 'conversation.vad',
      message:
        "a speech-to-speech agent's model detects the callee's speech itself (its server VAD): conversation.vad cannot act; " +
        'choose the model\'s detector with speech_to_speech.options.vad ("server_vad" or "semantic_vad") instead',
    };
  }
  if ((c.barge_in?.min_words ?? 0) > 0) {
    return {
      path: 'conversation.barge_in.min_words',
      message:
        "a speech-to-speech model transcribes the callee's words only after they stop speaking, so the agent cannot be cut off " +
        'after a number of words; use conversation.barge_in.min_speech_ms (or enabled: false)',
    };
  }
  return undefined;
}
