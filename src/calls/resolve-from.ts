/**
 * Which number a call comes from, and so which trunk it goes over:
 * - `from` given: that registered number and its trunk; a `trunk_id` naming another trunk is 422.
 * - else `trunk_id` given: the agent's number on that trunk (its oldest, if several), else the
 *   trunk's `default_caller_id` (the call then has no phone number row), else 422 no_from_number.
 * - else: the agent's number (a number whose outbound_agent_id is the agent; its oldest).
 */
import { OutcallError } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { sql } from '../store/sql.js';

export interface CallOrigin {
  /** The phone number row, or null for a trunk's default caller id. */
  phoneNumberId: string | null;
  number: string;
  trunkId: string;
  transport: 'udp' | 'tcp' | 'tls';
}

interface NumberRow {
  id: string;
  number: string;
  trunk_id: string;
  transport: CallOrigin['transport'];
}

const origin = (r: NumberRow): CallOrigin => ({ phoneNumberId: r.id, number: r.number, trunkId: r.trunk_id, transport: r.transport });

export async function resolveOrigin(
  tx: Queryable,
  orgId: string,
  agentId: string,
  req: { from?: string | undefined; trunk_id?: string | undefined },
): Promise<CallOrigin> {
  if (req.from !== undefined) {
    const r = await tx.query<NumberRow>(sql`select p.id, p.number, p.trunk_id, t.transport from phone_numbers p
      join trunks t on t.org_id = p.org_id and t.id = p.trunk_id
      where p.org_id = ${orgId} and p.number = ${req.from} and p.deleted_at is null`);
    const row = r.rows[0];
    if (!row) throw new OutcallError('phone_number_not_found', `${req.from} is not a phone number of this organization; register it first`, 'from');
    if (req.trunk_id !== undefined && req.trunk_id !== row.trunk_id) {
      throw new OutcallError('trunk_mismatch', `${req.from} is on trunk ${row.trunk_id}, not ${req.trunk_id}: omit trunk_id or pass that trunk`, 'trunk_id');
    }
    return origin(row);
  }
  if (req.trunk_id !== undefined) return fromTrunk(tx, orgId, agentId, req.trunk_id);
  const r = await tx.query<NumberRow>(sql`select p.id, p.number, p.trunk_id, t.transport from phone_numbers p
    join trunks t on t.org_id = p.org_id and t.id = p.trunk_id
    where p.org_id = ${orgId} and p.outbound_agent_id = ${agentId} and p.deleted_at is null
    order by p.created_at, p.id limit 1`);
  const row = r.rows[0];
  if (!row) {
    throw new OutcallError('no_from_number', `no phone number has agent ${agentId} as its outbound agent: pass "from", or "trunk_id" of a trunk with a default_caller_id, or set outbound_agent_id on a number`, 'from');
  }
  return origin(row);
}

async function fromTrunk(tx: Queryable, orgId: string, agentId: string, trunkId: string): Promise<CallOrigin> {
  const t = await tx.query<{ default_caller_id: string | null; transport: CallOrigin['transport'] }>(sql`select default_caller_id, transport from trunks
    where org_id = ${orgId} and id = ${trunkId} and deleted_at is null`);
  const trunk = t.rows[0];
  if (!trunk) throw new OutcallError('trunk_not_found', `no trunk ${trunkId}`, 'trunk_id');
  const r = await tx.query<NumberRow>(sql`select id, number, trunk_id, ${trunk.transport}::text as transport from phone_numbers
    where org_id = ${orgId} and outbound_agent_id = ${agentId} and trunk_id = ${trunkId} and deleted_at is null
    order by created_at, id limit 1`);
  const row = r.rows[0];
  if (row) return origin(row);
  if (trunk.default_caller_id !== null) {
    return { phoneNumberId: null, number: trunk.default_caller_id, trunkId, transport: trunk.transport };
  }
  throw new OutcallError('no_from_number', `agent ${agentId} has no number on trunk ${trunkId} and the trunk has no default_caller_id`, 'trunk_id');
}
