/** The agents of an organization: create, read, list, update (PATCH semantics), soft delete. */
import type { AppContext } from '../app-context.js';
import type { Agent, AgentCreate, AgentPatch } from '../contract/agent.js';
import { transitionCall } from '../calls/transitions.js';
import { OutcallError } from '../errors.js';
import { newId } from '../ids.js';
import { findAgentRow, type AgentRow } from '../store/agent-rows.js';
import { afterCursor, page } from '../store/pagination.js';
import { sql } from '../store/sql.js';
import { asIs, asJson, setList, updateSet } from '../store/update-set.js';
import { checkAgentInput, checkFlow, checkProviders, checkSpeechToSpeech } from './agent-checks.js';
import { encryptSecrets, PROVIDER_KINDS, readProviderSecrets, splitProvider, type ProviderKind, type ProviderSecrets } from './provider-secrets.js';

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
    machine_detection: r.machine_detection ?? null,
    voicemail: r.voicemail ?? null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

export async function createAgent(ctx: AppContext, orgId: string, input: AgentCreate): Promise<Agent> {
  checkAgentInput(ctx, input);
  checkFlow(input.flow, input.tools ?? []);
  checkProviders(input);
  checkSpeechToSpeech(input.speech_to_speech ?? null, input.flow ?? null, input.conversation);
  const providers = Object.fromEntries(PROVIDER_KINDS.map((k) => [k, splitProvider(k, input[k] ?? null)])) as Record<
    ProviderKind,
    ReturnType<typeof splitProvider>
  >;
  const secrets: ProviderSecrets = {};
  for (const k of PROVIDER_KINDS) Object.assign(secrets, providers[k].keys);
  const r = await ctx.db.query<AgentRow>(sql`insert into agents
    (id, org_id, name, kind, system_prompt, greeting, language, voice, stt, llm, tts, speech_to_speech, provider_secrets_enc, tools,
     webhook_url, max_cps, max_concurrent_calls, on_limit, flow, conversation, machine_detection, voicemail)
    values (${newId('agt')}, ${orgId}, ${input.name}, ${input.kind ?? 'voice'}, ${input.system_prompt ?? ''},
      ${input.greeting ?? ''}, ${input.language ?? 'en-US'}, ${input.voice ?? null},
      ${asJson(providers.stt.shown)}, ${asJson(providers.llm.shown)}, ${asJson(providers.tts.shown)}, ${asJson(providers.speech_to_speech.shown)},
      ${encryptSecrets(ctx, secrets)}, ${JSON.stringify(input.tools ?? [])}, ${input.webhook_url ?? null},
      ${input.max_cps ?? 1}, ${input.max_concurrent_calls ?? null}, ${input.on_limit ?? 'queue'}, ${asJson(input.flow ?? null)},
      ${asJson(input.conversation ?? null)}, ${asJson(input.machine_detection ?? null)}, ${asJson(input.voicemail ?? null)})
    returning *`);
  return toAgent(r.rows[0] as AgentRow);
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
    if (patch.flow !== undefined || patch.speech_to_speech !== undefined || patch.conversation !== undefined) {
      checkSpeechToSpeech(
        patch.speech_to_speech !== undefined ? patch.speech_to_speech : row.speech_to_speech,
        patch.flow !== undefined ? patch.flow : row.flow,
        patch.conversation !== undefined ? patch.conversation : row.conversation,
      );
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
      machine_detection: asJson,
      voicemail: asJson,
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
    // Calls to its numbers are no longer answered (404) rather than answered by a deleted agent.
    await tx.query(sql`update phone_numbers set inbound_agent_id = null, updated_at = now()
      where org_id = ${orgId} and inbound_agent_id = ${id}`);
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
