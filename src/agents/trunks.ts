import type { AppContext } from '../app-context.js';
import type { Trunk, TrunkCreate, TrunkPatch } from '../contract/trunk.js';
import { OutcallError } from '../errors.js';
import { newId } from '../ids.js';
import type { Queryable } from '../store/db.js';
import { afterCursor, page } from '../store/pagination.js';
import { sql } from '../store/sql.js';
import { asIs, asJson, setList, updateSet } from '../store/update-set.js';
import { parseCaBundle, summarizeCaBundle } from './tls-ca.js';
import { parseRange } from './address-ranges.js';

export interface TrunkRow {
  id: string;
  org_id: string;
  name: string;
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  username: string | null;
  password_enc: string | null;
  default_caller_id: string | null;
  max_cps: number | null;
  max_concurrent_calls: number | null;
  tls_ca_pem: string | null;
  codecs: string[] | null;
  inbound_addresses: string[];
  created_at: Date;
  updated_at: Date;
}

export function toTrunk(r: TrunkRow): Trunk {
  return {
    id: r.id,
    name: r.name,
    host: r.host,
    port: r.port,
    transport: r.transport,
    username: r.username,
    has_password: r.password_enc !== null,
    default_caller_id: r.default_caller_id,
    max_cps: r.max_cps,
    max_concurrent_calls: r.max_concurrent_calls,
    tls_ca_certificates: summarizeCaBundle(r.tls_ca_pem),
    codecs: r.codecs,
    inbound_addresses: r.inbound_addresses,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

function encryptPassword(ctx: AppContext, password: string | null | undefined): string | null | undefined {
  if (password === undefined || password === null) return password;
  if (!ctx.secrets) {
    throw new OutcallError('secret_key_missing', 'set OUTCALL_SECRET_KEY to store trunk passwords (they are encrypted at rest)', 'password');
  }
  return ctx.secrets.encrypt(password);
}

/** The port a trunk uses when it names none: 5061 for TLS, else 5060 (RFC 3261 §19.1.2). */
export function defaultTrunkPort(transport: TrunkRow['transport']): number {
  return transport === 'tls' ? 5061 : 5060;
}

/** A CA bundle must parse before it is stored (422 invalid_tls_ca); null clears it. */
function checkedCa(pem: string | null | undefined): string | null | undefined {
  if (pem !== undefined && pem !== null) parseCaBundle(pem);
  return pem;
}

/** Each inbound address must be an address or a CIDR range (400 invalid_request naming the entry). */
function checkedRanges(ranges: string[] | undefined): string[] | undefined {
  ranges?.forEach((r, i) => {
    if (!parseRange(r)) throw new OutcallError('invalid_request', `${JSON.stringify(r)} is not an IP address or CIDR range (e.g. 198.51.100.0/24)`, `inbound_addresses[${i}]`);
  });
  return ranges?.map((r) => r.trim());
}

export async function createTrunk(ctx: AppContext, orgId: string, input: TrunkCreate): Promise<Trunk> {
  const id = newId('trk');
  const ranges = checkedRanges(input.inbound_addresses) ?? [];
  const transport = input.transport ?? 'udp';
  const r = await ctx.db.query<TrunkRow>(sql`insert into trunks
    (id, org_id, name, host, port, transport, username, password_enc, default_caller_id, max_cps, max_concurrent_calls, tls_ca_pem, codecs, inbound_addresses)
    values (${id}, ${orgId}, ${input.name}, ${input.host}, ${input.port ?? defaultTrunkPort(transport)}, ${transport},
      ${input.username ?? null}, ${encryptPassword(ctx, input.password) ?? null}, ${input.default_caller_id ?? null},
      ${input.max_cps ?? null}, ${input.max_concurrent_calls ?? null}, ${checkedCa(input.tls_ca_pem) ?? null}, ${asJson(input.codecs ?? null)}, ${asJson(ranges)})
    returning *`);
  return toTrunk(r.rows[0] as TrunkRow);
}

export async function findTrunkRow(db: Queryable, orgId: string, id: string): Promise<TrunkRow | undefined> {
  const r = await db.query<TrunkRow>(sql`select * from trunks where org_id = ${orgId} and id = ${id} and deleted_at is null`);
  return r.rows[0];
}

export async function getTrunk(ctx: AppContext, orgId: string, id: string): Promise<Trunk> {
  const row = await findTrunkRow(ctx.db, orgId, id);
  if (!row) throw new OutcallError('trunk_not_found', `no trunk ${id}`, 'id');
  return toTrunk(row);
}

export async function listTrunks(ctx: AppContext, orgId: string, limit: number, cursor?: string) {
  const r = await ctx.db.query<TrunkRow>(sql`select * from trunks where org_id = ${orgId} and deleted_at is null
    ${afterCursor(cursor)} order by created_at desc, id desc limit ${limit + 1}`);
  return page(r.rows, limit, toTrunk);
}

export async function updateTrunk(ctx: AppContext, orgId: string, id: string, patch: TrunkPatch): Promise<Trunk> {
  checkedCa(patch.tls_ca_pem);
  if (patch.inbound_addresses !== undefined) patch = { ...patch, inbound_addresses: checkedRanges(patch.inbound_addresses) ?? [] };
  const parts = updateSet(patch, {
    name: asIs,
    host: asIs,
    port: asIs,
    transport: asIs,
    username: asIs,
    default_caller_id: asIs,
    max_cps: asIs,
    max_concurrent_calls: asIs,
    tls_ca_pem: asIs,
    codecs: asJson,
    inbound_addresses: asJson,
  });
  if (patch.transport !== undefined && patch.port === undefined) {
    // A port left at the old transport's default follows the new transport's (5060 <-> 5061); one set by hand stays.
    parts.push(sql`port = case when port = (case when transport = 'tls' then 5061 else 5060 end)
      then ${defaultTrunkPort(patch.transport)} else port end`);
  }
  if (patch.password !== undefined) parts.push(sql`password_enc = ${encryptPassword(ctx, patch.password) ?? null}`);
  parts.push(sql`updated_at = now()`);
  const r = await ctx.db.query<TrunkRow>(sql`update trunks set ${setList(parts)}
    where org_id = ${orgId} and id = ${id} and deleted_at is null returning *`);
  const row = r.rows[0];
  if (!row) throw new OutcallError('trunk_not_found', `no trunk ${id}`, 'id');
  return toTrunk(row);
}

/** Soft delete (calls keep pointing at it); refused while phone numbers still use the trunk. */
export async function deleteTrunk(ctx: AppContext, orgId: string, id: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const row = await tx.query(sql`select id from trunks where org_id = ${orgId} and id = ${id} and deleted_at is null for update`);
    if (row.rowCount === 0) throw new OutcallError('trunk_not_found', `no trunk ${id}`, 'id');
    const used = await tx.query<{ n: number }>(
      sql`select count(*)::int as n from phone_numbers where org_id = ${orgId} and trunk_id = ${id} and deleted_at is null`,
    );
    const n = Number(used.rows[0]?.n ?? 0);
    if (n > 0) throw new OutcallError('trunk_in_use', `${n} phone number(s) still use trunk ${id}; move or delete them first`, 'id');
    await tx.query(sql`update trunks set deleted_at = now() where org_id = ${orgId} and id = ${id}`);
  });
}
