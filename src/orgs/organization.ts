/**
 * The organization a key belongs to, as it sees itself: its name and its own concurrency limit,
 * which the dispatcher enforces across all its agents and trunks (src/calls/limits.ts).
 */
import type { AppContext } from '../app-context.js';
import type { Organization, OrganizationPatch } from '../contract/organization.js';
import { OutcallError } from '../errors.js';
import { CALLS_QUEUED_CHANNEL } from '../store/channels.js';
import { sql } from '../store/sql.js';
import { asIs, setList, updateSet } from '../store/update-set.js';

interface OrganizationRow {
  id: string;
  name: string;
  max_concurrent_calls: number | null;
  created_at: Date;
}

const toOrganization = (r: OrganizationRow): Organization => ({
  id: r.id,
  name: r.name,
  max_concurrent_calls: r.max_concurrent_calls,
  created_at: r.created_at.toISOString(),
});

export async function getOrganization(ctx: AppContext, orgId: string): Promise<Organization> {
  const r = await ctx.db.query<OrganizationRow>(sql`select id, name, max_concurrent_calls, created_at from organizations where id = ${orgId}`);
  const row = r.rows[0];
  // A key whose organization is gone cannot authenticate; this is a store that lost a row.
  if (!row) throw new OutcallError('internal_error', `organization ${orgId} is missing`);
  return toOrganization(row);
}

export async function updateOrganization(ctx: AppContext, orgId: string, patch: OrganizationPatch): Promise<Organization> {
  return ctx.db.transaction(async (tx) => {
    const parts = updateSet(patch, { name: asIs, max_concurrent_calls: asIs });
    const r = await tx.query<OrganizationRow>(sql`update organizations set ${setList(parts)} where id = ${orgId}
      returning id, name, max_concurrent_calls, created_at`);
    const row = r.rows[0];
    if (!row) throw new OutcallError('internal_error', `organization ${orgId} is missing`);
    // A raised (or removed) limit may let queued calls start now: wake the dispatchers at commit.
    if (patch.max_concurrent_calls !== undefined) await tx.query(sql`select pg_notify(${CALLS_QUEUED_CHANNEL}, 'limits')`);
    return toOrganization(row);
  });
}
