import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AppContext } from './app-context.js';
import type { Config } from './config.js';
import { SecretBox } from './crypto/secret-box.js';
import { OutcallError } from './errors.js';
import { Metrics } from './metrics.js';
import type { Database } from './store/db.js';
import { openStore } from './store/open.js';
import { addApiKey, countApiKeys, createApiKey, DEFAULT_ORG_ID, ensureOrganization } from './store/orgs.js';

/**
 * The secret key for data at rest. Given by OUTCALL_SECRET_KEY; in the embedded mode, made once and
 * kept in the data folder (mode 0600) so a first start works with no setup. With PostgreSQL it must
 * be configured, because every node has to share it.
 */
function secretBox(config: Config): SecretBox | undefined {
  if (config.secretKey !== undefined) {
    try {
      return new SecretBox(SecretBox.parseKey(config.secretKey));
    } catch (err) {
      throw new OutcallError('config_invalid', (err as Error).message);
    }
  }
  if (config.databaseUrl !== undefined) return undefined;
  const file = join(config.dataDir, 'secret.key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return new SecretBox(SecretBox.parseKey(readFileSync(file, 'utf8')));
}

export interface Bootstrapped {
  ctx: AppContext;
  /** Set only when this start created the default organization's first key: show it once. */
  createdApiKey: string | undefined;
}

export async function bootstrap(config: Config): Promise<Bootstrapped> {
  const db: Database = await openStore(
    config.databaseUrl !== undefined
      ? { driver: 'postgres', url: config.databaseUrl, poolSize: config.dbPoolSize }
      : { driver: 'pglite', dataDir: config.dataDir },
  );
  try {
    const secrets = secretBox(config);
    await ensureOrganization(db, DEFAULT_ORG_ID, 'Default organization');
    let createdApiKey: string | undefined;
    if (config.apiKey !== undefined) {
      if (config.apiKey.length < 16) throw new OutcallError('config_invalid', 'OUTCALL_API_KEY must be at least 16 characters');
      await addApiKey(db, DEFAULT_ORG_ID, config.apiKey, 'OUTCALL_API_KEY');
    } else if ((await countApiKeys(db, DEFAULT_ORG_ID)) === 0) {
      createdApiKey = await createApiKey(db, DEFAULT_ORG_ID, 'first start');
    }
    const ctx: AppContext = {
      db,
      secrets,
      allowPrivateUrls: config.allowPrivateUrls,
      now: () => new Date(),
      metrics: new Metrics(db),
    };
    return { ctx, createdApiKey };
  } catch (err) {
    await db.close();
    throw err;
  }
}
