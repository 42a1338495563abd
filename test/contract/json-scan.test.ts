/** The scanner that finds a body's top-level members as the text they were written in. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { JsonScanError, topLevelMembers, uniqueMembers } from '../../src/contract/json-scan.js';

const raw = (text: string, name: string) => uniqueMembers(text).get(name);

test('numbers, escapes and literals come back as written, not as JSON.parse would rewrite them', () => {
  const body = '{"to":"+1","metadata":{"id": 18446744073709551617, "f": 1.0, "e": 1e2, "s": "\\u00e9\\/"}}';
  assert.equal(raw(body, 'metadata'), '{"id": 18446744073709551617, "f": 1.0, "e": 1e2, "s": "\\u00e9\\/"}');
  assert.notEqual(JSON.stringify((JSON.parse(body) as { metadata: unknown }).metadata), raw(body, 'metadata'), 'JSON.parse does lose them');
  assert.equal(raw('{"m": -0.000e-7}', 'm'), '-0.000e-7');
  assert.equal(raw('{"m":true,"n":false,"o":null}', 'n'), 'false');
  assert.equal(raw('{"m": ' + '9'.repeat(2000) + '}', 'm'), '9'.repeat(2000));
});

test('nesting: objects in arrays in objects, the member ends where its own bracket closes', () => {
  const body = '{"a": [{"b": [1, {"c": {}}]}, []], "metadata": {"x": [[[]]], "y": {"z": {"w": 1}}}, "after": 2}';
  assert.equal(raw(body, 'a'), '[{"b": [1, {"c": {}}]}, []]');
  assert.equal(raw(body, 'metadata'), '{"x": [[[]]], "y": {"z": {"w": 1}}}');
  assert.equal(raw(body, 'after'), '2');
  // Deep nesting does not recurse (no stack overflow).
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.equal(raw(`{"d": ${deep}}`, 'd'), deep);
});

test('strings: escaped quotes, backslashes, braces and brackets inside strings are not structure', () => {
  const body = String.raw`{"metadata": {"q": "a \"quoted\" } ] { [ word", "bs": "ends with a backslash \\", "k\"}": 1}, "to": "x"}`;
  assert.equal(raw(body, 'metadata'), String.raw`{"q": "a \"quoted\" } ] { [ word", "bs": "ends with a backslash \\", "k\"}": 1}`);
  assert.equal(raw(body, 'to'), '"x"');
  assert.equal(raw('{"s": "\\\\"}', 's'), '"\\\\"');
  assert.equal(raw('{"metadata": "just a string"}', 'metadata'), '"just a string"');
});

test('whitespace: around names, colons, commas and the object is skipped; inside a value it is kept', () => {
  const body = ' \r\n\t{ \n "metadata" \t:\r\n { "a" :  1 ,\n "b": [ 1 , 2 ] } \n , "to" : "+1" } \n';
  assert.equal(raw(body, 'metadata'), '{ "a" :  1 ,\n "b": [ 1 , 2 ] }');
  assert.equal(raw(body, 'to'), '"+1"');
  assert.deepEqual(topLevelMembers('{}'), []);
  assert.deepEqual(topLevelMembers(' { } '), []);
});

test('names are compared decoded, in order, and a name given twice is refused', () => {
  assert.deepEqual(topLevelMembers('{"b":1,"a":2,"b":3}').map((m) => m.name), ['b', 'a', 'b']);
  assert.equal(raw('{"metad\\u0061ta": 5}', 'metadata'), '5');
  for (const body of ['{"metadata":1,"metadata":2}', '{"metadata":1,"metad\\u0061ta":2}', '{"to":"a","x":{},"to":"b"}']) {
    assert.throws(() => uniqueMembers(body), (e: unknown) => e instanceof JsonScanError && e.duplicate !== undefined, body);
  }
  // Duplicates inside a value are the value's business (kept verbatim), not a top-level duplicate.
  assert.equal(raw('{"metadata": {"a": 1, "a": 2}}', 'metadata'), '{"a": 1, "a": 2}');
});

test('text that is not one JSON object is refused', () => {
  for (const bad of ['[1]', '"s"', '', '{', '{"a"}', '{"a":}', '{"a":1,}', '{"a":1} x', '{"a":[1}', '{"a":"x', '{"a":01}', '{"a":tru}', '{a:1}', '{"a":1 "b":2}', '{"a":"\u0001"}']) {
    assert.throws(() => topLevelMembers(bad), JsonScanError, JSON.stringify(bad));
  }
});

test('property: for any JSON object, each member re-parses to the value JSON.parse gives', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.integer({ min: 0, max: 3 }), (obj, indent) => {
      const text = JSON.stringify(obj, null, indent);
      const members = uniqueMembers(text);
      assert.deepEqual([...members.keys()], Object.keys(obj));
      for (const [k, v] of members) assert.deepEqual(JSON.parse(v), JSON.parse(JSON.stringify(obj[k])));
    }),
    { numRuns: 300 },
  );
});
