import { apiKeyPrefix, generateApiKey, hashApiKey } from '../crypto/api-keys.js';
import { newId } from '../ids.js';
import type { Queryable } from './db.js';
import { sql } from './sql.js';

export const DEFAULT_ORG_ID = 'org_default';

export async function ensureOrganization(db: Queryable, id: string, name: string): Promise<void> {
  await db.query(sql`insert into organizations (id, name) values (${id}, ${name}) on conflict (id) do nothing`);
}

export async function createOrganization(db: Queryable, name: string): Promise<string> {
  const id = newId('org');
  await db.query(sql`insert into organizations (id, name) values (${id}, ${name})`);
  return id;
}

/** Stores the hash of a key for an organization; returns false if that key already exists. */
export async function addApiKey(db: Queryable, orgId: string, key: string, name = ''): Promise<boolean> {
  const r = await db.query(sql`insert into api_keys (id, org_id, key_hash, prefix, name)
    values (${newId('key')}, ${orgId}, ${hashApiKey(key)}, ${apiKeyPrefix(key)}, ${name})
    on conflict (key_hash) do nothing`);
  return r.rowCount > 0;
}

export async function createApiKey(db: Queryable, orgId: string, name = ''): Promise<string> {
  const key = generateApiKey();
  await addApiKey(db, orgId, key, name);
  return key;
}

export async function countApiKeys(db: Queryable, orgId: string): Promise<number> {
  const r = await db.query<{ n: number }>(sql`select count(*)::int as n from api_keys where org_id = ${orgId} and revoked_at is null`);
  return Number(r.rows[0]?.n ?? 0);
}

/** The organization a presented key belongs to, or undefined for an unknown or revoked key. */
export async function organizationForKey(db: Queryable, key: string): Promise<string | undefined> {
  const r = await db.query<{ org_id: string }>(
    sql`select org_id from api_keys where key_hash = ${hashApiKey(key)} and revoked_at is null`,
  );
  return r.rows[0]?.org_id;
}
