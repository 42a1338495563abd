import { PGlite } from '@electric-sql/pglite';
import type { Database, Queryable, QueryResult } from './db.js';
import type { SqlFragment } from './sql.js';

interface PgliteLike {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[]; affectedRows?: number }>;
  exec(text: string): Promise<unknown>;
}

function wrap(conn: PgliteLike): Queryable {
  return {
    async execScript(text: string): Promise<void> {
      await conn.exec(text);
    },
    async query<T>(q: SqlFragment): Promise<QueryResult<T>> {
      const { text, values } = q.render();
      const r = await conn.query(text, values);
      // PGlite reports affectedRows 0 for SELECT: the row count is whichever is larger.
      return { rows: r.rows as T[], rowCount: Math.max(r.rows.length, r.affectedRows ?? 0) };
    },
  };
}

/**
 * Embedded PostgreSQL (PGlite, WASM) in a data folder, or in memory when dataDir is undefined.
 * PGlite is one connection: its own mutex serializes queries and transactions, so a transaction
 * here is as isolated as it needs to be. The caller guards the folder with a lock file, because
 * PGlite has no multi-process protection (see lock-file.ts).
 */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  const pg = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
  await pg.waitReady;
  const base = wrap(pg);
  return {
    driver: 'pglite',
    query: base.query,
    execScript: base.execScript,
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return pg.transaction((tx) => fn(wrap(tx)));
    },
    async withAdvisoryLock<T>(key: string, fn: (conn: Queryable) => Promise<T>): Promise<T> {
      // One connection: the lock is only for symmetry with the server driver.
      await pg.query('select pg_advisory_lock(hashtext($1))', [key]);
      try {
        return await fn(base);
      } finally {
        await pg.query('select pg_advisory_unlock(hashtext($1))', [key]);
      }
    },
    async listen(channel: string, handler: (payload: string) => void) {
      const unlisten = await pg.listen(channel, handler);
      return async () => {
        if (!pg.closed) await unlisten();
      };
    },
    async close() {
      await pg.close();
    },
  };
}
