import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkE164, isSipUri } from '../../src/contract/e164.js';

test('valid E.164 numbers pass', () => {
  for (const n of ['+14155550123', '+442071838750', '+4930123456', '+861012345678901'.slice(0, 16)]) assert.deepEqual(checkE164(n), { ok: true }, n);
});

test('E.164 errors say what is wrong', () => {
  const reason = (v: string) => {
    const r = checkE164(v);
    assert.equal(r.ok, false, v);
    return r.ok ? '' : r.reason;
  };
  assert.match(reason('14155550123'), /missing \+ and country code/);
  assert.match(reason('+1 415 555 0123'), /dashes, spaces/);
  assert.match(reason('+1-415-555-0123'), /dashes, spaces/);
  assert.match(reason('+1234567890123456'), /too long: 16 digits/);
  assert.match(reason('+0123456789'), /starting with 0/);
  assert.match(reason('+1415abc0123'), /only digits/);
  assert.match(reason('+12345'), /too short/);
  assert.match(reason(''), /empty/);
});

test('sip URIs', () => {
  for (const u of ['sip:alice@example.com', 'sips:bob@10.0.0.1:5061', 'sip:+14155550123@trunk.example.com;user=phone', 'sip:[2001:db8::1]']) {
    assert.equal(isSipUri(u), true, u);
  }
  for (const u of ['sip:', 'sip:alice@', 'sip:a b@example.com', 'sip:alice@example.com\r\nX: y', 'http://example.com', `sip:${'a'.repeat(300)}@x.com`]) {
    assert.equal(isSipUri(u), false, u);
  }
});
