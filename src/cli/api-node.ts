import { buildServer } from '../api/server.js';
import { bootstrap } from '../bootstrap.js';
import type { Config } from '../config.js';
import { DASHBOARD_PATH } from '../dashboard/routes.js';
import { OutcallError } from '../errors.js';
import { WebhookDeliverer } from '../webhooks/deliverer.js';

/**
 * `outcall api`: the HTTP API, dashboard and webhook delivery without a call plane, for deployments
 * that scale the two apart: API nodes take requests and queue calls, `outcall worker` processes
 * (elsewhere, on the same PostgreSQL) dial them. Like a worker it needs DATABASE_URL: the embedded
 * store serves one process, and that process is `outcall serve`.
 */
export async function apiNode(config: Config): Promise<number> {
  if (config.databaseUrl === undefined) {
    throw new OutcallError('config_invalid', 'outcall api needs DATABASE_URL (PostgreSQL): with the embedded store, run `outcall serve`');
  }
  const { ctx, createdApiKey } = await bootstrap(config);
  const app = await buildServer(ctx, { bodyLimit: config.bodyLimit, logLevel: config.logLevel });
  ctx.logger = app.log;
  const deliverer = new WebhookDeliverer(ctx, config.webhooks);
  await deliverer.start();
  const address = await app.listen({ host: config.host, port: config.port });
  console.log(`\nOutcall API is listening on ${address}  (store: PostgreSQL (DATABASE_URL); calls are dialed by outcall worker processes)`);
  if (createdApiKey !== undefined) console.log(`\nYour API key (shown once; it is stored hashed, so keep it now):\n\n  ${createdApiKey}\n`);
  console.log(`Dashboard: ${address}${DASHBOARD_PATH}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  app.log.info('shutting down');
  await app.close();
  await deliverer.stop();
  await ctx.db.close();
  return 0;
}
