import pg from 'pg';
import type { Database, Queryable, QueryResult } from './db.js';
import { isConnectionError } from './pg-errors.js';
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

/**
 * A client taken from the pool for a transaction or a lock: while checked out, the pool no longer
 * listens for its errors, and a connection reset (the server restarting) between two of its queries
 * is emitted as an 'error' event that would crash the process. The query in flight rejects on its own.
 */
async function checkout(pool: pg.Pool): Promise<{ client: pg.PoolClient; release: (err?: Error) => void }> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  return {
    client,
    release(err?: Error) {
      client.off('error', onError);
      // A client whose connection failed is destroyed, not returned to the pool.
      client.release(err ?? broken);
    },
  };
}

/** PostgreSQL >= 15 through a pg pool: the scale-out store, shared by many nodes. */
export async function openPostgres(url: string, poolSize = 10): Promise<Database> {
  // A server that does not answer fails a connect after 5 s instead of holding callers forever.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
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
      const { client, release } = await checkout(pool);
      let failed: Error | undefined;
      try {
        await client.query('begin');
        const result = await fn(wrap(client));
        await client.query('commit');
        return result;
      } catch (err) {
        failed = err as Error;
        await client.query('rollback').catch((e: Error) => {
          failed = e; // the connection is gone: do not pool it
        });
        throw err;
      } finally {
        release(isConnectionError(failed) ? failed : undefined);
      }
    },
    async withAdvisoryLock<T>(key: string, fn: (conn: Queryable) => Promise<T>): Promise<T> {
      // Session-level lock on one dedicated connection, so the lock and the work share it.
      const { client, release } = await checkout(pool);
      let failed: Error | undefined;
      try {
        await client.query('select pg_advisory_lock(hashtext($1))', [key]);
        try {
          return await fn(wrap(client));
        } finally {
          await client.query('select pg_advisory_unlock(hashtext($1))', [key]).catch((e: Error) => {
            failed = e;
            throw e;
          });
        }
      } catch (err) {
        failed ??= err as Error;
        throw err;
      } finally {
        // A session lock dies with its connection: a broken one is destroyed, never pooled still locked.
        release(isConnectionError(failed) ? failed : undefined);
      }
    },
    async listen(channel: string, handler: (payload: string) => void) {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
      // LISTEN needs its own long-lived connection, outside the pool. If it drops, reconnect (every
      // 0.5 s, then up to every 5 s while the server stays away): notifications are only a hint
      // (callers poll too), so a gap costs latency, never a call.
      let client: pg.Client | undefined;
      let stopped = false;
      let retryMs = 500;
      const connect = async (): Promise<void> => {
        const c = new pg.Client({ connectionString: url });
        let lost = false;
        const onLost = (): void => {
          if (lost) return;
          lost = true;
          void c.end().catch(() => undefined);
          if (client === c) client = undefined;
          if (!stopped) retry();
        };
        c.on('notification', (n) => {
          if (n.channel === channel) handler(n.payload ?? '');
        });
        c.on('error', onLost);
        c.on('end', onLost);
        try {
          await c.connect();
          await c.query(`listen ${channel}`);
        } catch (err) {
          lost = true;
          void c.end().catch(() => undefined);
          throw err;
        }
        client = c;
        retryMs = 500;
      };
      const retry = (): void => {
        setTimeout(() => {
          if (stopped) return;
          connect().catch(() => {
            retryMs = Math.min(retryMs * 2, 5000);
            retry();
          });
        }, retryMs).unref();
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

