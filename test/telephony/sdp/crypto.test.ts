/**
 * SDES in offer/answer (RFC 4568): what each media_encryption mode offers, which answers and offers it
 * accepts, which key goes which way, and that broken crypto lines are skipped, never thrown on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import { answerOffer, createOffer, negotiate, SdpError, type AnswerLocal, type OfferSpec } from '../../../src/telephony/sdp/index.js';
import { newLocalCrypto, usableCryptoLines, type LocalCrypto } from '../../../src/telephony/sdp/crypto.js';

const KEY_A = randomBytes(30).toString('base64');
const KEY_B = randomBytes(30).toString('base64');

function remote(profile: string, crypto: string[], opts: { ip?: string } = {}): string {
  return [
    'v=0', 'o=peer 1 1 IN IP4 203.0.113.5', 's=-', `c=IN IP4 ${opts.ip ?? '203.0.113.5'}`, 't=0 0',
    `m=audio 40000 ${profile} 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
    ...crypto.map((c) => `a=crypto:${c}`), 'a=sendrecv', '',
  ].join('\r\n');
}

function spec(encryption: OfferSpec['encryption'], crypto: readonly LocalCrypto[] = newLocalCrypto()): OfferSpec {
  return { address: '192.0.2.10', port: 10000, codecs: ['PCMU', 'telephone-event'], encryption, crypto };
}

const sdpCode = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof SdpError ? err.code : `not an SdpError: ${String(err)}`;
  }
};

test('our offers: disabled is plain RTP/AVP; optional adds one crypto line per suite to RTP/AVP; required is RTP/SAVP', () => {
  const plain = sdpTransform.parse(createOffer({ ...spec('disabled'), crypto: [] })).media[0];
  assert.equal(plain?.protocol, 'RTP/AVP');
  assert.equal(plain?.crypto, undefined);
  const keys = newLocalCrypto();
  const optional = sdpTransform.parse(createOffer(spec('optional', keys))).media[0];
  assert.equal(optional?.protocol, 'RTP/AVP', 'best-effort SRTP keeps the plain profile (RFC 4568 §9.1 is for SAVP)');
  assert.deepEqual(
    optional?.crypto?.map((c) => [c.id, c.suite, c.config]),
    [
      [1, 'AES_CM_128_HMAC_SHA1_80', `inline:${keys[0]?.inline}`],
      [2, 'AES_CM_128_HMAC_SHA1_32', `inline:${keys[1]?.inline}`],
    ],
  );
  const required = sdpTransform.parse(createOffer(spec('required', keys))).media[0];
  assert.equal(required?.protocol, 'RTP/SAVP');
  assert.equal(required?.crypto?.length, 2);
  assert.throws(() => createOffer({ ...spec('required'), crypto: [] }), RangeError, 'no keys, no encrypted offer');
});

test('fresh keys: 30 random bytes per suite (16-byte master key + 14-byte salt), never the same twice', () => {
  const a = newLocalCrypto();
  const b = newLocalCrypto();
  for (const k of [...a, ...b]) assert.equal(Buffer.from(k.inline, 'base64').length, 30);
  assert.notEqual(a[0]?.inline, a[1]?.inline);
  assert.notEqual(a[0]?.inline, b[0]?.inline);
});

test('the answer to our offer: its tag and suite pick our key to send with, its own key is the one we decrypt with', () => {
  const keys = newLocalCrypto();
  const n80 = negotiate(spec('required', keys), remote('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}`]));
  assert.deepEqual(n80.srtp, { suite: 'AES_CM_128_HMAC_SHA1_80', sendInline: keys[0]?.inline, recvInline: KEY_A });
  const n32 = negotiate(spec('optional', keys), remote('RTP/AVP', [`2 AES_CM_128_HMAC_SHA1_32 inline:${KEY_B}|2^31`]));
  assert.deepEqual(n32.srtp, { suite: 'AES_CM_128_HMAC_SHA1_32', sendInline: keys[1]?.inline, recvInline: KEY_B });
});

test('an answer without a usable key: plain under optional, NO_COMMON_CRYPTO under required or in RTP/SAVP', () => {
  assert.equal(negotiate(spec('optional'), remote('RTP/AVP', [])).srtp, null, 'the callee ignored the keys: plain RTP');
  assert.equal(sdpCode(() => negotiate(spec('required'), remote('RTP/AVP', []))), 'NO_COMMON_CRYPTO');
  // A tag we offered with another suite is no acceptance of it (RFC 4568 §7.1.3).
  assert.equal(sdpCode(() => negotiate(spec('required'), remote('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_32 inline:${KEY_A}`]))), 'NO_COMMON_CRYPTO');
  assert.equal(sdpCode(() => negotiate(spec('optional'), remote('RTP/SAVP', [`9 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}`]))), 'NO_COMMON_CRYPTO');
  assert.equal(sdpCode(() => negotiate({ ...spec('disabled'), crypto: [] }, remote('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}`]))), 'UNSUPPORTED_TRANSPORT');
  assert.equal(negotiate({ ...spec('disabled'), crypto: [] }, remote('RTP/AVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}`])).srtp, null, 'disabled never encrypts');
});

const local = (encryption: AnswerLocal['encryption'], crypto = newLocalCrypto()): AnswerLocal => ({
  address: '192.0.2.10',
  port: 10000,
  codecs: ['PCMU', 'telephone-event'],
  encryption,
  crypto,
});

test('answering an RTP/SAVP offer: its tag and suite, our key, in RTP/SAVP; disabled refuses it (488)', () => {
  const keys = newLocalCrypto();
  const offer = remote('RTP/SAVP', [`7 AES_CM_128_HMAC_SHA1_32 inline:${KEY_A}`, `8 AES_CM_128_HMAC_SHA1_80 inline:${KEY_B}`]);
  const r = answerOffer(offer, local('optional', keys));
  const m = sdpTransform.parse(r.sdp).media[0];
  assert.equal(m?.protocol, 'RTP/SAVP');
  assert.deepEqual(m?.crypto?.map((c) => [c.id, c.suite, c.config]), [[7, 'AES_CM_128_HMAC_SHA1_32', `inline:${keys[1]?.inline}`]], "the offerer's first usable line");
  assert.deepEqual(r.media.srtp, { suite: 'AES_CM_128_HMAC_SHA1_32', sendInline: keys[1]?.inline, recvInline: KEY_A });
  assert.equal(sdpCode(() => answerOffer(offer, local('disabled', []))), 'UNSUPPORTED_TRANSPORT');
});

test('best-effort offers (RTP/AVP with keys, as baresip and Asterisk send): encrypted under optional and required, plain under disabled', () => {
  const offer = remote('RTP/AVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}`]);
  for (const mode of ['optional', 'required'] as const) {
    const r = answerOffer(offer, local(mode));
    const m = sdpTransform.parse(r.sdp).media[0];
    assert.equal(m?.protocol, 'RTP/AVP', mode);
    assert.equal(m?.crypto?.[0]?.id, 1, mode);
    assert.equal(r.media.srtp?.recvInline, KEY_A, mode);
  }
  const plain = answerOffer(offer, local('disabled', []));
  assert.equal(sdpTransform.parse(plain.sdp).media[0]?.crypto, undefined);
  assert.equal(plain.media.srtp, null);
});

test('an offer without a usable key: plain under optional, NO_COMMON_CRYPTO (488) under required', () => {
  const r = answerOffer(remote('RTP/AVP', []), local('optional'));
  assert.equal(r.media.srtp, null);
  assert.doesNotMatch(r.sdp, /a=crypto/);
  assert.equal(sdpCode(() => answerOffer(remote('RTP/AVP', []), local('required'))), 'NO_COMMON_CRYPTO');
  assert.equal(sdpCode(() => answerOffer(remote('RTP/SAVP', ['1 F8_128_HMAC_SHA1_80 inline:' + KEY_A]), local('optional'))), 'NO_COMMON_CRYPTO');
});

test('a re-offer keeps the suite in use when it still lists it, whatever comes first', () => {
  const offer = remote('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}`, `2 AES_CM_128_HMAC_SHA1_32 inline:${KEY_B}`]);
  assert.equal(answerOffer(offer, local('required')).media.srtp?.suite, 'AES_CM_128_HMAC_SHA1_80');
  assert.equal(answerOffer(offer, { ...local('required'), currentSuite: 'AES_CM_128_HMAC_SHA1_32' }).media.srtp?.suite, 'AES_CM_128_HMAC_SHA1_32');
});

test('crypto lines we cannot use are skipped without throwing: MKI, several keys, session parameters, bad keys, unknown suites', () => {
  const short = randomBytes(20).toString('base64');
  const lines = [
    `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}|2^20|1:4`, // MKI
    `2 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A};inline:${KEY_B}`, // two keys
    `3 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A} UNENCRYPTED_SRTP`, // session parameter
    `4 AES_CM_128_HMAC_SHA1_80 inline:${short}`, // 20 bytes, not 30
    `5 AES_CM_128_HMAC_SHA1_80 inline:not*base64*at*all*`,
    `6 AEAD_AES_256_GCM inline:${KEY_A}`,
    `7 AES_CM_128_HMAC_SHA1_80 key:${KEY_A}`,
    `8 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}|forever`,
    `9 AES_CM_128_HMAC_SHA1_80 inline:${KEY_B}|2^20`, // a lifetime is the key owner's to honour: usable
  ];
  const m = sdpTransform.parse(remote('RTP/SAVP', lines)).media[0];
  assert.ok(m);
  assert.deepEqual(
    usableCryptoLines(m).map((l) => l.tag),
    [9],
  );
  const r = answerOffer(remote('RTP/SAVP', lines), local('required'));
  assert.equal(r.media.srtp?.recvInline, KEY_B);
  assert.match(r.sdp, /a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:/);
});
