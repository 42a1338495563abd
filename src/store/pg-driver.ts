import pg from 'pg';
import type { Database, Queryable, QueryResult } from './db.js';
import type { SqlFragment } from './sql.js';

// Return bigint columns (count(*) etc.) as numbers; ours never exceed 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async execScript(text: string): Promise<void> {
      // No parameters: pg uses the simple query protocol, which accepts several statements.
      await client.query(text);
    },
    async query<T>(q: SqlFragment): Promise<QueryResult<T>> {
      const { text, values } = q.render();
      const r = await client.query(text, values);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
  };
}

/** PostgreSQL >= 15 through a pg pool: the scale-out store, shared by many nodes. */
export async function openPostgres(url: string, poolSize = 10): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const probe = await pool.query<{ server_version_num: string }>('show server_version_num');
  const version = Number(probe.rows[0]?.server_version_num);
  if (version < 150000) {
    await pool.end();
    throw new Error(`PostgreSQL ${version} is too old: Outcall needs PostgreSQL 15 or newer`);
  }
  const base = wrap(pool);
  return {
    driver: 'postgres',
    query: base.query,
    execScript: base.execScript,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await fn(wrap(client));
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async withAdvisoryLock<T>(key: string, fn: (conn: Queryable) => Promise<T>): Promise<T> {
      // Session-level lock on one dedicated connection, so the lock and the work share it.
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock(hashtext($1))', [key]);
        try {
          return await fn(wrap(client));
        } finally {
          await client.query('select pg_advisory_unlock(hashtext($1))', [key]);
        }
      } finally {
        client.release();
      }
    },
    async listen(channel: string, handler: (payload: string) => void) {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
      // LISTEN needs its own long-lived connection, outside the pool. If it drops, reconnect:
      // notifications are only a hint (callers poll too), so a gap costs latency, never a call.
      let client: pg.Client | undefined;
      let stopped = false;
      const connect = async (): Promise<void> => {
        const c = new pg.Client({ connectionString: url });
        c.on('notification', (n) => {
          if (n.channel === channel) handler(n.payload ?? '');
        });
        c.on('error', () => {
          void c.end().catch(() => undefined);
          if (!stopped) setTimeout(() => void connect().catch(() => undefined), 500).unref();
        });
        await c.connect();
        await c.query(`listen ${channel}`);
        client = c;
      };
      await connect();
      return async () => {
        stopped = true;
        await client?.end().catch(() => undefined);
      };
    },
    async close() {
      await pool.end();
    },
  };
}
