import { Type, type Static } from 'typebox';
import type { AppContext } from '../../app-context.js';
import { issueApiKey, listApiKeys, revokeApiKey } from '../../orgs/api-keys.js';
import type { App } from '../app-type.js';
import { IdParams, Nullable, security, Timestamp } from '../../contract/common.js';

const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'the first characters of the key, to tell keys apart' }),
  created_at: Timestamp,
  revoked_at: Nullable(Timestamp),
});
const NewApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  created_at: Timestamp,
  revoked_at: Nullable(Timestamp),
  key: Type.String({ description: 'the key itself, shown only in this answer (stored hashed)' }),
});
const CreateBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

export function apiKeyRoutes(app: App, ctx: AppContext): void {
  const tags = ['api-keys'];
  app.get('/v1/api-keys', { schema: { tags, security, summary: "The organization's API keys (never the keys themselves)", response: { 200: Type.Object({ data: Type.Array(ApiKey) }) } } }, async (req) =>
    listApiKeys(ctx, req.orgId),
  );
  app.post(
    '/v1/api-keys',
    { schema: { tags, security, summary: 'Create an API key; the key is returned once', body: CreateBody, response: { 201: NewApiKey } } },
    async (req, reply) => reply.code(201).send(await issueApiKey(ctx, req.orgId, (req.body as Static<typeof CreateBody>).name)),
  );
  app.delete(
    '/v1/api-keys/:id',
    { schema: { tags, security, summary: 'Revoke an API key at once (not the last active one)', params: IdParams, response: { 204: Type.Null() } } },
    async (req, reply) => {
      await revokeApiKey(ctx, req.orgId, (req.params as Static<typeof IdParams>).id);
      return reply.code(204).send(null);
    },
  );
}
