import { pino } from 'pino';
import { bootstrap } from '../bootstrap.js';
import type { Config } from '../config.js';
import { OutcallError } from '../errors.js';
import { WebhookDeliverer } from '../webhooks/deliverer.js';
import { startCallPlane } from '../worker/control/call-plane.js';
import { stopPlane } from '../worker/control/stop-plane.js';

/**
 * `outcall worker`: a media worker process without the HTTP API. Several of them (and the API
 * nodes) share one PostgreSQL: each claims calls with SKIP LOCKED, renews its leases, and delivers
 * webhooks. The embedded store is one process by design, so a worker needs DATABASE_URL.
 */
export async function worker(config: Config): Promise<number> {
  if (config.databaseUrl === undefined) {
    throw new OutcallError('config_invalid', 'outcall worker needs DATABASE_URL (PostgreSQL): the embedded store serves one process, `outcall serve`');
  }
  const { ctx } = await bootstrap(config);
  const log = pino({ level: config.logLevel });
  ctx.logger = log as unknown as NonNullable<typeof ctx.logger>;
  const deliverer = new WebhookDeliverer(ctx, config.webhooks);
  await deliverer.start();
  const plane = await startCallPlane(ctx, config.media, { postCall: { resultWaitMs: config.resultSummaryWaitMs } });
  console.log(`outcall worker ${plane.workerId} is running (SIP on ${config.media.sipHost}:${plane.sipPort})`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info('worker shutting down');
  await stopPlane(plane, config.drainMs, (m) => log.info(m));
  await deliverer.stop();
  await ctx.db.close();
  return 0;
}
