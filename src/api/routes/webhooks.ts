import { Type, type Static } from 'typebox';
import type { AppContext } from '../../app-context.js';
import { DELIVERY_STATUSES, listDeliveries, redeliver, type DeliveryStatus } from '../../webhooks/deliveries.js';
import { listSecrets, rotateSecret } from '../../webhooks/secrets.js';
import type { App } from '../app-type.js';
import { listOf, Nullable, security, Timestamp } from '../../contract/common.js';

const Delivery = Type.Object({
  id: Type.String(),
  webhook_id: Type.String({ description: 'the webhook-id header: the event id receivers de-duplicate on' }),
  call_id: Nullable(Type.String()),
  type: Type.String(),
  url: Type.String(),
  method: Type.String(),
  status: Type.Enum(DELIVERY_STATUSES),
  attempts: Type.Integer(),
  next_attempt_at: Nullable(Timestamp),
  last_attempt_at: Nullable(Timestamp),
  last_status_code: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  delivered_at: Nullable(Timestamp),
  created_at: Timestamp,
});

const DeliveryQuery = Type.Object(
  {
    call_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    status: Type.Optional(Type.Enum(DELIVERY_STATUSES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

const Secret = Type.Object({
  id: Type.String(),
  secret: Type.String({ description: 'whsec_... (Standard Webhooks); verify webhook-signature with it' }),
  created_at: Timestamp,
  expires_at: Nullable(Timestamp),
});

const RotateBody = Type.Object(
  { grace_period_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86400, default: 86400 })) },
  { additionalProperties: false },
);

export function webhookRoutes(app: App, ctx: AppContext): void {
  const tags = ['webhooks'];
  app.get(
    '/v1/webhook-deliveries',
    { schema: { tags, security, summary: 'Webhook deliveries, newest first, with attempts and outcome', querystring: DeliveryQuery, response: { 200: listOf(Delivery) } } },
    async (req) => {
      const q = req.query as Static<typeof DeliveryQuery>;
      return listDeliveries(ctx, req.orgId, {
        limit: q.limit ?? 50,
        ...(q.call_id ? { call_id: q.call_id } : {}),
        ...(q.status ? { status: q.status as DeliveryStatus } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
    },
  );
  app.post(
    '/v1/webhook-deliveries/:id/redeliver',
    {
      schema: {
        tags,
        security,
        summary: 'Send the event again (same webhook-id) as a new delivery',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        response: { 202: Delivery },
      },
    },
    async (req, reply) => reply.code(202).send(await redeliver(ctx, req.orgId, (req.params as { id: string }).id)),
  );
  app.get(
    '/v1/webhook-secrets',
    { schema: { tags, security, summary: 'The valid webhook signing secrets, newest first', response: { 200: Type.Object({ data: Type.Array(Secret) }) } } },
    async (req) => listSecrets(ctx, req.orgId),
  );
  app.post(
    '/v1/webhook-secrets/rotate',
    {
      schema: {
        tags,
        security,
        summary: 'Start signing with a new secret; older ones stay valid for grace_period_s',
        body: Type.Optional(RotateBody),
        response: { 200: Type.Object({ data: Type.Array(Secret) }) },
      },
    },
    async (req) => rotateSecret(ctx, req.orgId, (req.body as Static<typeof RotateBody> | undefined)?.grace_period_s ?? 86400),
  );
}
