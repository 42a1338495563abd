import { buildServer } from '../api/server.js';
import { bootstrap } from '../bootstrap.js';
import type { Config } from '../config.js';
import { DASHBOARD_PATH } from '../dashboard/routes.js';
import { startEmbeddedSandbox } from '../sandbox/embedded.js';
import { DEFAULT_ORG_ID } from '../store/orgs.js';
import { runDemoCall, wantDemoCall } from './demo-call.js';
import { WebhookDeliverer } from '../webhooks/deliverer.js';
import { startCallPlane } from '../worker/control/call-plane.js';
import { stopPlane } from '../worker/control/stop-plane.js';

/** `outcall serve`: the store, the API and (as they land) the dispatcher and media, in one process. */
export async function serve(config: Config): Promise<number> {
  const { ctx, createdApiKey } = await bootstrap(config);
  const app = await buildServer(ctx, { bodyLimit: config.bodyLimit, logLevel: config.logLevel });
  ctx.logger = app.log;
  const deliverer = new WebhookDeliverer(ctx, config.webhooks);
  await deliverer.start();
  const plane = await startCallPlane(ctx, config.media, { postCall: { resultWaitMs: config.resultSummaryWaitMs } });
  const sandbox = await startEmbeddedSandbox(ctx, { embeddedStore: config.databaseUrl === undefined });
  const address = await app.listen({ host: config.host, port: config.port });
  const store = config.databaseUrl !== undefined ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`;
  console.log(`\nOutcall is listening on ${address}  (store: ${store}; SIP on ${config.media.sipHost}:${plane.sipPort})`);
  if (createdApiKey !== undefined) {
    console.log(`\nYour API key (shown once; it is stored hashed, so keep it now):\n\n  ${createdApiKey}\n`);
    console.log(`Try it:\n  curl -H "Authorization: Bearer ${createdApiKey}" ${address}/v1/agents\n`);
  }
  console.log(`Dashboard: ${address}${DASHBOARD_PATH}  (sign in with an API key)`);
  console.log(`OpenAPI document: ${address}/openapi.json\n`);
  if (sandbox) console.log(`${sandbox.banner.replace('<api>', address)}\n`);
  // The quickstart: the first start shows a whole call happen, right here in the terminal.
  if (sandbox && wantDemoCall(sandbox.seed.created.includes('agent'))) {
    const human = sandbox.sandbox.numbers.find((n) => n.name === 'human')?.number;
    if (human) {
      void runDemoCall(ctx, {
        orgId: DEFAULT_ORG_ID,
        agentId: sandbox.seed.agentId,
        to: human,
        address,
        ...(createdApiKey !== undefined ? { apiKey: createdApiKey } : {}),
      }).catch((err: unknown) => app.log.warn({ err }, 'the demo call did not complete'));
    }
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  app.log.info('shutting down');
  await app.close();
  // Live calls may finish (OUTCALL_DRAIN_S); a second signal does not wait for them.
  await stopPlane(plane, config.drainMs, (m) => app.log.info(m));
  await sandbox?.stop();
  await deliverer.stop();
  await ctx.db.close();
  return 0;
}
