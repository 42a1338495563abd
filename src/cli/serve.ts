import { buildServer } from '../api/server.js';
import { bootstrap } from '../bootstrap.js';
import type { Config } from '../config.js';
import { DASHBOARD_PATH } from '../dashboard/routes.js';
import { WebhookDeliverer } from '../webhooks/deliverer.js';
import { startCallPlane } from '../worker/call-plane.js';

/** `outcall serve`: the store, the API and (as they land) the dispatcher and media, in one process. */
export async function serve(config: Config): Promise<number> {
  const { ctx, createdApiKey } = await bootstrap(config);
  const app = await buildServer(ctx, { bodyLimit: config.bodyLimit, logLevel: config.logLevel });
  ctx.logger = app.log;
  const deliverer = new WebhookDeliverer(ctx);
  await deliverer.start();
  const plane = await startCallPlane(ctx, config.media);
  const address = await app.listen({ host: config.host, port: config.port });
  const store = config.databaseUrl !== undefined ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`;
  console.log(`\nOutcall is listening on ${address}  (store: ${store}; SIP on ${config.media.sipHost}:${plane.sipPort})`);
  if (createdApiKey !== undefined) {
    console.log(`\nYour API key (shown once; it is stored hashed, so keep it now):\n\n  ${createdApiKey}\n`);
    console.log(`Try it:\n  curl -H "Authorization: Bearer ${createdApiKey}" ${address}/v1/agents\n`);
  }
  console.log(`Dashboard: ${address}${DASHBOARD_PATH}  (sign in with an API key)`);
  console.log(`OpenAPI document: ${address}/openapi.json\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  app.log.info('shutting down');
  await app.close();
  await plane.stop();
  await deliverer.stop();
  await ctx.db.close();
  return 0;
}
