import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Database } from '../../src/store/db.js';
import { openStore } from '../../src/store/open.js';

export type TestDriver = 'pglite' | 'postgres';

/** Which store this run of the suite uses (scripts/run-tests.mjs runs *.db.test.ts once per driver). */
export function testDriver(): TestDriver {
  const d = process.env.OUTCALL_TEST_DRIVER ?? 'pglite';
  if (d !== 'pglite' && d !== 'postgres') throw new Error(`OUTCALL_TEST_DRIVER must be pglite or postgres, not ${d}`);
  return d;
}

export function adminUrl(): string {
  return process.env.OUTCALL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** A fresh, empty PostgreSQL database; dropped by the returned function. */
export async function createScratchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `outcall_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A migrated store on the run's driver: in-memory PGlite, or a scratch PostgreSQL database. */
export async function openTestDb(): Promise<Database> {
  if (testDriver() === 'pglite') return openStore({ driver: 'pglite', dataDir: undefined });
  const scratch = await createScratchDatabase();
  const db = await openStore({ driver: 'postgres', url: scratch.url, poolSize: 5 });
  const close = db.close.bind(db);
  return {
    ...db,
    async close() {
      await close();
      await scratch.drop();
    },
  };
}

/** Why this host's PostgreSQL (adminUrl) cannot be used, or undefined when it answers. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: adminUrl(), connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return undefined;
  } catch (err) {
    return `PostgreSQL is not reachable at ${adminUrl()}: ${(err as Error).message}`;
  } finally {
    await c.end().catch(() => undefined);
  }
}
