import type { AppContext } from '../app-context.js';
import { OutcallError } from '../errors.js';
import { newId } from '../ids.js';
import { afterCursor, page } from '../store/pagination.js';
import { sql } from '../store/sql.js';
import { WEBHOOKS_CHANNEL } from '../store/channels.js';

export const DELIVERY_STATUSES = ['pending', 'delivering', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

interface DeliveryRow {
  id: string;
  event_id: string;
  call_id: string | null;
  type: string;
  url: string;
  method: 'POST' | 'GET';
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function toDelivery(r: DeliveryRow) {
  return {
    id: r.id,
    webhook_id: r.event_id,
    call_id: r.call_id,
    type: r.type,
    url: r.url,
    method: r.method,
    status: r.status,
    attempts: Number(r.attempts),
    next_attempt_at: r.status === 'pending' || r.status === 'delivering' ? r.next_attempt_at.toISOString() : null,
    last_attempt_at: iso(r.last_attempt_at),
    last_status_code: r.last_status_code,
    last_error: r.last_error,
    delivered_at: iso(r.delivered_at),
    created_at: r.created_at.toISOString(),
  };
}

const SELECT = sql`select d.id, d.event_id, e.call_id, e.type, d.url, d.method, d.status, d.attempts, d.next_attempt_at,
  d.last_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.created_at
  from webhook_deliveries d join webhook_events e on e.id = d.event_id`;

export async function listDeliveries(ctx: AppContext, orgId: string, q: { call_id?: string; status?: DeliveryStatus; limit: number; cursor?: string }) {
  const byCall = q.call_id === undefined ? sql`` : sql`and e.call_id = ${q.call_id}`;
  const byStatus = q.status === undefined ? sql`` : sql`and d.status = ${q.status}`;
  // afterCursor compares (created_at, id): qualify them for the join.
  const r = await ctx.db.query<DeliveryRow>(sql`select * from (${SELECT} where d.org_id = ${orgId} ${byCall} ${byStatus}) x
    where true ${afterCursor(q.cursor)} order by created_at desc, id desc limit ${q.limit + 1}`);
  return page(r.rows, q.limit, toDelivery);
}

/**
 * Sends an event again: a new delivery of the same event (same webhook-id, so receivers that
 * already have it de-duplicate), with a fresh retry window. The old delivery's history stays.
 */
export async function redeliver(ctx: AppContext, orgId: string, deliveryId: string) {
  const now = ctx.now();
  return ctx.db.transaction(async (tx) => {
    const r = await tx.query<{ event_id: string; url: string; method: string }>(
      sql`select event_id, url, method from webhook_deliveries where org_id = ${orgId} and id = ${deliveryId}`,
    );
    const old = r.rows[0];
    if (!old) throw new OutcallError('delivery_not_found', `no webhook delivery ${deliveryId}`, 'id');
    const id = newId('dlv');
    await tx.query(sql`insert into webhook_deliveries (id, org_id, event_id, url, method, status, next_attempt_at, created_at)
      values (${id}, ${orgId}, ${old.event_id}, ${old.url}, ${old.method}, 'pending', ${now}, ${now})`);
    await tx.query(sql`select pg_notify(${WEBHOOKS_CHANNEL}, ${old.event_id})`);
    const row = await tx.query<DeliveryRow>(sql`${SELECT} where d.id = ${id}`);
    return toDelivery(row.rows[0] as DeliveryRow);
  });
}
