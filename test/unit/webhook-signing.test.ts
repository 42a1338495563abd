import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWebhookSecret, sign, signatureHeaders, verifyWebhook } from '../../src/http-client/signing.js';

test('matches the Standard Webhooks reference example', () => {
  // The example from the Standard Webhooks specification's signature section.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const sig = sign(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
  assert.equal(sig, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});

test('verify accepts any valid secret during rotation and rejects tampering and old timestamps', () => {
  const oldS = generateWebhookSecret();
  const newS = generateWebhookSecret();
  assert.match(newS, /^whsec_/);
  const now = new Date('2026-05-01T00:00:00Z');
  const ts = Math.floor(now.getTime() / 1000);
  const body = '{"type":"call.result","data":{"metadata":{"b":1,"a":2}}}';
  const h = signatureHeaders([newS, oldS], 'evt_1', ts, body);
  assert.equal(h['webhook-signature'].split(' ').length, 2);
  assert.doesNotThrow(() => verifyWebhook(oldS, h, body, { now }));
  assert.doesNotThrow(() => verifyWebhook(newS, h, body, { now }));
  assert.throws(() => verifyWebhook(generateWebhookSecret(), h, body, { now }), /no matching signature/);
  assert.throws(() => verifyWebhook(newS, h, body.replace('"b":1', '"b":2'), { now }), /no matching signature/);
  assert.throws(() => verifyWebhook(newS, { ...h, 'webhook-id': 'evt_2' }, body, { now }), /no matching signature/);
  assert.throws(() => verifyWebhook(newS, h, body, { now: new Date(now.getTime() + 301_000) }), /too old/);
  assert.throws(() => verifyWebhook(newS, { 'webhook-id': 'x' }, body, { now }), /missing/);
});
