import type { FastifyInstance, FastifySchema } from 'fastify';
import { Type, type Static, type TObject, type TSchema } from 'typebox';
import { IdParams, ListQuery, listOf, security } from '../../contract/common.js';

import type { App } from '../app-type.js';

interface CrudSpec<C extends TObject, P extends TObject, R extends TSchema> {
  path: string;
  tag: string;
  noun: string;
  item: R;
  create: C;
  patch: P;
  ops: {
    create(orgId: string, body: Static<C>): Promise<Static<R>>;
    get(orgId: string, id: string): Promise<Static<R>>;
    list(orgId: string, limit: number, cursor?: string): Promise<{ data: Static<R>[]; next_cursor: string | null }>;
    update(orgId: string, id: string, patch: Static<P>): Promise<Static<R>>;
    remove(orgId: string, id: string): Promise<void>;
  };
}

/** The five routes every configuration resource has: create, list, get, patch, delete. */
export function crudRoutes<C extends TObject, P extends TObject, R extends TSchema>(typed: App, spec: CrudSpec<C, P, R>): void {
  // Generic over the resource, so the route types come from spec.ops rather than the type provider.
  const app = typed as unknown as FastifyInstance;
  const tags = [spec.tag];

  app.post(
    spec.path,
    { schema: { tags, security, summary: `Create a ${spec.noun}`, body: spec.create, response: { 201: spec.item } } as FastifySchema },
    async (req, reply) => reply.code(201).send(await spec.ops.create(req.orgId, req.body as Static<C>)),
  );
  app.get(
    spec.path,
    { schema: { tags, security, summary: `List ${spec.noun}s, newest first`, querystring: ListQuery, response: { 200: listOf(spec.item) } } as FastifySchema },
    async (req) => {
      const q = req.query as Static<typeof ListQuery>;
      return spec.ops.list(req.orgId, q.limit ?? 50, q.cursor);
    },
  );
  app.get(
    `${spec.path}/:id`,
    { schema: { tags, security, summary: `Get a ${spec.noun}`, params: IdParams, response: { 200: spec.item } } as FastifySchema },
    async (req) => spec.ops.get(req.orgId, (req.params as Static<typeof IdParams>).id),
  );
  app.patch(
    `${spec.path}/:id`,
    { schema: { tags, security, summary: `Update a ${spec.noun}`, params: IdParams, body: spec.patch, response: { 200: spec.item } } as FastifySchema },
    async (req) => spec.ops.update(req.orgId, (req.params as Static<typeof IdParams>).id, req.body as Static<P>),
  );
  app.delete(
    `${spec.path}/:id`,
    { schema: { tags, security, summary: `Delete a ${spec.noun}`, params: IdParams, response: { 204: Type.Null() } } as FastifySchema },
    async (req, reply) => {
      await spec.ops.remove(req.orgId, (req.params as Static<typeof IdParams>).id);
      return reply.code(204).send();
    },
  );
}
