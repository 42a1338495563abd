/**
 * The client events the session sends, built in one place (GA Realtime interface,
 * https://developers.openai.com/api/reference/resources/realtime/client-events).
 */
import type { LlmToolSpec } from '../../providers/llm/types.js';
import type { RealtimeAudioFormat } from './audio.js';
import type { ClientEvent } from './client.js';
import type { RealtimeConfig } from './config.js';

export interface SessionShape {
  instructions: string;
  tools: readonly LlmToolSpec[];
  format: RealtimeAudioFormat;
  /** Whether the callee's speech cancels the model's response server-side (barge-in enabled). */
  interruptResponse: boolean;
}

/** session.update: instructions, voice, both audio formats, server VAD, transcription, tools. */
export function sessionUpdate(c: RealtimeConfig, s: SessionShape): ClientEvent {
  return {
    type: 'session.update',
    session: {
      type: 'realtime',
      model: c.model,
      instructions: s.instructions,
      output_modalities: ['audio'],
      audio: {
        input: {
          format: s.format,
          // The callee's words for the transcript; the model itself hears the audio.
          transcription: { model: c.transcriptionModel, ...(c.language ? { language: c.language } : {}) },
          // create_response: the model answers by itself at the end of the callee's turn.
          turn_detection: { ...c.turnDetection, create_response: true, interrupt_response: s.interruptResponse },
        },
        output: { format: s.format, voice: c.voice },
      },
      tools: s.tools.map((t) => ({ type: 'function', name: t.name, description: t.description, parameters: t.parameters })),
      tool_choice: 'auto',
      ...(c.maxOutputTokens !== undefined ? { max_output_tokens: c.maxOutputTokens } : {}),
    },
  };
}

/** Only the audio formats (the leg answered with another codec than the one primed for). */
export function formatUpdate(format: RealtimeAudioFormat): ClientEvent {
  return { type: 'session.update', session: { type: 'realtime', audio: { input: { format }, output: { format } } } };
}

/** A response that says `text` word for word (greeting, wrap-up, prompts): no TTS exists on this path. */
export function sayLine(text: string): ClientEvent {
  return {
    type: 'response.create',
    response: {
      instructions: `Say exactly the following line, word for word, in the language it is written in, and nothing else:\n"${text}"`,
      tool_choice: 'none',
    },
  };
}
