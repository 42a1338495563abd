import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, Queryable } from './db.js';
import { sql } from './sql.js';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const defaultDir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Reads `NNNN_name.sql` files in order; numbering must be 1, 2, 3... with no gaps or duplicates. */
export function loadMigrations(dir = defaultDir): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((file) => {
      const m = MIGRATION_FILE.exec(file);
      if (!m) throw new Error(`migration file name ${file} must look like 0001_name.sql`);
      return { id: Number(m[1]), name: m[2] as string, sql: readFileSync(join(dir, file), 'utf8') };
    })
    .sort((a, b) => a.id - b.id);
  migrations.forEach((m, i) => {
    if (m.id !== i + 1) throw new Error(`migrations must be numbered 1..n without gaps; found ${m.id} at position ${i + 1}`);
  });
  return migrations;
}

async function appliedIds(conn: Queryable): Promise<Set<number>> {
  const r = await conn.query<{ id: number }>(sql`select id from outcall_migrations`);
  return new Set(r.rows.map((row) => Number(row.id)));
}

/**
 * Applies pending migrations, forward only, each in its own transaction, while holding an advisory
 * lock so that several nodes starting at once apply each migration exactly once: the others wait on
 * the lock and then find nothing left to do.
 */
export async function migrate(db: Database, migrations = loadMigrations()): Promise<number[]> {
  return db.withAdvisoryLock('outcall:migrations', async (conn) => {
    await conn.query(sql`create table if not exists outcall_migrations (
      id integer primary key, name text not null, applied_at timestamptz not null default now())`);
    const done = await appliedIds(conn);
    const latestKnown = migrations.at(-1)?.id ?? 0;
    const unknown = [...done].filter((id) => id > latestKnown);
    if (unknown.length > 0) {
      throw new Error(`the database has migration ${Math.max(...unknown)} but this build knows only up to ${latestKnown}: run a newer Outcall`);
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      await conn.query(sql`begin`);
      try {
        await conn.execScript(m.sql);
        await conn.query(sql`insert into outcall_migrations (id, name) values (${m.id}, ${m.name})`);
        await conn.query(sql`commit`);
      } catch (err) {
        await conn.query(sql`rollback`);
        throw new Error(`migration ${m.id} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(m.id);
    }
    return applied;
  });
}
