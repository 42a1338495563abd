import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../../src/crypto/api-keys.js';

test('round-trips and never stores the plaintext', () => {
  const box = new SecretBox(randomBytes(32));
  const stored = box.encrypt('s3cret-pass');
  assert.match(stored, /^v1:/);
  assert.ok(!stored.includes('s3cret'));
  assert.notEqual(box.encrypt('s3cret-pass'), stored, 'a fresh IV each time');
  assert.equal(box.decrypt(stored), 's3cret-pass');
});

test('a wrong key or a tampered value is an error, not garbage', () => {
  const a = new SecretBox(randomBytes(32));
  const b = new SecretBox(randomBytes(32));
  const stored = a.encrypt('x');
  assert.throws(() => b.decrypt(stored));
  const buf = Buffer.from(stored.slice(3), 'base64');
  buf[buf.length - 1] = (buf[buf.length - 1] as number) ^ 1;
  assert.throws(() => a.decrypt(`v1:${buf.toString('base64')}`));
  assert.throws(() => a.decrypt('v2:abc'));
});

test('key parsing accepts hex and base64 of 32 bytes only', () => {
  const raw = randomBytes(32);
  assert.deepEqual(SecretBox.parseKey(raw.toString('hex')), raw);
  assert.deepEqual(SecretBox.parseKey(raw.toString('base64')), raw);
  assert.throws(() => SecretBox.parseKey('short'));
  assert.throws(() => SecretBox.parseKey(randomBytes(16).toString('hex')));
});

test('fingerprints: equal for equal secrets under one key, different under another, never the secret or its plain hash', async () => {
  const { createHash } = await import('node:crypto');
  const key = randomBytes(32);
  const a = new SecretBox(key);
  assert.equal(a.fingerprint('s3cret'), new SecretBox(key).fingerprint('s3cret'));
  assert.notEqual(a.fingerprint('s3cret'), a.fingerprint('s3cret2'));
  assert.notEqual(a.fingerprint('s3cret'), new SecretBox(randomBytes(32)).fingerprint('s3cret'));
  assert.ok(!a.fingerprint('s3cret').includes(createHash('sha256').update('s3cret').digest('base64url')));
  assert.match(a.fingerprint('s3cret'), /^f1:[A-Za-z0-9_-]{43}$/);
});

test('API keys are random, hashed deterministically, and shown by prefix only', () => {
  const k = generateApiKey();
  assert.match(k, /^oc_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(generateApiKey(), k);
  assert.equal(hashApiKey(k), hashApiKey(k));
  assert.match(hashApiKey(k), /^[0-9a-f]{64}$/);
  assert.equal(apiKeyPrefix(k).length, 9);
});
