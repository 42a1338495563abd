import { mkdirSync } from 'node:fs';
import type { Database } from './db.js';
import { acquireDataDirLock } from './lock-file.js';
import { migrate } from './migrate.js';
import { openPglite } from './pglite-driver.js';
import { openPostgres } from './pg-driver.js';

export type StoreConfig =
  | { driver: 'postgres'; url: string; poolSize?: number }
  | { driver: 'pglite'; dataDir: string | undefined };

/**
 * Opens the store and brings its schema up to date. The embedded store takes the data folder's
 * lock first and releases it when the database closes.
 */
export async function openStore(config: StoreConfig): Promise<Database> {
  if (config.driver === 'postgres') {
    const db = await openPostgres(config.url, config.poolSize);
    try {
      await migrate(db);
    } catch (err) {
      await db.close();
      throw err;
    }
    return db;
  }
  let lock: ReturnType<typeof acquireDataDirLock> | undefined;
  if (config.dataDir !== undefined) {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    lock = acquireDataDirLock(config.dataDir);
  }
  try {
    const db = await openPglite(config.dataDir);
    try {
      await migrate(db);
    } catch (err) {
      await db.close();
      throw err;
    }
    const close = db.close.bind(db);
    return {
      ...db,
      async close() {
        try {
          await close();
        } finally {
          lock?.release();
        }
      },
    };
  } catch (err) {
    lock?.release();
    throw err;
  }
}
