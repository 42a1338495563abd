/** The JS HMAC-SHA1 of the SRTP transforms: RFC 2202's vectors, and node:crypto's answer for every length. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { HmacSha1 } from '../../../src/telephony/rtp/srtp/hmac-sha1.js';

test('RFC 2202 §3 test cases 1 and 2', () => {
  assert.equal(new HmacSha1(Buffer.alloc(20, 0x0b)).mac(Buffer.from('Hi There'), 8).toString('hex'), 'b617318655057264e28bc0b6fb378c8ef146be00');
  const jefe = Buffer.from('what do ya want for nothing?');
  assert.equal(new HmacSha1(Buffer.from('Jefe')).mac(jefe, jefe.length).toString('hex'), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
});

test('equals createHmac for every message length 0-300, with and without a 4-byte suffix, one instance reused', () => {
  const key = randomBytes(20);
  const h = new HmacSha1(key);
  for (let len = 0; len <= 300; len++) {
    const data = randomBytes(len + 7); // bytes past `end` must not count
    for (const suffix of [undefined, randomBytes(4)]) {
      const want = createHmac('sha1', key).update(data.subarray(0, len));
      if (suffix) want.update(suffix);
      assert.equal(h.mac(data, len, suffix).toString('hex'), want.digest('hex'), `length ${len}${suffix ? ' + suffix' : ''}`);
    }
  }
});

test('keys longer than a block are refused (SRTP keys are 20 bytes)', () => {
  assert.throws(() => new HmacSha1(Buffer.alloc(65)), RangeError);
});
