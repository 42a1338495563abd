/** RawJson is written as its own text wherever it sits in a value. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RawJson, stringifyJson, withRawPlaceholders } from '../../src/contract/raw-json.js';

const META = '{"id": 18446744073709551617, "f": 1.0, "e": 1e2, "s": "\\u00e9\\/"}';

test('stringifyJson writes the raw text byte for byte, at any depth, several times', () => {
  const out = stringifyJson({ type: 'call.result', data: { metadata: new RawJson(META), list: [new RawJson('1.0'), 2] }, n: null });
  assert.equal(out, `{"type":"call.result","data":{"metadata":${META},"list":[1.0,2]},"n":null}`);
  // Plain JSON.stringify (a path that does not know RawJson) still gives valid JSON, parsed values.
  assert.equal(JSON.stringify({ m: new RawJson(' 1.0 ') }), '{"m":1}');
});

test('a client string that looks like a placeholder is left alone (the nonce is new each time)', () => {
  const first = withRawPlaceholders({ m: new RawJson('1') });
  const forged = String(first.value && (first.value as { m: string }).m);
  const out = stringifyJson({ m: new RawJson('1.0'), context: forged });
  assert.equal(out, `{"m":1.0,"context":${JSON.stringify(forged)}}`);
});

test('dates and other class instances are serialized as JSON.stringify does', () => {
  const d = new Date('2024-01-02T03:04:05.000Z');
  assert.equal(stringifyJson({ d, m: new RawJson('[]') }), '{"d":"2024-01-02T03:04:05.000Z","m":[]}');
  assert.equal(withRawPlaceholders({ a: 1 }).count, 0);
});
