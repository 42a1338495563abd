import { spawnSync } from 'node:child_process';

/**
 * Which local recognizer hears a call whose agent names none: Debian's pocketsphinx (open
 * vocabulary) when `pocketsphinx_continuous` is installed, else soundswallower from npm (a grammar
 * of what the dialogue expects: enough for flows and the sandbox personas, not for an LLM agent).
 * OUTCALL_LOCAL_STT=pocketsphinx|soundswallower overrides the probe.
 */
export type LocalSttName = 'pocketsphinx' | 'soundswallower';

let probed: boolean | undefined;

/** Whether `pocketsphinx_continuous` is on PATH (probed once per process). */
export function pocketsphinxInstalled(): boolean {
  probed ??= spawnSync('/bin/sh', ['-c', 'command -v pocketsphinx_continuous'], { stdio: 'ignore' }).status === 0;
  return probed;
}

export function defaultLocalStt(env: NodeJS.ProcessEnv = process.env): LocalSttName {
  const forced = env.OUTCALL_LOCAL_STT;
  if (forced === 'pocketsphinx' || forced === 'soundswallower') return forced;
  return pocketsphinxInstalled() ? 'pocketsphinx' : 'soundswallower';
}

/** Recognizers that hear only a closed vocabulary (a grammar): an LLM agent cannot converse through them. */
export const CLOSED_VOCABULARY_STT: readonly string[] = ['soundswallower'];
