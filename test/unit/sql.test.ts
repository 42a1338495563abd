import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, raw, sql } from '../../src/store/sql.js';

test('numbers parameters in order across nested fragments', () => {
  const inner = sql`and status = ${'queued'}`;
  const q = sql`select * from calls where org_id = ${'o1'} ${inner} and id = ${'c1'}`.render();
  assert.equal(q.text, 'select * from calls where org_id = $1 and status = $2 and id = $3');
  assert.deepEqual(q.values, ['o1', 'queued', 'c1']);
});

test('join and raw', () => {
  const q = sql`update t set ${join([sql`a = ${1}`, sql`${raw('b')} = ${2}`], ', ')} where id = ${3}`.render();
  assert.equal(q.text, 'update t set a = $1, b = $2 where id = $3');
  assert.deepEqual(q.values, [1, 2, 3]);
  assert.equal(join([], ', ').render().text, '');
});

test('values are never spliced into the text', () => {
  const evil = "x'; drop table calls; --";
  const q = sql`select ${evil}`.render();
  assert.equal(q.text, 'select $1');
  assert.deepEqual(q.values, [evil]);
});
