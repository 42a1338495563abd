import { createHash } from 'node:crypto';
import type { AppContext } from '../app-context.js';
import type { OutboundCallCreate } from '../contract/call.js';
import { assertCanStartNow } from './limits.js';
import { OutcallError } from '../errors.js';
import { newId } from '../ids.js';
import type { Queryable } from '../store/db.js';
import { isUniqueViolation } from '../store/pg-errors.js';
import { CALLS_QUEUED_CHANNEL } from '../store/channels.js';
import { sql } from '../store/sql.js';
import { assertPublicUrl } from '../http-client/url-guard.js';
import { METADATA_MAX_BYTES } from '../contract/call-defaults.js';
import { checkOverrides } from './agent-overrides.js';
import { optionsFrom, toCall, type CallRow } from './call-object.js';
import { callMachineSettings } from './machine-detection.js';
import { fillTemplate, missingVariables } from '../contract/templates.js';
import { findAgentRow } from '../store/agent-rows.js';
import { checkHearing } from './hearing.js';
import { resolveOrigin } from './resolve-from.js';
import { JsonScanError, uniqueMembers } from '../contract/json-scan.js';

const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface CreateCallResult {
  call: ReturnType<typeof toCall>;
  /** True when an Idempotency-Key replay returned an existing call. */
  replayed: boolean;
}

/** Key order must not change the hash: two bodies that mean the same thing are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The request's identity for Idempotency-Key. A per-call SIP password enters only as a keyed
 * fingerprint (HMAC under the secret key): the stored hash must not be a fast offline test of it.
 */
export function requestHash(agentId: string, body: OutboundCallCreate, fingerprint: (secret: string) => string): string {
  const hashed = body.sip_auth_password === undefined ? body : { ...body, sip_auth_password: fingerprint(body.sip_auth_password) };
  return createHash('sha256').update(agentId).update('\n').update(canonical(hashed)).digest('hex');
}

/** A call's own digest credentials: both or neither, and only with a key to encrypt the password. */
function sipAuth(ctx: AppContext, body: OutboundCallCreate): { username: string; passwordEnc: string } | null {
  const { sip_auth_username: username, sip_auth_password: password } = body;
  if (username === undefined && password === undefined) return null;
  if (username === undefined) throw new OutcallError('missing_field', 'sip_auth_password needs sip_auth_username', 'sip_auth_username');
  if (password === undefined) throw new OutcallError('missing_field', 'sip_auth_username needs sip_auth_password', 'sip_auth_password');
  if (!ctx.secrets) {
    throw new OutcallError('secret_key_missing', 'set OUTCALL_SECRET_KEY to pass sip_auth_password (it is stored encrypted until the call is dialed)', 'sip_auth_password');
  }
  return { username, passwordEnc: ctx.secrets.encrypt(password) };
}

/** Everything about the request that can be checked before touching the store; returns the metadata's text. */
function checkBody(ctx: AppContext, body: OutboundCallCreate, rawBody: string | undefined): string | null {
  const metadataText = metadataTextOf(body, rawBody);
  if (metadataText !== null && Buffer.byteLength(metadataText, 'utf8') > METADATA_MAX_BYTES) {
    throw new OutcallError('metadata_too_large', `metadata is ${Buffer.byteLength(metadataText, 'utf8')} bytes; the limit is 16 KB`, 'metadata');
  }
  if (body.callback_url) assertPublicUrl(body.callback_url, 'callback_url', ctx.allowPrivateUrls);
  if (body.status_callback) checkStatusCallback(ctx, body.status_callback);
  if (body.record?.status_callback) assertPublicUrl(body.record.status_callback.url, 'record.status_callback.url', ctx.allowPrivateUrls);
  // One side is one channel: dual (callee left, agent right) would leave a channel that is never written.
  if (body.record?.channels === 'dual' && body.record.track !== undefined && body.record.track !== 'both') {
    throw new OutcallError('conflicting_fields', `record.track "${body.record.track}" records one side: use channels "mono" (dual needs track "both")`, 'record.track');
  }
  if (body.scheduled_at !== undefined && Number.isNaN(Date.parse(body.scheduled_at))) {
    throw new OutcallError('invalid_request', '"scheduled_at" is not a valid date-time', 'scheduled_at');
  }
  return metadataText;
}

/** status_callback: exactly one of url and urls, each URL public (unless private URLs are allowed). */
function checkStatusCallback(ctx: AppContext, sc: NonNullable<OutboundCallCreate['status_callback']>): void {
  if (sc.url !== undefined && sc.urls !== undefined) {
    throw new OutcallError('invalid_request', 'give status_callback.url or status_callback.urls, not both', 'status_callback.urls');
  }
  if (sc.url === undefined && sc.urls === undefined) {
    throw new OutcallError('missing_field', 'status_callback needs url (or urls)', 'status_callback.url');
  }
  if (sc.url !== undefined) assertPublicUrl(sc.url, 'status_callback.url', ctx.allowPrivateUrls);
  sc.urls?.forEach((u, i) => assertPublicUrl(u, `status_callback.urls[${i}]`, ctx.allowPrivateUrls));
}

/**
 * The metadata's JSON text as the client sent it: the raw text of the body's top-level `metadata`
 * member (contract/json-scan.ts), so numbers and escapes reach the call and its webhooks unchanged.
 * Without the raw body (a caller inside the process) it is the value serialized.
 */
function metadataTextOf(body: OutboundCallCreate, rawBody: string | undefined): string | null {
  if (rawBody === undefined) return body.metadata === undefined ? null : JSON.stringify(body.metadata);
  let members: Map<string, string>;
  try {
    members = uniqueMembers(rawBody);
  } catch (err) {
    if (err instanceof JsonScanError && err.duplicate !== undefined) {
      // RFC 8259 §4: with a name given twice, which value counts is up to the parser. Refuse rather than guess.
      throw new OutcallError('invalid_request', `the body gives "${err.duplicate}" twice; each field may appear once`, err.duplicate);
    }
    throw new OutcallError('invalid_json', `the body is not a JSON object: ${(err as Error).message}`);
  }
  const raw = members.get('metadata');
  // `"metadata": null` is no metadata, as it was before the raw text was kept.
  if (raw === undefined || raw === 'null') return null;
  return raw;
}


async function readCall(tx: Queryable, orgId: string, id: string): Promise<CallRow | undefined> {
  const r = await tx.query<CallRow>(sql`select * from calls where org_id = ${orgId} and id = ${id}`);
  return r.rows[0];
}

/**
 * Accepts an outbound call: validates it against the agent and the organization's numbers, then
 * writes the call, its first event and (with an Idempotency-Key) the key, in one transaction, so an
 * error leaves nothing behind. The same key with the same body within 24 h returns the same call.
 */
export async function createOutboundCall(
  ctx: AppContext,
  orgId: string,
  agentId: string,
  body: OutboundCallCreate,
  idempotencyKey: string | undefined,
  /** The request body as received, when it came over HTTP: metadata is kept from it byte for byte. */
  rawBody?: string,
): Promise<CreateCallResult> {
  const metadataText = checkBody(ctx, body, rawBody);
  const agent = await findAgentRow(ctx.db, orgId, agentId);
  if (!agent) throw new OutcallError('agent_not_found', `no agent ${agentId}`, 'agentId');
  if (agent.kind !== 'voice') {
    throw new OutcallError('agent_cannot_place_calls', `agent ${agentId} is a text agent; only voice agents place calls`, 'agentId');
  }
  checkOverrides(agent, body.agent_overrides);
  checkHearing(agent);
  const vars = body.dynamic_variables ?? {};
  const missing = missingVariables([agent.system_prompt, agent.greeting], vars);
  if (missing.length > 0) {
    throw new OutcallError(
      'missing_dynamic_variable',
      `the agent's prompt or greeting uses {{${missing.join('}}, {{')}}} but dynamic_variables does not give ${missing.length > 1 ? 'them' : 'it'}`,
      `dynamic_variables.${missing[0]}`,
    );
  }
  const machine = callMachineSettings(body, {
    machine_detection: agent.machine_detection ?? null,
    voicemail: agent.voicemail ?? null,
    converses: (agent.flow !== undefined && agent.flow !== null) || agent.llm !== null || agent.speech_to_speech !== null,
    greets: agent.greeting !== null && fillTemplate(agent.greeting, vars).trim() !== '',
  });
  const auth = sipAuth(ctx, body);
  const secrets = ctx.secrets;
  const hash = idempotencyKey === undefined ? undefined : requestHash(agentId, body, (p) => (secrets ? secrets.fingerprint(p) : p));
  const now = ctx.now();
  try {
    return await ctx.db.transaction(async (tx) => {
      const id = body.call_id ?? newId('call');
      if (idempotencyKey !== undefined && hash !== undefined) {
        const prior = await claimIdempotencyKey(tx, orgId, idempotencyKey, hash, id, now);
        if (prior !== undefined) return prior;
      }
      const from = await resolveOrigin(tx, orgId, agentId, body);
      // RFC 3261 §26.2.2: a sips: target is reached over TLS on every hop, the first one included.
      if (/^sips:/i.test(body.to) && from.transport !== 'tls') {
        throw new OutcallError('sips_requires_tls', `${body.to} is a sips: URI, but trunk ${from.trunkId} uses ${from.transport}; call it over a tls trunk`, 'to');
      }
      const scheduledAt = body.scheduled_at ? new Date(body.scheduled_at) : now;
      // on_limit 'reject': refuse (429, nothing written) a call that could not start right now.
      // A call scheduled for later is not "now": it is accepted and paced when due.
      if (agent.on_limit === 'reject' && scheduledAt.getTime() <= now.getTime()) {
        await assertCanStartNow(tx, orgId, agentId, from.trunkId, now);
      }
      const r = await tx.query<CallRow>(sql`insert into calls
        (id, org_id, agent_id, agent_name, trunk_id, phone_number_id, to_address, from_number, status, options, metadata,
         call_context, dynamic_variables, scheduled_at, created_at, sip_auth_username, sip_auth_password_enc)
        values (${id}, ${orgId}, ${agentId}, ${agent.name}, ${from.trunkId}, ${from.phoneNumberId}, ${body.to}, ${from.number}, 'queued',
          ${JSON.stringify(optionsFrom(body, agent.webhook_url, machine))}, ${metadataText}, ${body.call_context ?? null},
          ${JSON.stringify(vars)}, ${scheduledAt}, ${now}, ${auth?.username ?? null}, ${auth?.passwordEnc ?? null})
        returning *`);
      await tx.query(sql`insert into call_events (org_id, call_id, from_status, to_status, terminal, at)
        values (${orgId}, ${id}, null, 'queued', false, ${now})`);
      // Wakes idle dispatchers at commit (a hint: they poll as well).
      await tx.query(sql`select pg_notify(${CALLS_QUEUED_CHANNEL}, ${id})`);
      return { call: toCall(r.rows[0] as CallRow), replayed: false };
    });
  } catch (err) {
    if (isUniqueViolation(err) && body.call_id !== undefined) {
      // The only unique key this transaction can break is the call's (org_id, id).
      throw new OutcallError('call_id_conflict', `a call with call_id ${body.call_id} already exists`, 'call_id');
    }
    throw err;
  }
}

/**
 * Records the key for this request, or finds the call an earlier request with the same key made.
 * Returns that call for a replay, undefined when this request should go on and create its call.
 * Concurrent requests with one key serialize on the primary key: the second waits for the first
 * to commit, then sees its row.
 */
async function claimIdempotencyKey(
  tx: Queryable,
  orgId: string,
  key: string,
  hash: string,
  callId: string,
  now: Date,
): Promise<CreateCallResult | undefined> {
  const ins = await tx.query(sql`insert into idempotency_keys (org_id, key, request_hash, call_id, created_at)
    values (${orgId}, ${key}, ${hash}, ${callId}, ${now}) on conflict (org_id, key) do nothing`);
  if (ins.rowCount > 0) return undefined;
  const r = await tx.query<{ request_hash: string; call_id: string; created_at: Date }>(
    sql`select request_hash, call_id, created_at from idempotency_keys where org_id = ${orgId} and key = ${key} for update`,
  );
  const prior = r.rows[0];
  if (!prior) throw new Error('idempotency key vanished while locked');
  if (now.getTime() - prior.created_at.getTime() > IDEMPOTENCY_WINDOW_MS) {
    // The old use has expired: the key starts a new request.
    await tx.query(sql`update idempotency_keys set request_hash = ${hash}, call_id = ${callId}, created_at = ${now}
      where org_id = ${orgId} and key = ${key}`);
    return undefined;
  }
  if (prior.request_hash !== hash) {
    throw new OutcallError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request body', 'Idempotency-Key');
  }
  const call = await readCall(tx, orgId, prior.call_id);
  if (!call) throw new Error(`idempotency key points at missing call ${prior.call_id}`);
  return { call: toCall(call), replayed: true };
}
