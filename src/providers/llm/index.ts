import { ProviderError } from '../errors.js';
import type { ResolvedProviderSettings } from '../settings.js';
import { createAnthropicLlm } from './anthropic.js';
import { OpenAiCompatibleLlm, type OpenAiCompatibleOptions } from './openai-compatible.js';
import type { LlmProvider } from './types.js';

export type { LlmCapabilities, LlmChatRequest, LlmEvent, LlmFinishReason, LlmMessage, LlmProvider, LlmToolCall, LlmToolSpec, LlmUsage } from './types.js';
export { OpenAiCompatibleLlm, type OpenAiCompatibleOptions } from './openai-compatible.js';
export { AnthropicLlm, checkAnthropicLlmSettings, createAnthropicLlm, type AnthropicLlmOptions } from './anthropic.js';
export { ProviderRateLimitedError } from './http-errors.js';
export { agentToolName, END_CALL_BUILT_IN, endCallFromAgent, llmToolsFromAgent, modelToolsFromAgent } from './agent-tools.js';
export { ScriptedLlm, type ScriptedTurn } from './scripted.js';

/** An agent's `llm` settings (src/contract/agent.ts), with the api_key already resolved. */
export type LlmSettings = ResolvedProviderSettings;

/**
 * Vendors that speak chat completions, and where they listen when base_url is not given.
 * Self-hosted servers default to their documented local port.
 */
const DEFAULT_BASE_URLS: Record<string, string> = {
  openai: 'https://api.openai.com/v1',
  groq: 'https://api.groq.com/openai/v1',
  together: 'https://api.together.xyz/v1',
  ollama: 'http://127.0.0.1:11434/v1',
  vllm: 'http://127.0.0.1:8000/v1',
  'llama.cpp': 'http://127.0.0.1:8080/v1',
  llamacpp: 'http://127.0.0.1:8080/v1',
  'openai-compatible': '',
};

/** The llm providers createLlmProvider knows (the API refuses others). */
export const LLM_PROVIDERS: readonly string[] = ['anthropic', ...Object.keys(DEFAULT_BASE_URLS)];

/** Options the client reads itself; every other option is sent as a request body field (top_p, seed...). */
const CLIENT_OPTIONS = ['first_token_timeout_ms', 'idle_timeout_ms', 'stream_usage', 'max_tokens_field'] as const;

export function createLlmProvider(settings: LlmSettings, extra: Pick<OpenAiCompatibleOptions, 'clock' | 'fetch'> = {}): LlmProvider {
  // Anthropic speaks its own Messages API, not chat completions.
  if (settings.provider === 'anthropic') return createAnthropicLlm(settings, extra);
  const known = Object.hasOwn(DEFAULT_BASE_URLS, settings.provider);
  if (!known) throw new ProviderError('provider_bad_request', `unknown llm provider "${settings.provider}"`, false);
  const baseUrl = settings.base_url ?? DEFAULT_BASE_URLS[settings.provider] ?? '';
  if (baseUrl === '') throw new ProviderError('provider_bad_request', `llm provider "${settings.provider}" needs a base_url`, false);
  if (!settings.model) throw new ProviderError('provider_bad_request', `llm provider "${settings.provider}" needs a model`, false);
  const o = settings.options ?? {};
  const extraBody: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!(CLIENT_OPTIONS as readonly string[]).includes(k)) extraBody[k] = v;
  const num = (k: string) => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
  const opts: OpenAiCompatibleOptions = { ...extra, name: settings.provider, baseUrl, model: settings.model, extraBody };
  if (settings.api_key !== undefined) opts.apiKey = settings.api_key;
  if (settings.temperature !== undefined) opts.temperature = settings.temperature;
  if (settings.max_tokens !== undefined) opts.maxTokens = settings.max_tokens;
  const first = num('first_token_timeout_ms');
  if (first !== undefined) opts.firstTokenTimeoutMs = first;
  const idle = num('idle_timeout_ms');
  if (idle !== undefined) opts.idleTimeoutMs = idle;
  if (typeof o.stream_usage === 'boolean') opts.streamUsage = o.stream_usage;
  if (o.max_tokens_field === 'max_completion_tokens' || o.max_tokens_field === 'max_tokens') opts.maxTokensField = o.max_tokens_field;
  return new OpenAiCompatibleLlm(opts);
}
