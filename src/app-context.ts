import type { FastifyBaseLogger } from 'fastify';
import type { SecretBox } from './crypto/secret-box.js';
import type { Metrics } from './metrics.js';
import type { Database } from './store/db.js';

/** What request handlers and services share: the store, secrets, settings, a clock and metrics. */
export interface AppContext {
  db: Database;
  /** Undefined when OUTCALL_SECRET_KEY is not configured: storing secrets is then refused. */
  secrets: SecretBox | undefined;
  allowPrivateUrls: boolean;
  now: () => Date;
  metrics: Metrics;
  logger?: FastifyBaseLogger;
}
