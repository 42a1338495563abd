import { checkHearing } from '../calls/hearing.js';
import { findAgentRow } from '../store/agent-rows.js';
import type { AppContext } from '../app-context.js';
import type { PhoneNumber, PhoneNumberCreate, PhoneNumberPatch } from '../contract/phone-number.js';
import { OutcallError } from '../errors.js';
import { newId } from '../ids.js';
import type { Queryable } from '../store/db.js';
import { afterCursor, page } from '../store/pagination.js';
import { isUniqueViolation, violatesIndex } from '../store/pg-errors.js';
import { sql } from '../store/sql.js';
import { asIs, setList, updateSet } from '../store/update-set.js';
import { assertPublicUrl } from '../http-client/url-guard.js';

export interface PhoneNumberRow {
  id: string;
  org_id: string;
  number: string;
  trunk_id: string;
  outbound_agent_id: string | null;
  inbound_agent_id: string | null;
  inbound_webhook_url: string | null;
  inbound_webhook_timeout_ms: number | null;
  created_at: Date;
  updated_at: Date;
}

export function toPhoneNumber(r: PhoneNumberRow): PhoneNumber {
  return {
    id: r.id,
    number: r.number,
    trunk_id: r.trunk_id,
    outbound_agent_id: r.outbound_agent_id,
    inbound_agent_id: r.inbound_agent_id,
    inbound_webhook_url: r.inbound_webhook_url,
    inbound_webhook_timeout_ms: r.inbound_webhook_timeout_ms,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

/** The trunk and agent a number points at must exist in the same organization. */
async function checkReferences(tx: Queryable, orgId: string, p: { trunk_id?: string; outbound_agent_id?: string | null; inbound_agent_id?: string | null }) {
  if (p.trunk_id !== undefined) {
    const t = await tx.query(sql`select 1 from trunks where org_id = ${orgId} and id = ${p.trunk_id} and deleted_at is null`);
    if (t.rowCount === 0) throw new OutcallError('trunk_not_found', `no trunk ${p.trunk_id}`, 'trunk_id');
  }
  if (p.outbound_agent_id !== undefined && p.outbound_agent_id !== null) {
    const a = await tx.query(sql`select 1 from agents where org_id = ${orgId} and id = ${p.outbound_agent_id} and deleted_at is null`);
    if (a.rowCount === 0) throw new OutcallError('agent_not_found', `no agent ${p.outbound_agent_id}`, 'outbound_agent_id');
  }
  if (p.inbound_agent_id !== undefined && p.inbound_agent_id !== null) {
    const a = await tx.query<{ kind: string }>(sql`select kind from agents where org_id = ${orgId} and id = ${p.inbound_agent_id} and deleted_at is null`);
    if (a.rowCount === 0) throw new OutcallError('agent_not_found', `no agent ${p.inbound_agent_id}`, 'inbound_agent_id');
    if (a.rows[0]?.kind !== 'voice') throw new OutcallError('agent_cannot_place_calls', `agent ${p.inbound_agent_id} is a text agent; only voice agents answer calls`, 'inbound_agent_id');
    const agent = await findAgentRow(tx, orgId, p.inbound_agent_id);
    if (agent) checkHearing(agent, 'inbound_agent_id');
  }
}

function duplicate(err: unknown, number: string | undefined): OutcallError {
  if (violatesIndex(err, 'phone_numbers_inbound_owner')) {
    return new OutcallError('phone_number_answered_elsewhere', `another organization answers calls to ${number ?? 'this number'}: an INVITE names only the number, so one organization answers it`, 'inbound_agent_id');
  }
  return new OutcallError('phone_number_exists', `${number ?? 'that number'} is already registered`, 'number');
}

/** The inbound webhook is fetched by the platform: a private address only where allowed (SSRF). */
function checkUrls(ctx: AppContext, p: { inbound_webhook_url?: string | null }): void {
  if (p.inbound_webhook_url) assertPublicUrl(p.inbound_webhook_url, 'inbound_webhook_url', ctx.allowPrivateUrls);
}

export async function createPhoneNumber(ctx: AppContext, orgId: string, input: PhoneNumberCreate): Promise<PhoneNumber> {
  checkUrls(ctx, input);
  try {
    return await ctx.db.transaction(async (tx) => {
      await checkReferences(tx, orgId, input);
      const r = await tx.query<PhoneNumberRow>(sql`insert into phone_numbers (id, org_id, number, trunk_id, outbound_agent_id, inbound_agent_id, inbound_webhook_url, inbound_webhook_timeout_ms)
        values (${newId('pn')}, ${orgId}, ${input.number}, ${input.trunk_id}, ${input.outbound_agent_id ?? null}, ${input.inbound_agent_id ?? null},
          ${input.inbound_webhook_url ?? null}, ${input.inbound_webhook_timeout_ms ?? null}) returning *`);
      return toPhoneNumber(r.rows[0] as PhoneNumberRow);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicate(err, input.number);
    throw err;
  }
}

export async function getPhoneNumber(ctx: AppContext, orgId: string, id: string): Promise<PhoneNumber> {
  const r = await ctx.db.query<PhoneNumberRow>(
    sql`select * from phone_numbers where org_id = ${orgId} and id = ${id} and deleted_at is null`,
  );
  const row = r.rows[0];
  if (!row) throw new OutcallError('phone_number_not_found', `no phone number ${id}`, 'id');
  return toPhoneNumber(row);
}

export async function listPhoneNumbers(ctx: AppContext, orgId: string, limit: number, cursor?: string) {
  const r = await ctx.db.query<PhoneNumberRow>(sql`select * from phone_numbers where org_id = ${orgId} and deleted_at is null
    ${afterCursor(cursor)} order by created_at desc, id desc limit ${limit + 1}`);
  return page(r.rows, limit, toPhoneNumber);
}

export async function updatePhoneNumber(ctx: AppContext, orgId: string, id: string, patch: PhoneNumberPatch): Promise<PhoneNumber> {
  checkUrls(ctx, patch);
  try {
    return await ctx.db.transaction(async (tx) => {
      await checkReferences(tx, orgId, patch);
      const parts = updateSet(patch, { number: asIs, trunk_id: asIs, outbound_agent_id: asIs, inbound_agent_id: asIs, inbound_webhook_url: asIs, inbound_webhook_timeout_ms: asIs });
      parts.push(sql`updated_at = now()`);
      const r = await tx.query<PhoneNumberRow>(sql`update phone_numbers set ${setList(parts)}
        where org_id = ${orgId} and id = ${id} and deleted_at is null returning *`);
      const row = r.rows[0];
      if (!row) throw new OutcallError('phone_number_not_found', `no phone number ${id}`, 'id');
      return toPhoneNumber(row);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicate(err, patch.number);
    throw err;
  }
}

export async function deletePhoneNumber(ctx: AppContext, orgId: string, id: string): Promise<void> {
  const r = await ctx.db.query(
    sql`update phone_numbers set deleted_at = now() where org_id = ${orgId} and id = ${id} and deleted_at is null`,
  );
  if (r.rowCount === 0) throw new OutcallError('phone_number_not_found', `no phone number ${id}`, 'id');
}
