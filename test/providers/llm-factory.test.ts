import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProviderError } from '../../src/providers/errors.js';
import { createLlmProvider, llmToolsFromAgent } from '../../src/providers/llm/index.js';
import type { LlmEvent } from '../../src/providers/llm/types.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';

async function collect(it: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const out: LlmEvent[] = [];
  for await (const ev of it) out.push(ev);
  return out;
}

test("an agent's llm settings become a client: base_url, key, model, sampling, client options, extra body fields", async () => {
  const server = await OpenAiProtocolServer.start();
  try {
    server.reply({ kind: 'text', pieces: ['hi'] });
    const llm = createLlmProvider({
      provider: 'vllm',
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      base_url: server.baseUrl,
      api_key: 'sk-local-key',
      temperature: 0.2,
      max_tokens: 120,
      options: { stream_usage: false, first_token_timeout_ms: 3000, top_p: 0.9, seed: 1 },
    });
    assert.equal(llm.name, 'vllm');
    await collect(llm.chat({ messages: [{ role: 'user', content: 'x' }] }));
    const r = server.requests.at(-1);
    assert.equal(r?.headers.authorization, 'Bearer sk-local-key');
    assert.deepEqual(r?.body, {
      top_p: 0.9,
      seed: 1,
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      temperature: 0.2,
      max_tokens: 120,
    });
  } finally {
    await server.close();
  }
});

test('options.first_token_timeout_ms sets the first-token deadline', async () => {
  const { VirtualClock } = await import('../helpers/virtual-clock.js');
  const server = await OpenAiProtocolServer.start();
  try {
    server.reply({ kind: 'hang' });
    const clock = new VirtualClock();
    const llm = createLlmProvider({ provider: 'ollama', model: 'llama3.2', base_url: server.baseUrl, options: { first_token_timeout_ms: 1234 } }, { clock });
    const done = collect(llm.chat({ messages: [{ role: 'user', content: 'x' }] }));
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    clock.advance(1234);
    await assert.rejects(done, (e: unknown) => e instanceof ProviderError && e.code === 'provider_timeout' && /ollama: no first token within 1234 ms/.test(e.message));
  } finally {
    await server.close();
  }
});

test('settings that cannot work are rejected up front as bad_request', () => {
  const bad = (s: Parameters<typeof createLlmProvider>[0], pattern: RegExp) =>
    assert.throws(() => createLlmProvider(s), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request' && !e.retryable && pattern.test(e.message));
  bad({ provider: 'cohere', model: 'x' }, /unknown llm provider "cohere"/);
  bad({ provider: 'openai-compatible', model: 'x' }, /needs a base_url/);
  bad({ provider: 'openai' }, /needs a model/);
  assert.equal(createLlmProvider({ provider: 'groq', model: 'llama-3.1-8b-instant' }).name, 'groq');
});

test("the agent's tools as the model sees them: built-ins with their schemas, http tools as declared", () => {
  const specs = llmToolsFromAgent([
    { type: 'end_call' },
    { type: 'send_dtmf' },
    { type: 'transfer_call', name: 'to_sales', transfer_to: 'sip:sales@pbx' },
    { type: 'http', name: 'check_slot', description: 'Is a slot free?', parameters: { type: 'object', properties: { day: { type: 'string' } } }, url: 'https://x.test/slot' },
  ]);
  assert.deepEqual(specs.map((s) => s.name), ['end_call', 'send_dtmf', 'to_sales', 'check_slot']);
  assert.deepEqual(specs[1]?.parameters.required, ['digits']);
  assert.equal(JSON.stringify(specs[2]?.parameters).includes('sip:'), false, 'the transfer target is not something the model chooses');
  assert.deepEqual(specs[3], { name: 'check_slot', description: 'Is a slot free?', parameters: { type: 'object', properties: { day: { type: 'string' } } } });
  assert.throws(() => llmToolsFromAgent([{ type: 'end_call' }, { type: 'http', name: 'end_call', url: 'https://x.test' }]), /two tools are named "end_call"/);
  assert.throws(() => llmToolsFromAgent([{ type: 'http', url: 'https://x.test' }]), /needs a name/);
});
