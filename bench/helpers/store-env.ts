import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchDatabase } from '../../test/helpers/test-db.js';

/**
 * The environment that points `outcall serve` at a fresh store of the given kind: an embedded
 * PGlite folder, or a scratch PostgreSQL database (from OUTCALL_TEST_DATABASE_URL). cleanup()
 * removes it.
 */
export async function freshStoreEnv(driver: string): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  if (driver === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'outcall-bench-'));
    return { env: { OUTCALL_DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (driver !== 'postgres') throw new Error(`unknown driver ${driver}: pglite or postgres`);
  const scratch = await createScratchDatabase();
  return {
    env: { DATABASE_URL: scratch.url, OUTCALL_SECRET_KEY: 'a'.repeat(64), OUTCALL_DB_POOL_SIZE: '16' },
    cleanup: scratch.drop,
  };
}
