import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMigrations, migrate } from '../../src/store/migrate.js';
import { openStore } from '../../src/store/open.js';
import { openPglite } from '../../src/store/pglite-driver.js';
import { sql } from '../../src/store/sql.js';
import { runCli } from '../helpers/cli.js';
import { createScratchDatabase, openTestDb, testDriver } from '../helpers/test-db.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'outcall-mig-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('migration files are numbered without gaps', () => {
  const all = loadMigrations();
  assert.ok(all.length >= 1);
  all.forEach((m, i) => assert.equal(m.id, i + 1));
  const gap = tempDir();
  writeFileSync(join(gap, '0001_a.sql'), 'select 1;');
  writeFileSync(join(gap, '0003_c.sql'), 'select 1;');
  assert.throws(() => loadMigrations(gap), /without gaps/);
  const badName = tempDir();
  writeFileSync(join(badName, 'init.sql'), 'select 1;');
  assert.throws(() => loadMigrations(badName), /must look like/);
});

test('migrating again is a no-op; a failing migration rolls back whole; a newer database is refused', async () => {
  const db = await openTestDb();
  cleanups.push(() => db.close());
  assert.deepEqual(await migrate(db), []);
  const known = loadMigrations();
  const broken = [...known, { id: known.length + 1, name: 'broken', sql: 'create table half_done (id int); select * from no_such_table;' }];
  await assert.rejects(migrate(db, broken), /migration \d+ \(broken\) failed/);
  const half = await db.query(sql`select to_regclass('half_done') as t`);
  assert.equal((half.rows[0] as { t: unknown }).t, null, 'the failed migration left nothing');
  const ok = [...known, { id: known.length + 1, name: 'extra', sql: 'create table extra_t (id int);' }];
  assert.deepEqual(await migrate(db, ok), [known.length + 1]);
  await assert.rejects(migrate(db, known), /this build knows only up to/);
});

test('two processes starting at once apply each migration exactly once', async () => {
  const expected = loadMigrations().map((m) => m.id);
  if (testDriver() === 'postgres') {
    const scratch = await createScratchDatabase();
    cleanups.push(scratch.drop);
    const runs = await Promise.all([0, 1, 2].map(() => runCli(['migrate'], { DATABASE_URL: scratch.url })));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const db = await openStore({ driver: 'postgres', url: scratch.url, poolSize: 1 });
    try {
      const rows = await db.query<{ id: number }>(sql`select id from outcall_migrations order by id`);
      assert.deepEqual(rows.rows.map((r) => Number(r.id)), expected);
    } finally {
      await db.close();
    }
  } else {
    // Embedded: the data folder's lock lets one process in; the other stops with a clear error or,
    // if it starts after the first finished, finds nothing to do. Never both at once.
    const dir = tempDir();
    const runs = await Promise.all([0, 1].map(() => runCli(['migrate'], { OUTCALL_DATA_DIR: dir })));
    assert.ok(runs.some((r) => r.code === 0), runs.map((r) => r.stderr).join('\n'));
    for (const r of runs) if (r.code !== 0) assert.match(r.stderr, /data_dir_locked/);
    const db = await openStore({ driver: 'pglite', dataDir: dir });
    try {
      const rows = await db.query<{ id: number }>(sql`select id from outcall_migrations order by id`);
      assert.deepEqual(rows.rows.map((r) => Number(r.id)), expected);
    } finally {
      await db.close();
    }
  }
});

test('0016: a number two organizations answered stays with the one that added it first; the other keeps it for dialing', async () => {
  const db = await openPglite(undefined);
  cleanups.push(() => db.close());
  await migrate(db, loadMigrations().slice(0, 15));
  for (const [org, at] of [['org_a', '2026-01-01'], ['org_b', '2026-02-01']] as const) {
    await db.query(sql`insert into organizations (id, name) values (${org}, ${org})`);
    await db.query(sql`insert into trunks (id, org_id, name, host, port, transport) values (${`trk_${org}`}, ${org}, 'carrier', 'sip.example', 5060, 'udp')`);
    await db.query(sql`insert into agents (id, org_id, name, kind) values (${`agt_${org}`}, ${org}, 'desk', 'voice')`);
    await db.query(sql`insert into phone_numbers (id, org_id, number, trunk_id, inbound_agent_id, created_at)
      values (${`pn_${org}`}, ${org}, '+14155550100', ${`trk_${org}`}, ${`agt_${org}`}, ${new Date(at)})`);
  }
  assert.equal((await migrate(db))[0], 16);
  const rows = await db.query<{ org_id: string; inbound_agent_id: string | null }>(sql`select org_id, inbound_agent_id from phone_numbers order by org_id`);
  assert.deepEqual(rows.rows.map((r) => [r.org_id, r.inbound_agent_id]), [['org_a', 'agt_org_a'], ['org_b', null]]);
  await assert.rejects(db.query(sql`update phone_numbers set inbound_agent_id = 'agt_org_b' where id = 'pn_org_b'`), /phone_numbers_inbound_owner/);
});
