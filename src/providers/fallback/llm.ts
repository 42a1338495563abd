import type { LlmCapabilities, LlmChatRequest, LlmEvent, LlmProvider } from '../llm/types.js';
import { assertProviders, ProviderHealth, streamWithFallback, type FallbackOptions } from './common.js';

/**
 * An ordered list of LLMs behaving as one (policy in common.ts). A turn goes to the first healthy
 * provider; if it fails or times out before its first event (text, tool call or done), the same
 * request goes to the next one. Once an event has been passed on, the turn belongs to that
 * provider: a later error is the caller's, so a sentence is never spoken twice and a tool is never
 * called twice.
 *
 * Capabilities are what every provider offers (streaming and toolCalls only if all have them),
 * since any of them may end up answering a turn.
 */
export class FallbackLlm implements LlmProvider {
  readonly name: string;
  readonly capabilities: LlmCapabilities;
  readonly health: ProviderHealth<LlmProvider>;

  constructor(
    readonly providers: readonly LlmProvider[],
    private readonly opts: FallbackOptions = {},
  ) {
    assertProviders('llm', providers);
    this.name = providers.map((p) => p.name).join('|');
    this.capabilities = {
      streaming: providers.every((p) => p.capabilities.streaming),
      toolCalls: providers.every((p) => p.capabilities.toolCalls),
    };
    this.health = new ProviderHealth(opts);
  }

  chat(req: LlmChatRequest): AsyncIterable<LlmEvent> {
    return streamWithFallback('llm', this.providers, this.health, this.opts, req.signal, (p, signal) => p.chat({ ...req, signal }));
  }
}
