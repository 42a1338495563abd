import type { Config } from '../config.js';
import { openStore } from '../store/open.js';

/** Opening the store applies pending migrations under the advisory lock; then we report and exit. */
export async function migrateCommand(config: Config): Promise<number> {
  const db = await openStore(
    config.databaseUrl !== undefined
      ? { driver: 'postgres', url: config.databaseUrl, poolSize: 2 }
      : { driver: 'pglite', dataDir: config.dataDir },
  );
  await db.close();
  console.log(`outcall: migrations are up to date (${config.databaseUrl !== undefined ? 'postgres' : 'pglite ' + config.dataDir})`);
  return 0;
}
