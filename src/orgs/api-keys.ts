import type { AppContext } from '../app-context.js';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../crypto/api-keys.js';
import { OutcallError } from '../errors.js';
import { newId } from '../ids.js';
import { sql } from '../store/sql.js';

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

function toKey(r: KeyRow) {
  return { id: r.id, name: r.name, prefix: r.prefix, created_at: r.created_at.toISOString(), revoked_at: r.revoked_at?.toISOString() ?? null };
}

export async function listApiKeys(ctx: AppContext, orgId: string) {
  const r = await ctx.db.query<KeyRow>(sql`select id, name, prefix, created_at, revoked_at from api_keys
    where org_id = ${orgId} order by created_at desc, id desc`);
  return { data: r.rows.map(toKey) };
}

/** A new key for the organization. The key itself is in this answer only: we keep its hash. */
export async function issueApiKey(ctx: AppContext, orgId: string, name: string) {
  const key = generateApiKey();
  const r = await ctx.db.query<KeyRow>(sql`insert into api_keys (id, org_id, key_hash, prefix, name)
    values (${newId('key')}, ${orgId}, ${hashApiKey(key)}, ${apiKeyPrefix(key)}, ${name})
    returning id, name, prefix, created_at, revoked_at`);
  return { ...toKey(r.rows[0] as KeyRow), key };
}

/**
 * Revokes a key at once (every request looks the key up, nothing caches it). The last active key
 * of an organization cannot be revoked: that would lock the organization out of its own API.
 */
export async function revokeApiKey(ctx: AppContext, orgId: string, id: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const active = await tx.query<{ id: string }>(
      sql`select id from api_keys where org_id = ${orgId} and revoked_at is null order by id for update`,
    );
    if (!active.rows.some((r) => r.id === id)) {
      const any = await tx.query(sql`select 1 from api_keys where org_id = ${orgId} and id = ${id}`);
      if (any.rowCount === 0) throw new OutcallError('api_key_not_found', `no API key ${id}`, 'id');
      return; // already revoked: revoking again changes nothing
    }
    if (active.rows.length === 1) {
      throw new OutcallError('last_api_key', 'this is the organization\'s last active API key: create another before revoking it', 'id');
    }
    await tx.query(sql`update api_keys set revoked_at = ${ctx.now()} where org_id = ${orgId} and id = ${id}`);
  });
}
