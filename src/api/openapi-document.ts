import type { AppContext } from '../app-context.js';
import { Metrics } from '../metrics.js';
import { openStore } from '../store/open.js';
import { buildServer } from './server.js';

/**
 * The API's OpenAPI 3.1 document, as GET /openapi.json serves it, built without a running server
 * (an in-memory embedded store backs the throwaway app): the SDK is generated from it.
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const db = await openStore({ driver: 'pglite', dataDir: undefined });
  const ctx: AppContext = { db, secrets: undefined, allowPrivateUrls: false, now: () => new Date(), metrics: new Metrics(db) };
  const app = await buildServer(ctx, { logLevel: 'silent' });
  try {
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
    await db.close();
  }
}
