import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { computeDigestResponse, DigestClient, parseAuthParams, parseChallenge, type DigestAlgorithm } from '../../../src/telephony/sip/digest.js';

// RFC 7616 §3.9.1 example (values from the RFC text).
const RFC = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  uri: '/dir/index.html',
  method: 'GET',
  nc: '00000001',
};

/** Independent implementation of the RFC 2617/7616 formulas, written out longhand. */
function expected(alg: DigestAlgorithm, user: string, realm: string, pass: string, nonce: string, method: string, uri: string, qop: string | undefined, nc: string, cnonce: string): string {
  const algo = alg.startsWith('MD5') ? 'md5' : 'sha256';
  const h = (s: string): string => createHash(algo).update(s).digest('hex');
  const a1 = alg.endsWith('-sess') ? `${h(`${user}:${realm}:${pass}`)}:${nonce}:${cnonce}` : `${user}:${realm}:${pass}`;
  const a2 = `${method}:${uri}`;
  return qop ? h(`${h(a1)}:${nonce}:${nc}:${cnonce}:${qop}:${h(a2)}`) : h(`${h(a1)}:${nonce}:${h(a2)}`);
}

describe('digest', () => {
  test('RFC 7616 §3.9.1 vectors: MD5 and SHA-256', () => {
    const md5 = computeDigestResponse({ algorithm: 'MD5', ...RFC, qop: 'auth' });
    const sha = computeDigestResponse({ algorithm: 'SHA-256', ...RFC, qop: 'auth' });
    assert.equal(md5, '8ca523f5e9506fed4657c9700eebdbec');
    assert.equal(sha, '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  test('every algorithm, with and without qop, matches the formulas computed independently', () => {
    for (const alg of ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess'] as const) {
      for (const qop of ['auth', undefined]) {
        const got = computeDigestResponse({ algorithm: alg, username: 'alice', realm: 'sipp.test', password: 's3cret', nonce: 'abc', method: 'INVITE', uri: 'sip:bob@h', qop, nc: '00000002', cnonce: 'cn' });
        assert.equal(got, expected(alg, 'alice', 'sipp.test', 's3cret', 'abc', 'INVITE', 'sip:bob@h', qop, '00000002', 'cn'), `${alg} ${qop ?? 'no-qop'}`);
      }
    }
  });

  test('parses challenges with quoted commas, qop lists, stale and algorithm', () => {
    const c = parseChallenge('Digest realm="a, b", nonce="n1", opaque="o", qop="auth,auth-int", algorithm=SHA-256-sess, stale=TRUE');
    assert.ok(c.ok);
    if (!c.ok) return;
    assert.equal(c.value.realm, 'a, b');
    assert.deepEqual(c.value.qop, ['auth', 'auth-int']);
    assert.equal(c.value.algorithm, 'SHA-256-sess');
    assert.equal(c.value.stale, true);
    const legacy = parseChallenge('Digest realm="r", nonce="n"');
    assert.ok(legacy.ok && legacy.value.algorithm === 'MD5' && legacy.value.qop.length === 0 && !legacy.value.stale);
    for (const bad of ['Basic realm="x"', 'Digest nonce="n"', 'Digest realm="r", nonce="n", algorithm=FOO', 'Digest realm="unterminated', '']) assert.equal(parseChallenge(bad).ok, false, bad);
    assert.equal(parseAuthParams('Digest a=1,, junk').ok, false);
  });

  test('Authorization header: nc counts per nonce, cnonce fresh, response verifiable', () => {
    let i = 0;
    const client = new DigestClient(() => `cn${++i}`);
    const ch = parseChallenge('Digest realm="sipp.test", nonce="N", qop="auth", algorithm=MD5, opaque="op"');
    assert.ok(ch.ok);
    if (!ch.ok) return;
    const h1 = client.authorize(ch.value, { username: 'alice', password: 's3cret' }, 'INVITE', 'sip:bob@x');
    const h2 = client.authorize(ch.value, { username: 'alice', password: 's3cret' }, 'INVITE', 'sip:bob@x');
    const p1 = parseAuthParams(h1);
    const p2 = parseAuthParams(h2);
    assert.ok(p1.ok && p2.ok);
    if (!p1.ok || !p2.ok) return;
    assert.equal(p1.value.params.get('nc'), '00000001');
    assert.equal(p2.value.params.get('nc'), '00000002');
    assert.equal(p1.value.params.get('opaque'), 'op');
    assert.equal(p1.value.params.get('response'), expected('MD5', 'alice', 'sipp.test', 's3cret', 'N', 'INVITE', 'sip:bob@x', 'auth', '00000001', 'cn1'));
    // A fresh cnonce from crypto by default.
    const real = new DigestClient();
    const a = parseAuthParams(real.authorize(ch.value, { username: 'u', password: 'p' }, 'BYE', 'sip:x@y'));
    const b = parseAuthParams(real.authorize(ch.value, { username: 'u', password: 'p' }, 'BYE', 'sip:x@y'));
    assert.ok(a.ok && b.ok && a.value.params.get('cnonce') !== b.value.params.get('cnonce'));
    assert.ok(a.ok && (a.value.params.get('cnonce') ?? '').length >= 16);
  });
});
