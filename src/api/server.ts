import Fastify, { LogController } from 'fastify';
import { Type } from 'typebox';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../app-context.js';
import { dashboardRoutes } from '../dashboard/routes.js';
import { OutcallError } from '../errors.js';
import { sql } from '../store/sql.js';
import type { App } from './app-type.js';
import { authenticate } from './auth.js';
import { errorHandler, frameworkErrorHandler, MAX_PARAM_LENGTH } from './error-handler.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { callStreamRoutes } from './routes/call-stream.js';
import { callRoutes } from './routes/calls.js';
import { organizationRoutes } from './routes/organization.js';
import { resourceRoutes } from './routes/resources.js';
import { webhookRoutes } from './routes/webhooks.js';
import { ErrorEnvelope } from '../contract/common.js';
import { validatorCompiler } from './validation.js';
import { keepRawJsonBodies } from './raw-body.js';
import { refuseNul } from './nul-guard.js';
import { spliceRawJsonReplies } from './raw-json-replies.js';

export interface ServerOptions {
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  logLevel?: string;
  version?: string;
}

/** A copy of `value` without the keys TypeBox adds for itself (they start with "~"). */
export function withoutTypeboxKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTypeboxKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith('~')).map(([k, v]) => [k, withoutTypeboxKeys(v)]));
}

/** Builds the HTTP API (not listening yet): routes, validation, auth, errors, OpenAPI, metrics. */
export async function buildServer(ctx: AppContext, opts: ServerOptions = {}): Promise<App> {
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? 256 * 1024,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkErrorHandler,
    logger: { level: opts.logLevel ?? 'info', redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] },
    // Per-request log lines only when debugging: at load they cost more than the request.
    logController: new LogController({ disableRequestLogging: opts.logLevel !== 'debug' }),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validatorCompiler);
  // The API speaks JSON only: a text body is refused with 415 rather than parsed as a string.
  app.removeContentTypeParser('text/plain');
  keepRawJsonBodies(app);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    const e = new OutcallError('not_found', `no route ${req.method} ${req.url.split('?')[0]}`);
    return reply.code(404).send(e.toEnvelope());
  });
  app.addSchema(ErrorEnvelope);

  await app.register(swagger, {
    // TypeBox's own bookkeeping keys (`~kind`, `~optional`) are not JSON Schema: they would leak into
    // every schema of the document (307 lint errors under @redocly/cli), so they are dropped here.
    transformObject: (doc) => withoutTypeboxKeys('openapiObject' in doc ? doc.openapiObject : doc.swaggerObject) as never,
    openapi: {
      openapi: '3.1.0',
      // Relative to where the document is served: the API's own origin.
      servers: [{ url: '/', description: 'this Outcall server' }],
      info: {
        title: 'Outcall API',
        version: opts.version ?? '0.1.0',
        description: 'Outbound AI phone calls over your own SIP trunk.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        },
      },
    },
  });

  // After parsing, before validation and every handler: a NUL never reaches a schema or the store.
  app.addHook('preValidation', async (req) => refuseNul(req));

  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.httpRequests.inc({ route: req.routeOptions.url ?? 'unmatched', method: req.method, status: String(reply.statusCode) });
  });

  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await ctx.db.query(sql`select 1`);
      return { status: 'ok', store: ctx.db.driver };
    } catch (err) {
      app.log.warn({ err }, 'health check: store unreachable');
      return reply.code(503).send(new OutcallError('unavailable', 'the store is unreachable').toEnvelope());
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The dashboard page is public (outside the /v1 auth hook); its API calls carry the user's key.
  dashboardRoutes(app);

  await app.register(async (v1) => {
    v1.addHook('onRequest', authenticate(ctx));
    spliceRawJsonReplies(v1 as App);
    // Every route documents the error envelope, so generated clients type the failures too.
    v1.addHook('onRoute', (route) => {
      if (!route.schema) return;
      const response = (route.schema.response ?? {}) as Record<string, unknown>;
      route.schema.response = { ...response, '4xx': response['4xx'] ?? Type.Ref('ErrorEnvelope'), '5xx': response['5xx'] ?? Type.Ref('ErrorEnvelope') };
    });
    resourceRoutes(v1 as App, ctx);
    callRoutes(v1 as App, ctx);
    callStreamRoutes(v1 as App, ctx);
    webhookRoutes(v1 as App, ctx);
    apiKeyRoutes(v1 as App, ctx);
    organizationRoutes(v1 as App, ctx);
  });
  await app.ready();
  return app;
}
