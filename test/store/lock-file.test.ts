import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDataDirLock } from '../../src/store/lock-file.js';
import { openStore } from '../../src/store/open.js';
import { sql } from '../../src/store/sql.js';
import { runCli, startServe, waitExit } from '../helpers/cli.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'outcall-lock-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

test('a held lock refuses a second holder with a clear error, and release frees it', () => {
  const dir = tempDir();
  const lock = acquireDataDirLock(dir);
  const owner = JSON.parse(readFileSync(join(dir, 'outcall.lock'), 'utf8'));
  assert.equal(owner.pid, process.pid);
  assert.throws(() => acquireDataDirLock(dir), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'data_dir_locked');
    assert.match(err.message, new RegExp(`in use by process ${process.pid}`));
    assert.match(err.message, /DATABASE_URL/);
    return true;
  });
  lock.release();
  assert.equal(existsSync(join(dir, 'outcall.lock')), false);
  acquireDataDirLock(dir).release();
});

test('a stale lock left by a dead process is taken over', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'outcall.lock'), JSON.stringify({ pid: deadPid(), host: hostname(), nonce: 'old', startedAt: 'then' }));
  const lock = acquireDataDirLock(dir);
  assert.equal(JSON.parse(readFileSync(join(dir, 'outcall.lock'), 'utf8')).pid, process.pid);
  lock.release();
});

test('a lock from another host is never taken over', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'outcall.lock'), JSON.stringify({ pid: deadPid(), host: 'other-host', nonce: 'x', startedAt: 'then' }));
  assert.throws(() => acquireDataDirLock(dir), { code: 'data_dir_locked' });
});

test('across processes: a second process on the folder fails; after kill -9 of the first, data survives and the lock is taken over', async () => {
  const dir = tempDir();
  const first = await startServe({ OUTCALL_DATA_DIR: dir, OUTCALL_API_KEY: 'test-key-0123456789abcdef' });
  try {
    const created = await fetch(`${first.url}/v1/agents`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-key-0123456789abcdef', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'survivor' }),
    });
    assert.equal(created.status, 201);
    const second = await runCli(['migrate'], { OUTCALL_DATA_DIR: dir });
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`in use by process ${first.child.pid}`));
    assert.match(second.stderr, /data_dir_locked/);
  } finally {
    first.child.kill('SIGKILL');
    await waitExit(first.child);
  }
  const db = await openStore({ driver: 'pglite', dataDir: dir });
  try {
    const r = await db.query<{ name: string }>(sql`select name from agents`);
    assert.deepEqual(r.rows.map((x) => x.name), ['survivor']);
  } finally {
    await db.close();
  }
  assert.equal(existsSync(join(dir, 'outcall.lock')), false, 'closing releases the lock');
});
