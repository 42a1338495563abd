/**
 * One provider's settings for a call, as the worker receives them: the agent's settings for that
 * provider (src/contract/agent.ts ProviderSettingsInput, minus fallbacks) with the API key
 * resolved, from the agent's encrypted key or else the vendor's environment variable.
 */
import { ProviderError } from './errors.js';

export type ProviderOptionValue = string | number | boolean;

export interface ResolvedProviderSettings {
  provider: string;
  model?: string;
  language?: string;
  voice?: string;
  /** Where the vendor listens; tests point it at a local server speaking the vendor's protocol. */
  base_url?: string;
  api_key?: string;
  temperature?: number;
  max_tokens?: number;
  options?: Record<string, ProviderOptionValue>;
}

/** The environment variable a vendor's key is read from when the agent stores none (the vendors' own names). */
export const PROVIDER_KEY_ENV: Readonly<Record<string, string>> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  deepgram: 'DEEPGRAM_API_KEY',
  assemblyai: 'ASSEMBLYAI_API_KEY',
  elevenlabs: 'ELEVENLABS_API_KEY',
  cartesia: 'CARTESIA_API_KEY',
  groq: 'GROQ_API_KEY',
  together: 'TOGETHER_API_KEY',
};

/** The agent's key, else the vendor's environment variable, else undefined. */
export function resolveApiKey(provider: string, agentKey: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (agentKey !== undefined) return agentKey;
  const name = PROVIDER_KEY_ENV[provider];
  const fromEnv = name ? env[name] : undefined;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
}

/** The key a cloud provider needs, or a non-retryable provider_auth_failed naming where to put it. */
export function requireApiKey(kind: string, s: ResolvedProviderSettings): string {
  if (s.api_key !== undefined && s.api_key !== '') return s.api_key;
  const env = PROVIDER_KEY_ENV[s.provider];
  throw new ProviderError(
    'provider_auth_failed',
    `${kind} provider "${s.provider}" needs an API key: set ${kind}.api_key on the agent${env ? ` or ${env} in the worker's environment` : ''}`,
    false,
  );
}

/** A numeric option, or undefined; a present option of the wrong type is a bad request. */
export function numberOption(s: ResolvedProviderSettings, key: string): number | undefined {
  const v = s.options?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ProviderError('provider_bad_request', `${s.provider} option ${key} must be a number, got ${JSON.stringify(v)}`, false);
  }
  return v;
}

export function stringOption(s: ResolvedProviderSettings, key: string): string | undefined {
  const v = s.options?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ProviderError('provider_bad_request', `${s.provider} option ${key} must be a string, got ${JSON.stringify(v)}`, false);
  return v;
}

export function booleanOption(s: ResolvedProviderSettings, key: string): boolean | undefined {
  const v = s.options?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new ProviderError('provider_bad_request', `${s.provider} option ${key} must be true or false, got ${JSON.stringify(v)}`, false);
  return v;
}

/** A kind's provider with the ones to try, in order, when it fails before producing output. */
export interface ProviderChain extends ResolvedProviderSettings {
  fallbacks?: ResolvedProviderSettings[];
}

/** A switch to the next provider of a chain, as recorded on the call. */
export interface ProviderFallbackEvent {
  kind: 'stt' | 'tts' | 'llm';
  from: string;
  to: string;
  /** The ProviderError code of the failure that caused the switch. */
  code: string;
  message: string;
}
