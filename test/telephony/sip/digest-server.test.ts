import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DigestClient, parseChallenge } from '../../../src/telephony/sip/digest.js';
import { DigestVerifier, NONCE_TTL_MS } from '../../../src/telephony/sip/digest-server.js';

const URI = 'sip:+16285550100@10.0.0.1:5060';
const CREDS = { username: 'pbx', password: 'right-one' };

function setup() {
  let now = 1_000_000;
  const verifier = new DigestVerifier('outcall', () => now);
  const client = new DigestClient();
  /** The caller's Authorization for our challenge number `i` (0: MD5, 1: SHA-256). */
  const answer = (i: number, creds = CREDS, uri = URI, stale = false) => {
    const ch = parseChallenge(verifier.challenge(stale)[i] ?? '');
    assert.ok(ch.ok);
    return client.authorize(ch.value, creds, 'INVITE', uri);
  };
  return { verifier, client, answer, advance: (ms: number) => (now += ms) };
}

describe('digest verification (RFC 7616 / RFC 8760, the server side)', () => {
  test('challenges offer MD5 then SHA-256, qop=auth, one nonce; either answer with the right password passes', () => {
    const s = setup();
    const [md5, sha] = s.verifier.challenge();
    assert.match(md5 ?? '', /^Digest realm="outcall", nonce="[A-Za-z0-9_-]{32}", algorithm=MD5, qop="auth"$/);
    assert.match(sha ?? '', /algorithm=SHA-256/);
    assert.equal(/nonce="([^"]+)"/.exec(md5 ?? '')?.[1], /nonce="([^"]+)"/.exec(sha ?? '')?.[1]);
    assert.deepEqual(s.verifier.verify([s.answer(0)], 'INVITE', CREDS), { kind: 'ok' });
    assert.deepEqual(s.verifier.verify([s.answer(1)], 'INVITE', CREDS), { kind: 'ok' });
  });

  test('refused: a wrong password, another user, a non-SIP uri, another method, a forged nonce, a replay', () => {
    const s = setup();
    assert.deepEqual(s.verifier.verify([s.answer(0, { ...CREDS, password: 'guess' })], 'INVITE', CREDS), { kind: 'bad', why: 'wrong credentials' });
    assert.equal(s.verifier.verify([s.answer(0, { username: 'other', password: 'right-one' })], 'INVITE', CREDS).kind, 'bad');
    assert.deepEqual(s.verifier.verify([s.answer(0, CREDS, 'https://example.com/')], 'INVITE', CREDS), { kind: 'bad', why: 'the digest uri is not a SIP URI' });
    // SIPp names the host instead of the Request-URI: the hash covers what it names, and passes.
    assert.deepEqual(s.verifier.verify([s.answer(0, CREDS, 'sip:10.0.0.1:5060')], 'INVITE', CREDS), { kind: 'ok' });
    // The method is in the hash: an INVITE's answer does not pass for another method.
    assert.deepEqual(s.verifier.verify([s.answer(1)], 'BYE', CREDS), { kind: 'bad', why: 'wrong credentials' });
    const forged = s.answer(0).replace(/nonce="([^"]+)"/, (_m, n: string) => `nonce="${n.slice(0, -2)}AA"`);
    assert.deepEqual(s.verifier.verify([forged], 'INVITE', CREDS), { kind: 'bad', why: 'not a nonce of ours' });
    // Another process's nonces (another key) are not ours either.
    const elsewhere = new DigestVerifier('outcall', () => 1_000_000);
    const ch = parseChallenge(elsewhere.challenge()[0] ?? '');
    assert.ok(ch.ok);
    assert.equal(s.verifier.verify([s.client.authorize(ch.value, CREDS, 'INVITE', URI)], 'INVITE', CREDS).kind, 'bad');
    const once = s.answer(0);
    assert.deepEqual(s.verifier.verify([once], 'INVITE', CREDS), { kind: 'ok' });
    assert.deepEqual(s.verifier.verify([once], 'INVITE', CREDS), { kind: 'bad', why: 'replayed (nc did not rise)' });
  });

  test('an expired nonce with the right password is stale (challenge again with stale=true); no Authorization for our realm is absent', () => {
    const s = setup();
    const old = s.answer(0);
    s.advance(NONCE_TTL_MS + 1);
    assert.deepEqual(s.verifier.verify([old], 'INVITE', CREDS), { kind: 'stale' });
    assert.match(s.verifier.challenge(true)[0] ?? '', /stale=true$/);
    assert.deepEqual(s.verifier.verify([], 'INVITE', CREDS), { kind: 'absent' });
    const otherRealm = old.replace('realm="outcall"', 'realm="carrier"');
    assert.deepEqual(s.verifier.verify([otherRealm], 'INVITE', CREDS), { kind: 'absent' });
  });
});
