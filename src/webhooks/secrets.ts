import type { AppContext } from '../app-context.js';
import { OutcallError } from '../errors.js';
import { newId } from '../ids.js';
import type { Queryable } from '../store/db.js';
import { sql } from '../store/sql.js';
import { generateWebhookSecret } from '../http-client/signing.js';

export interface WebhookSecretView {
  id: string;
  secret: string;
  created_at: string;
  expires_at: string | null;
}

interface SecretRow {
  id: string;
  secret_enc: string;
  created_at: Date;
  expires_at: Date | null;
}

function box(ctx: AppContext) {
  if (!ctx.secrets) throw new OutcallError('secret_key_missing', 'set OUTCALL_SECRET_KEY: webhook signing secrets are stored encrypted');
  return ctx.secrets;
}

async function activeRows(db: Queryable, orgId: string, now: Date): Promise<SecretRow[]> {
  const r = await db.query<SecretRow>(sql`select id, secret_enc, created_at, expires_at from webhook_secrets
    where org_id = ${orgId} and (expires_at is null or expires_at > ${now}) order by created_at desc, id desc`);
  return r.rows;
}

async function insertSecret(ctx: AppContext, db: Queryable, orgId: string): Promise<void> {
  await db.query(sql`insert into webhook_secrets (id, org_id, secret_enc) values (${newId('whs')}, ${orgId}, ${box(ctx).encrypt(generateWebhookSecret())})`);
}

/**
 * The organization's valid signing secrets, newest first; creates the first one on demand. Every
 * valid secret signs each delivery, so receivers keep verifying while they switch after a rotation.
 */
export async function signingSecrets(ctx: AppContext, orgId: string): Promise<string[]> {
  let rows = await activeRows(ctx.db, orgId, ctx.now());
  if (rows.length === 0) {
    await insertSecret(ctx, ctx.db, orgId);
    rows = await activeRows(ctx.db, orgId, ctx.now());
  }
  return rows.map((r) => box(ctx).decrypt(r.secret_enc));
}

export async function listSecrets(ctx: AppContext, orgId: string): Promise<{ data: WebhookSecretView[] }> {
  await signingSecrets(ctx, orgId);
  const rows = await activeRows(ctx.db, orgId, ctx.now());
  return {
    data: rows.map((r) => ({
      id: r.id,
      secret: box(ctx).decrypt(r.secret_enc),
      created_at: r.created_at.toISOString(),
      expires_at: r.expires_at?.toISOString() ?? null,
    })),
  };
}

/** A new secret signs from now on; older ones stay valid for the grace period, then expire. */
export async function rotateSecret(ctx: AppContext, orgId: string, graceS: number): Promise<{ data: WebhookSecretView[] }> {
  const now = ctx.now();
  await ctx.db.transaction(async (tx) => {
    await tx.query(sql`update webhook_secrets set expires_at = ${new Date(now.getTime() + graceS * 1000)}
      where org_id = ${orgId} and (expires_at is null or expires_at > ${new Date(now.getTime() + graceS * 1000)})`);
    await insertSecret(ctx, tx, orgId);
  });
  return listSecrets(ctx, orgId);
}
