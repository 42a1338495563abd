import { OutcallError } from '../errors.js';
import type { AgentRow } from '../store/agent-rows.js';
import { CLOSED_VOCABULARY_STT, defaultLocalStt } from '../providers/stt/local-default.js';

/**
 * A language-model agent holds an open conversation, so it needs a recognizer that can hear any
 * words. Refused before a call is queued, and before a number is given it to answer, when every
 * recognizer of its chain (or the local default, when it names none and Debian's pocketsphinx is
 * not installed) hears only a grammar: the caller or callee would get an agent that cannot
 * understand them. Flow agents (keyword branches)
 * and speech-to-speech models (they hear the audio themselves) are not affected.
 */
export function checkHearing(agent: AgentRow, param = 'stt.provider'): void {
  if (!agent.llm || agent.flow || agent.speech_to_speech) return;
  const chain = agent.stt ? [agent.stt.provider, ...(agent.stt.fallbacks ?? []).map((f) => f.provider)] : [defaultLocalStt()];
  if (!chain.every((p) => CLOSED_VOCABULARY_STT.includes(p))) return;
  const which = agent.stt ? `its stt (${chain.join(', ')}) hears` : 'this server has no pocketsphinx, and soundswallower (the npm recognizer) hears';
  throw new OutcallError(
    'open_vocabulary_stt_required',
    `agent ${agent.id} converses with a language model, but ${which} only a grammar of expected words. ` +
      'Install Debian\'s recognizer (sudo apt-get install pocketsphinx pocketsphinx-en-us) on the workers, ' +
      'or set the agent\'s stt.provider to a cloud recognizer (deepgram, openai or assemblyai, with its api_key or DEEPGRAM_API_KEY / OPENAI_API_KEY / ASSEMBLYAI_API_KEY).',
    param,
  );
}
