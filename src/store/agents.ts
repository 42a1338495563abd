import type { AppContext } from '../app-context.js';
import type { Agent, AgentCreate, AgentPatch, ConversationSettings, ProviderChoice, ProviderChoiceInput, ProviderSettings, ProviderSettingsInput, Tool } from '../contract/agent.js';
import { transitionCall } from '../calls/transitions.js';
import { OutcallError } from '../errors.js';
import { newId } from '../ids.js';
import { ProviderError } from '../providers/errors.js';
import { checkAnthropicLlmSettings } from '../providers/llm/index.js';
import { checkOpenAiRealtimeSettings } from '../voice/realtime/config.js';
import { checkSpeechChoice, ProviderChoiceError, unsupportedProvider } from '../providers/registry.js';
import { FlowValidationError, validateFlow } from '../voice/flow/index.js';
import { resolveApiKey, type ProviderChain, type ResolvedProviderSettings } from '../providers/settings.js';
import { assertPublicUrl } from '../webhooks/url-guard.js';
import type { Queryable } from './db.js';
import { afterCursor, page } from './pagination.js';
import { sql } from './sql.js';
import { asIs, asJson, setList, updateSet } from './update-set.js';

type ProviderKind = 'stt' | 'llm' | 'tts' | 'speech_to_speech';
const PROVIDER_KINDS: readonly ProviderKind[] = ['stt', 'llm', 'tts', 'speech_to_speech'];

export interface AgentRow {
  id: string;
  org_id: string;
  name: string;
  kind: 'voice' | 'text';
  system_prompt: string;
  greeting: string;
  language: string;
  voice: string | null;
  /** Settings without the key, plus has_api_key: what the API shows, readable without decrypting. */
  stt: ProviderSettings | null;
  llm: ProviderSettings | null;
  tts: ProviderSettings | null;
  speech_to_speech: ProviderChoice | null;
  provider_secrets_enc: string | null;
  tools: Tool[];
  webhook_url: string | null;
  max_cps: number;
  max_concurrent_calls: number | null;
  on_limit: 'queue' | 'reject';
  /** A validated scripted flow (src/voice/flow), or null. */
  flow: unknown;
  /** How the conversation is held (null: every default). */
  conversation: ConversationSettings | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * Decrypted provider keys by where they belong: 'stt', 'llm', 'tts', 'speech_to_speech', and
 * '<kind>.fallbacks.<i>' for the i-th fallback of a kind.
 */
export type ProviderSecrets = { [slot: string]: string | undefined };

/** The secret slot of a kind's provider (i undefined) or of its i-th fallback. */
export function secretSlot(kind: ProviderKind, i?: number): string {
  return i === undefined ? kind : `${kind}.fallbacks.${i}`;
}

export function toAgent(r: AgentRow): Agent {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    system_prompt: r.system_prompt,
    greeting: r.greeting,
    language: r.language,
    voice: r.voice,
    stt: r.stt,
    llm: r.llm,
    tts: r.tts,
    speech_to_speech: r.speech_to_speech ?? null,
    tools: r.tools,
    webhook_url: r.webhook_url,
    max_cps: r.max_cps,
    max_concurrent_calls: r.max_concurrent_calls,
    on_limit: r.on_limit,
    flow: r.flow ?? null,
    conversation: r.conversation ?? null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
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

function encryptSecrets(ctx: AppContext, secrets: ProviderSecrets): string | null {
  if (Object.keys(secrets).length === 0) return null;
  if (!ctx.secrets) {
    throw new OutcallError('secret_key_missing', 'set OUTCALL_SECRET_KEY to store provider API keys (encrypted at rest)', 'api_key');
  }
  return ctx.secrets.encrypt(JSON.stringify(secrets));
}

/** What the API shows of a provider (has_api_key instead of the key), and its keys by secret slot. */
function splitProvider(kind: ProviderKind, input: ProviderSettingsInput | ProviderChoiceInput | null): { shown: ProviderSettings | null; keys: ProviderSecrets } {
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

/** Rules a JSON schema cannot say: http tools need name, description and url; names are unique; URLs public. */
function checkAgentInput(ctx: AppContext, input: AgentPatch): void {
  const names = new Set<string>();
  input.tools?.forEach((tool, i) => {
    const at = `tools[${i}]`;
    if (tool.type === 'http') {
      for (const f of ['name', 'description', 'url'] as const) {
        if (tool[f] === undefined) throw new OutcallError('missing_field', `"${at}.${f}" is required for an http tool`, `${at}.${f}`);
      }
      assertPublicUrl(tool.url as string, `${at}.url`, ctx.allowPrivateUrls);
    } else if (tool.url !== undefined || tool.parameters !== undefined) {
      throw new OutcallError('invalid_request', `"${at}" is a built-in ${tool.type} tool: url and parameters belong to http tools`, at);
    }
    const name = tool.name ?? tool.type;
    if (names.has(name)) throw new OutcallError('invalid_request', `tool name "${name}" is used twice`, `${at}.name`);
    names.add(name);
  });
  if (input.webhook_url) assertPublicUrl(input.webhook_url, 'webhook_url', ctx.allowPrivateUrls);
  for (const kind of PROVIDER_KINDS) {
    const p = input[kind];
    if (!p) continue;
    if (p.base_url) assertPublicUrl(p.base_url, `${kind}.base_url`, ctx.allowPrivateUrls);
    ('fallbacks' in p ? p.fallbacks : undefined)?.forEach((f, i) => {
      if (f.base_url) assertPublicUrl(f.base_url, `${kind}.fallbacks[${i}].base_url`, ctx.allowPrivateUrls);
    });
  }
}

/**
 * Provider names must be ones this server runs (a typo would otherwise only show as a failed call),
 * fallbacks included; settings a provider can check without the network are checked too.
 */
function checkProviders(agent: Pick<AgentPatch, 'stt' | 'llm' | 'tts' | 'speech_to_speech' | 'conversation'>): void {
  const llmChain = [agent.llm, ...(agent.llm?.fallbacks ?? [])];
  llmChain.forEach((p, i) => {
    if (!p) return;
    const at = i === 0 ? 'llm' : `llm.fallbacks[${i - 1}]`;
    const problem = unsupportedProvider('llm', p.provider);
    if (problem) throw new OutcallError('unsupported_provider', problem, `${at}.provider`);
    // What a vendor refuses without the network (its options, its ranges) is refused now, not at the first call.
    if (p.provider === 'anthropic') {
      try {
        checkAnthropicLlmSettings(p);
      } catch (err) {
        if (err instanceof ProviderError) throw new OutcallError('unsupported_provider', err.message, at);
        throw err;
      }
    }
  });
  const s2s = agent.speech_to_speech;
  if (s2s) {
    const problem = unsupportedProvider('speech_to_speech', s2s.provider);
    if (problem) throw new OutcallError('unsupported_provider', problem, 'speech_to_speech.provider');
    try {
      checkOpenAiRealtimeSettings(s2s);
    } catch (err) {
      if (err instanceof ProviderError) throw new OutcallError('unsupported_provider', err.message, 'speech_to_speech');
      throw err;
    }
  }
  try {
    checkSpeechChoice({
      ...(agent.tts ? { tts: agent.tts } : {}),
      ...(agent.stt ? { stt: agent.stt } : {}),
      ...(agent.conversation?.vad ? { vad: agent.conversation.vad } : {}),
    });
  } catch (err) {
    if (!(err instanceof ProviderChoiceError)) throw err;
    throw new OutcallError('unsupported_provider', err.message, err.kind === 'vad' ? 'conversation.vad' : err.path);
  }
}

/** The flow must be runnable: every problem is named at once (a flow's tool nodes need the agent's tools). */
function checkFlow(flow: unknown, tools: AgentPatch['tools']): void {
  if (flow === undefined || flow === null) return;
  try {
    validateFlow(flow, tools ? { toolNames: tools.map((t) => t.name ?? t.type) } : {});
  } catch (err) {
    if (err instanceof FlowValidationError) {
      const first = err.problems[0];
      throw new OutcallError('invalid_flow', err.message, first?.path ? `flow.${first.path}` : 'flow');
    }
    throw err;
  }
}

export async function createAgent(ctx: AppContext, orgId: string, input: AgentCreate): Promise<Agent> {
  checkAgentInput(ctx, input);
  checkFlow(input.flow, input.tools ?? []);
  checkProviders(input);
  checkSpeechToSpeech(input.speech_to_speech ?? null, input.flow ?? null);
  const providers = Object.fromEntries(PROVIDER_KINDS.map((k) => [k, splitProvider(k, input[k] ?? null)])) as Record<
    ProviderKind,
    ReturnType<typeof splitProvider>
  >;
  const secrets: ProviderSecrets = {};
  for (const k of PROVIDER_KINDS) Object.assign(secrets, providers[k].keys);
  const r = await ctx.db.query<AgentRow>(sql`insert into agents
    (id, org_id, name, kind, system_prompt, greeting, language, voice, stt, llm, tts, speech_to_speech, provider_secrets_enc, tools,
     webhook_url, max_cps, max_concurrent_calls, on_limit, flow, conversation)
    values (${newId('agt')}, ${orgId}, ${input.name}, ${input.kind ?? 'voice'}, ${input.system_prompt ?? ''},
      ${input.greeting ?? ''}, ${input.language ?? 'en-US'}, ${input.voice ?? null},
      ${asJson(providers.stt.shown)}, ${asJson(providers.llm.shown)}, ${asJson(providers.tts.shown)}, ${asJson(providers.speech_to_speech.shown)},
      ${encryptSecrets(ctx, secrets)}, ${JSON.stringify(input.tools ?? [])}, ${input.webhook_url ?? null},
      ${input.max_cps ?? 1}, ${input.max_concurrent_calls ?? null}, ${input.on_limit ?? 'queue'}, ${asJson(input.flow ?? null)},
      ${asJson(input.conversation ?? null)})
    returning *`);
  return toAgent(r.rows[0] as AgentRow);
}

/** The agent row, deleted or not when includeDeleted (a deleted agent's calls stay readable). */
export async function findAgentRow(db: Queryable, orgId: string, id: string, includeDeleted = false): Promise<AgentRow | undefined> {
  const r = await db.query<AgentRow>(
    includeDeleted
      ? sql`select * from agents where org_id = ${orgId} and id = ${id}`
      : sql`select * from agents where org_id = ${orgId} and id = ${id} and deleted_at is null`,
  );
  return r.rows[0];
}

export async function getAgent(ctx: AppContext, orgId: string, id: string): Promise<Agent> {
  const row = await findAgentRow(ctx.db, orgId, id);
  if (!row) throw new OutcallError('agent_not_found', `no agent ${id}`, 'agentId');
  return toAgent(row);
}

export async function listAgents(ctx: AppContext, orgId: string, limit: number, cursor?: string) {
  const r = await ctx.db.query<AgentRow>(sql`select * from agents where org_id = ${orgId} and deleted_at is null
    ${afterCursor(cursor)} order by created_at desc, id desc limit ${limit + 1}`);
  return page(r.rows, limit, toAgent);
}

/**
 * PATCH replaces each field it carries. A provider object (stt/llm/tts) is replaced whole, its key
 * included: a new provider without api_key has no key, so a key never leaks to another vendor.
 */
export async function updateAgent(ctx: AppContext, orgId: string, id: string, patch: AgentPatch): Promise<Agent> {
  checkAgentInput(ctx, patch);
  // Only what the patch replaces: each provider object (and conversation) is replaced whole.
  checkProviders(patch);
  return ctx.db.transaction(async (tx) => {
    const current = await tx.query<AgentRow>(
      sql`select * from agents where org_id = ${orgId} and id = ${id} and deleted_at is null for update`,
    );
    const row = current.rows[0];
    if (!row) throw new OutcallError('agent_not_found', `no agent ${id}`, 'agentId');
    // The flow and the tools it calls are checked together, whichever of them the patch changes.
    if (patch.flow !== undefined || patch.tools !== undefined) checkFlow(patch.flow !== undefined ? patch.flow : row.flow, patch.tools ?? row.tools);
    if (patch.flow !== undefined || patch.speech_to_speech !== undefined) {
      checkSpeechToSpeech(patch.speech_to_speech !== undefined ? patch.speech_to_speech : row.speech_to_speech, patch.flow !== undefined ? patch.flow : row.flow);
    }
    const parts = updateSet(patch, {
      name: asIs,
      kind: asIs,
      system_prompt: asIs,
      greeting: asIs,
      language: asIs,
      voice: asIs,
      tools: asJson,
      webhook_url: asIs,
      max_cps: asIs,
      max_concurrent_calls: asIs,
      on_limit: asIs,
      flow: asJson,
      conversation: asJson,
    });
    const touched = PROVIDER_KINDS.filter((k) => patch[k] !== undefined);
    if (touched.length > 0) {
      const secrets = readProviderSecrets(ctx, row);
      for (const k of touched) {
        const { shown, keys } = splitProvider(k, patch[k] ?? null);
        for (const slot of Object.keys(secrets)) if (slot === k || slot.startsWith(`${k}.`)) delete secrets[slot];
        Object.assign(secrets, keys);
        parts.push(sql`${sqlColumn(k)} = ${asJson(shown)}`);
      }
      parts.push(sql`provider_secrets_enc = ${encryptSecrets(ctx, secrets)}`);
    }
    parts.push(sql`updated_at = now()`);
    const r = await tx.query<AgentRow>(sql`update agents set ${setList(parts)}
      where org_id = ${orgId} and id = ${id} returning *`);
    return toAgent(r.rows[0] as AgentRow);
  });
}

function sqlColumn(kind: ProviderKind) {
  // Fixed names chosen by code.
  return kind === 'stt' ? sql`stt` : kind === 'llm' ? sql`llm` : kind === 'tts' ? sql`tts` : sql`speech_to_speech`;
}

/** A scripted flow speaks through tts and hears through stt: it cannot run on a speech-to-speech model. */
function checkSpeechToSpeech(s2s: unknown, flow: unknown): void {
  if (s2s !== null && s2s !== undefined && flow !== null && flow !== undefined) {
    throw new OutcallError('invalid_request', 'an agent with a flow cannot use speech_to_speech: a flow speaks through tts and hears through stt', 'speech_to_speech');
  }
}

/**
 * Soft delete: calls keep their agent; numbers that used it as outbound agent lose it. Calls still
 * queued for it are canceled (agent_deleted) in the same transaction, each with its event and
 * webhook: an agent that no longer exists must not start talking to anyone. Calls already being
 * dialed or in progress run to their end.
 */
export async function deleteAgent(ctx: AppContext, orgId: string, id: string): Promise<{ canceledCalls: number }> {
  return ctx.db.transaction(async (tx) => {
    const r = await tx.query(sql`update agents set deleted_at = now() where org_id = ${orgId} and id = ${id} and deleted_at is null`);
    if (r.rowCount === 0) throw new OutcallError('agent_not_found', `no agent ${id}`, 'agentId');
    await tx.query(sql`update phone_numbers set outbound_agent_id = null, updated_at = now()
      where org_id = ${orgId} and outbound_agent_id = ${id}`);
    // SKIP LOCKED: a call a dispatcher is claiming right now is its to finish (it reads the agent
    // with deleted ones included and dials or re-queues; a re-queued one is caught by the claim).
    const queued = await tx.query<{ id: string }>(sql`select id from calls
      where org_id = ${orgId} and agent_id = ${id} and status = 'queued' for update skip locked`);
    const at = ctx.now();
    for (const c of queued.rows) {
      await transitionCall(tx, { orgId, callId: c.id, to: 'canceled', at, facts: { endReason: 'agent_deleted' } });
    }
    return { canceledCalls: queued.rows.length };
  });
}
