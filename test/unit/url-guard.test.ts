import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertPublicUrl, isPrivateAddress } from '../../src/http-client/url-guard.js';

test('private, loopback, link-local and metadata addresses are private', () => {
  for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '224.0.0.1']) {
    assert.equal(isPrivateAddress(ip), true, ip);
  }
  for (const ip of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8', 'example.com']) {
    assert.equal(isPrivateAddress(ip), false, ip);
  }
});

test('assertPublicUrl refuses private hosts unless allowed', () => {
  assert.throws(() => assertPublicUrl('http://127.0.0.1:9/x', 'callback_url', false), { code: 'private_url_not_allowed' });
  assert.throws(() => assertPublicUrl('http://[::1]/x', 'callback_url', false), { code: 'private_url_not_allowed' });
  assert.throws(() => assertPublicUrl('https://localhost/x', 'callback_url', false), { code: 'private_url_not_allowed' });
  assert.throws(() => assertPublicUrl('http://metadata.google.internal/', 'callback_url', false), { code: 'private_url_not_allowed' });
  assert.doesNotThrow(() => assertPublicUrl('https://hooks.example.com/x', 'callback_url', false));
  assert.doesNotThrow(() => assertPublicUrl('http://127.0.0.1:9/x', 'callback_url', true));
});
