/**
 * An agent's provider API keys: write-only in the API, stored encrypted in one blob by secret slot,
 * decrypted only to build a call's provider chains (a provider without its own key gets the vendor's
 * environment variable).
 */
import type { AppContext } from '../app-context.js';
import type { ProviderChoice, ProviderChoiceInput, ProviderSettings, ProviderSettingsInput } from '../contract/agent.js';
import { OutcallError } from '../errors.js';
import { resolveApiKey, type ProviderChain, type ResolvedProviderSettings } from '../providers/settings.js';
import type { AgentRow } from '../store/agent-rows.js';

export type ProviderKind = 'stt' | 'llm' | 'tts' | 'speech_to_speech';
export const PROVIDER_KINDS: readonly ProviderKind[] = ['stt', 'llm', 'tts', 'speech_to_speech'];

/**
 * Decrypted provider keys by where they belong: 'stt', 'llm', 'tts', 'speech_to_speech', and
 * '<kind>.fallbacks.<i>' for the i-th fallback of a kind.
 */
export type ProviderSecrets = { [slot: string]: string | undefined };

/** The secret slot of a kind's provider (i undefined) or of its i-th fallback. */
export function secretSlot(kind: ProviderKind, i?: number): string {
  return i === undefined ? kind : `${kind}.fallbacks.${i}`;
}

/** The provider API keys of an agent, decrypted (for the voice runtime; never for the API). */
export function readProviderSecrets(ctx: AppContext, row: Pick<AgentRow, 'provider_secrets_enc'>): ProviderSecrets {
  if (row.provider_secrets_enc === null) return {};
  if (!ctx.secrets) throw new OutcallError('secret_key_missing', 'OUTCALL_SECRET_KEY is needed to read provider keys');
  return JSON.parse(ctx.secrets.decrypt(row.provider_secrets_enc)) as ProviderSecrets;
}

/** A provider as the API shows it, with its key: the agent's own, else the vendor's environment variable. */
export function resolvedProvider(shown: ProviderChoice, agentKey: string | undefined): ResolvedProviderSettings {
  const { has_api_key: _shown, ...rest } = shown;
  const key = resolveApiKey(shown.provider, agentKey);
  return { ...rest, ...(key !== undefined ? { api_key: key } : {}) };
}

/** A kind's provider and its fallbacks, each with its key. */
export function providerChainFor(kind: 'stt' | 'llm' | 'tts', shown: ProviderSettings, secrets: ProviderSecrets): ProviderChain {
  const { fallbacks, ...first } = shown;
  const chain: ProviderChain = resolvedProvider(first, secrets[secretSlot(kind)]);
  if (fallbacks && fallbacks.length > 0) chain.fallbacks = fallbacks.map((f, i) => resolvedProvider(f, secrets[secretSlot(kind, i)]));
  return chain;
}

export function encryptSecrets(ctx: AppContext, secrets: ProviderSecrets): string | null {
  if (Object.keys(secrets).length === 0) return null;
  if (!ctx.secrets) {
    throw new OutcallError('secret_key_missing', 'set OUTCALL_SECRET_KEY to store provider API keys (encrypted at rest)', 'api_key');
  }
  return ctx.secrets.encrypt(JSON.stringify(secrets));
}

/** What the API shows of a provider (has_api_key instead of the key), and its keys by secret slot. */
export function splitProvider(kind: ProviderKind, input: ProviderSettingsInput | ProviderChoiceInput | null): { shown: ProviderSettings | null; keys: ProviderSecrets } {
  if (input === null) return { shown: null, keys: {} };
  const keys: ProviderSecrets = {};
  const one = (c: ProviderChoiceInput, slot: string): ProviderChoice => {
    const { api_key, ...rest } = c;
    if (api_key !== undefined) keys[slot] = api_key;
    return { ...rest, has_api_key: api_key !== undefined };
  };
  const { fallbacks, ...main } = input as ProviderSettingsInput;
  const shown: ProviderSettings = one(main, secretSlot(kind));
  if (fallbacks !== undefined) shown.fallbacks = fallbacks.map((f, i) => one(f, secretSlot(kind, i)));
  return { shown, keys };
}
