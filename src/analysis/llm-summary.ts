/**
 * A summary written by the agent's own language model, from the transcript. One short request, not
 * streamed to anyone: the text deltas are collected and returned. Any failure (HTTP error, timeout,
 * an empty answer) throws, and the caller falls back to the extractive summary.
 */
import type { LlmMessage, LlmProvider } from '../providers/llm/index.js';
import type { TranscriptTurn } from '../voice/events.js';
import { clip, transcriptText } from './transcript-text.js';

export const SUMMARY_SYSTEM_PROMPT =
  'You summarize phone calls that an AI agent placed. In at most three short sentences of plain text, say what the call ' +
  'was about, what the callee said or decided, and any follow-up that was agreed. Write only the summary.';

export interface LlmSummaryOptions {
  signal?: AbortSignal;
  /** Longest summary kept, in characters. Default 1000. */
  maxChars?: number;
  /** The call's context (call_context), which helps the model name what the call was about. */
  callContext?: string | null;
}

export function summaryMessages(turns: readonly TranscriptTurn[], callContext?: string | null): LlmMessage[] {
  const context = callContext ? `Context of the call:\n${clip(callContext, 2000)}\n\n` : '';
  return [
    { role: 'system', content: SUMMARY_SYSTEM_PROMPT },
    { role: 'user', content: `${context}Transcript:\n${transcriptText(turns)}` },
  ];
}

export async function llmSummary(llm: LlmProvider, turns: readonly TranscriptTurn[], opts: LlmSummaryOptions = {}): Promise<string> {
  let text = '';
  for await (const e of llm.chat({ messages: summaryMessages(turns, opts.callContext), temperature: 0.2, maxTokens: 250, ...(opts.signal ? { signal: opts.signal } : {}) })) {
    if (e.type === 'text_delta') text += e.text;
  }
  // An aborted request ends its stream quietly: that is a failure here, not an empty summary.
  if (opts.signal?.aborted) throw new Error('summary request timed out');
  const summary = text.replace(/\s+/g, ' ').trim();
  if (!summary) throw new Error('the model returned an empty summary');
  return clip(summary, opts.maxChars ?? 1000);
}
