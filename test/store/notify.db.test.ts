import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../../src/store/sql.js';
import { openTestDb } from '../helpers/test-db.js';

test('NOTIFY reaches a listener after commit, never from a rolled-back transaction', async () => {
  const db = await openTestDb();
  try {
    const got: string[] = [];
    let wake: () => void = () => undefined;
    const unlisten = await db.listen('outcall_test', (p) => {
      got.push(p);
      wake();
    });
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query(sql`select pg_notify('outcall_test', 'rolled-back')`);
        throw new Error('abort');
      }),
    );
    const arrived = new Promise<void>((r) => (wake = r));
    await db.transaction(async (tx) => {
      await tx.query(sql`select pg_notify('outcall_test', 'committed')`);
    });
    await Promise.race([arrived, new Promise((_, rej) => setTimeout(() => rej(new Error('no notification in 5 s')), 5000))]);
    assert.deepEqual(got, ['committed']);
    await unlisten();
    await db.query(sql`select pg_notify('outcall_test', 'after-unlisten')`);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(got, ['committed']);
  } finally {
    await db.close();
  }
});
