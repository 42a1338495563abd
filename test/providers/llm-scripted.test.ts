import { describe, test } from 'node:test';
import { llmConformance, type LlmConformanceTarget } from './conformance/llm.js';
import { ProviderError } from '../../src/providers/errors.js';
import { ScriptedLlm } from '../../src/providers/llm/scripted.js';

// The in-memory fake the voice runtime's tests can use passes the same suite as the HTTP client,
// which also shows the suite does not depend on any one transport.
describe('LLM conformance: ScriptedLlm (in-memory)', { timeout: 30_000 }, () => {
  const llm = new ScriptedLlm();
  const target: LlmConformanceTarget = {
    provider: llm,
    scriptText: (text) => void llm.reply({ text }),
    scriptToolCall: (c) => void llm.reply({ toolCalls: [c] }),
    scriptEndless: () => void llm.reply({ endless: true }),
    scriptFailure: (kind) =>
      void llm.reply({
        error:
          kind === 'auth'
            ? new ProviderError('provider_auth_failed', 'scripted auth failure', false)
            : kind === 'rate_limit'
              ? new ProviderError('provider_rate_limited', 'scripted rate limit', true)
              : new ProviderError('provider_failed', 'scripted server failure', true),
      }),
    requestCount: () => llm.requests.length,
    received: (i) => ({ messages: [...(llm.requests[i]?.messages ?? [])], tools: (llm.requests[i]?.tools ?? []).map((t) => t.name) }),
    cancelled: (i) => llm.cancelled(i),
  };
  for (const c of llmConformance) test(c.name, () => c.run(target));
});
