import type { AppContext } from '../app-context.js';
import type { Trunk, TrunkCreate, TrunkPatch, TrunkRegistration } from '../contract/trunk.js';
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
  media_encryption: 'disabled' | 'optional' | 'required';
  inbound_addresses: string[];
  register: boolean;
  registration_expires_s: number;
  created_at: Date;
  updated_at: Date;
}

/** A trunk row with its registration's state (trunk_registrations), when it has one. */
export interface TrunkWithRegistration extends TrunkRow {
  reg_state?: TrunkRegistration['state'] | null;
  reg_expires_at?: Date | null;
  reg_last_error?: string | null;
  reg_last_success_at?: Date | null;
}

/** Trunk columns plus its registration's, for reads that answer with a Trunk. */
const SELECT_TRUNK = sql`select t.*, r.state as reg_state, r.expires_at as reg_expires_at, r.last_error as reg_last_error,
  r.last_success_at as reg_last_success_at
  from trunks t left join trunk_registrations r on r.trunk_id = t.id`;

function registrationOf(r: TrunkWithRegistration): TrunkRegistration | null {
  if (!r.register) return null;
  return {
    state: r.reg_state ?? 'pending',
    expires_at: r.reg_expires_at ? r.reg_expires_at.toISOString() : null,
    last_error: r.reg_last_error ?? null,
    last_success_at: r.reg_last_success_at ? r.reg_last_success_at.toISOString() : null,
  };
}

export function toTrunk(r: TrunkWithRegistration): Trunk {
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
    media_encryption: r.media_encryption,
    inbound_addresses: r.inbound_addresses,
    register: r.register,
    registration_expires_s: r.registration_expires_s,
    registration: registrationOf(r),
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

/**
 * A registration needs the user of the address it registers (the trunk's username), and a transport
 * the registrar can reach us back on: udp, or tcp (our listening port). Over tls the worker only opens
 * connections (it has no certificate), so calls could come back only on the registration's own
 * connection (RFC 5626 flows), which is not built.
 */
function checkRegistration(t: { register: boolean; username: string | null; transport: TrunkRow['transport'] }): void {
  if (!t.register) return;
  if (t.username === null) throw new OutcallError('registration_not_possible', 'register needs a username: the user of the address-of-record the registrar keeps', 'username');
  if (t.transport === 'tls') throw new OutcallError('registration_not_possible', 'register works over udp or tcp; over tls calls could not reach this server', 'transport');
}

export async function createTrunk(ctx: AppContext, orgId: string, input: TrunkCreate): Promise<Trunk> {
  const id = newId('trk');
  const ranges = checkedRanges(input.inbound_addresses) ?? [];
  const transport = input.transport ?? 'udp';
  checkRegistration({ register: input.register ?? false, username: input.username ?? null, transport });
  const r = await ctx.db.query<TrunkRow>(sql`insert into trunks
    (id, org_id, name, host, port, transport, username, password_enc, default_caller_id, max_cps, max_concurrent_calls, tls_ca_pem, codecs, inbound_addresses,
      register, registration_expires_s, media_encryption)
    values (${id}, ${orgId}, ${input.name}, ${input.host}, ${input.port ?? defaultTrunkPort(transport)}, ${transport},
      ${input.username ?? null}, ${encryptPassword(ctx, input.password) ?? null}, ${input.default_caller_id ?? null},
      ${input.max_cps ?? null}, ${input.max_concurrent_calls ?? null}, ${checkedCa(input.tls_ca_pem) ?? null}, ${asJson(input.codecs ?? null)}, ${asJson(ranges)},
      ${input.register ?? false}, ${input.registration_expires_s ?? 600}, ${input.media_encryption ?? 'disabled'})
    returning *`);
  return toTrunk(r.rows[0] as TrunkRow);
}

export async function findTrunkRow(db: Queryable, orgId: string, id: string): Promise<TrunkWithRegistration | undefined> {
  const r = await db.query<TrunkWithRegistration>(sql`${SELECT_TRUNK} where t.org_id = ${orgId} and t.id = ${id} and t.deleted_at is null`);
  return r.rows[0];
}

export async function getTrunk(ctx: AppContext, orgId: string, id: string): Promise<Trunk> {
  const row = await findTrunkRow(ctx.db, orgId, id);
  if (!row) throw new OutcallError('trunk_not_found', `no trunk ${id}`, 'id');
  return toTrunk(row);
}

export async function listTrunks(ctx: AppContext, orgId: string, limit: number, cursor?: string) {
  const r = await ctx.db.query<TrunkWithRegistration>(sql`${SELECT_TRUNK} where t.org_id = ${orgId} and t.deleted_at is null
    ${afterCursor(cursor)} order by t.created_at desc, t.id desc limit ${limit + 1}`);
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
    media_encryption: asIs,
    inbound_addresses: asJson,
    register: asIs,
    registration_expires_s: asIs,
  });
  if (patch.transport !== undefined && patch.port === undefined) {
    // A port left at the old transport's default follows the new transport's (5060 <-> 5061); one set by hand stays.
    parts.push(sql`port = case when port = (case when transport = 'tls' then 5061 else 5060 end)
      then ${defaultTrunkPort(patch.transport)} else port end`);
  }
  if (patch.password !== undefined) parts.push(sql`password_enc = ${encryptPassword(ctx, patch.password) ?? null}`);
  parts.push(sql`updated_at = now()`);
  return ctx.db.transaction(async (tx) => {
    const r = await tx.query<TrunkRow>(sql`update trunks set ${setList(parts)}
      where org_id = ${orgId} and id = ${id} and deleted_at is null returning *`);
    const row = r.rows[0];
    if (!row) throw new OutcallError('trunk_not_found', `no trunk ${id}`, 'id');
    // Checked on the result, so that turning register on and setting the username in two requests
    // (or in either order in one) works; a refusal rolls the update back.
    checkRegistration(row);
    const full = await findTrunkRow(tx, orgId, id);
    return toTrunk(full ?? row);
  });
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
