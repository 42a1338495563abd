import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../helpers/virtual-clock.js';
import { FakeTransport, respondTo } from './fake-transport.js';
import { UserAgent } from '../../../src/telephony/sip/user-agent.js';
import type { RegistrationOptions, RegistrationStatus } from '../../../src/telephony/sip/registration.js';
import type { SipRequest } from '../../../src/telephony/sip/message.js';
import type { HostPort } from '../../../src/telephony/sip/transport.js';
import { parseAuthParams } from '../../../src/telephony/sip/digest.js';

const REGISTRAR = { host: '10.0.0.2', port: 5080 };

/** A fake transport that also records the CRLF keepalives (which are not SIP messages). */
class KeepaliveTransport extends FakeTransport {
  readonly keepalives: HostPort[] = [];
  override send(data: Buffer, dest: HostPort): Promise<void> {
    if (data.toString() === '\r\n\r\n') {
      this.keepalives.push(dest);
      return Promise.resolve();
    }
    return super.send(data, dest);
  }
}

function setup(o: Partial<RegistrationOptions> = {}) {
  const clock = new VirtualClock();
  const transport = new KeepaliveTransport('UDP', { host: '10.0.0.1', port: 5060 });
  const ua = new UserAgent({ transports: [transport], clock });
  const statuses: RegistrationStatus[] = [];
  const reg = ua.register({
    registrar: { ...REGISTRAR, transport: 'udp' },
    user: 'acme',
    credentials: { username: 'acme', password: 's3cret' },
    expiresS: 600,
    random: () => 1,
    onStatus: (s) => statuses.push(s),
    ...o,
  });
  const registers = (): SipRequest[] => transport.requests('REGISTER');
  const last = (): SipRequest => {
    const r = registers().at(-1);
    assert.ok(r, 'no REGISTER sent');
    return r;
  };
  const challenge = (req: SipRequest, nonce = 'n1') =>
    transport.deliver(respondTo(req, 401, { toTag: 'reg', headers: [`WWW-Authenticate: Digest realm="carrier", nonce="${nonce}", qop="auth", algorithm=SHA-256`] }), REGISTRAR);
  const ok = (req: SipRequest, headers: string[]) => transport.deliver(respondTo(req, 200, { toTag: 'reg', headers }), REGISTRAR);
  return { clock, transport, ua, reg, statuses, registers, last, challenge, ok };
}

describe('registration (RFC 3261 §10.2)', () => {
  test('REGISTER: registrar Request-URI, AOR in To/From, our Contact, Expires; 401 answered; the granted expiry is kept and refreshed before it ends', () => {
    const s = setup();
    const first = s.last();
    assert.equal(first.uri, 'sip:10.0.0.2:5080');
    assert.equal(first.core.to.uri.user, 'acme');
    assert.equal(first.core.from.uri.user, 'acme');
    assert.equal(first.headers.get('Contact'), '<sip:acme@10.0.0.1:5060>');
    assert.equal(first.headers.get('Expires'), '600');
    assert.deepEqual(s.transport.sent[0]?.dest, REGISTRAR);
    assert.equal(s.statuses.at(-1)?.state, undefined, 'no state reported before the registrar answers');
    s.challenge(first);
    const second = s.last();
    assert.equal(s.registers().length, 2);
    assert.equal(second.core.callId, first.core.callId, '§10.2: same Call-ID');
    assert.equal(second.core.cseq.seq, first.core.cseq.seq + 1);
    const auth = parseAuthParams(second.headers.get('Authorization') ?? '');
    assert.ok(auth.ok);
    assert.equal(auth.ok && auth.value.params.get('uri'), 'sip:10.0.0.2:5080');
    // The registrar grants less than asked, on the Contact (which wins over Expires, §10.2.4).
    s.ok(second, ['Contact: <sip:acme@10.0.0.1:5060>;expires=120', 'Expires: 600']);
    const registered = s.statuses.at(-1);
    assert.equal(registered?.state, 'registered');
    assert.equal(registered?.expiresAtMs, s.clock.wallClockMs() + 120_000);
    assert.equal(registered?.lastSuccessAtMs, s.clock.wallClockMs());
    // Refreshed 60 s before the end (but not before half of it).
    s.clock.advance(59_999);
    assert.equal(s.registers().length, 2);
    s.clock.advance(1);
    assert.equal(s.registers().length, 3);
    const refresh = s.last();
    assert.equal(refresh.core.callId, first.core.callId);
    assert.ok(refresh.core.cseq.seq > second.core.cseq.seq);
  });

  test('423 Interval Too Brief: asks again with Min-Expires', () => {
    const s = setup({ expiresS: 60 });
    s.transport.deliver(respondTo(s.last(), 423, { toTag: 'r', headers: ['Min-Expires: 300'] }), REGISTRAR);
    assert.equal(s.registers().length, 2);
    assert.equal(s.last().headers.get('Expires'), '300');
  });

  test('wrong credentials: failed with the reason, then retried with backoff (30 s, 60 s, ...) until it works', () => {
    const s = setup({ retryBaseMs: 30_000 });
    s.challenge(s.last(), 'n1');
    // Same nonce again: the credentials are wrong; no third REGISTER now.
    s.challenge(s.last(), 'n1');
    assert.equal(s.registers().length, 2);
    const failed = s.statuses.at(-1);
    assert.equal(failed?.state, 'failed');
    assert.match(failed?.lastError ?? '', /401.*credentials/);
    s.clock.advance(29_999);
    assert.equal(s.registers().length, 2);
    s.clock.advance(1);
    assert.equal(s.registers().length, 3, 'retried after 30 s');
    s.transport.deliver(respondTo(s.last(), 503, { toTag: 'r', headers: ['Retry-After: 90'] }), REGISTRAR);
    s.clock.advance(89_999);
    assert.equal(s.registers().length, 3, 'Retry-After (90 s) beats the 60 s backoff');
    s.clock.advance(1);
    assert.equal(s.registers().length, 4);
    s.ok(s.last(), ['Contact: <sip:acme@10.0.0.1:5060>;expires=600']);
    assert.equal(s.statuses.at(-1)?.state, 'registered');
  });

  test('no answer (Timer F): failed, then registered again once the registrar is back', () => {
    const s = setup({ retryBaseMs: 10_000 });
    s.clock.advance(32_000);
    const failed = s.statuses.at(-1);
    assert.equal(failed?.state, 'failed');
    assert.match(failed?.lastError ?? '', /did not answer/);
    const sent = s.registers().length;
    s.clock.advance(10_000);
    assert.ok(s.registers().length > sent);
    s.ok(s.last(), ['Contact: <sip:acme@10.0.0.1:5060>;expires=600']);
    assert.equal(s.statuses.at(-1)?.state, 'registered');
  });

  test('behind a NAT: the address the registrar saw (received/rport) is registered instead, the private one removed', () => {
    const s = setup();
    const first = s.last();
    const via = first.headers.get('Via') ?? '';
    const natted = respondTo(first, 200, { toTag: 'r', headers: ['Contact: <sip:acme@10.0.0.1:5060>;expires=600'] })
      .replace(`Via: ${via}`, `Via: ${via.replace(';rport', ';rport=40123;received=203.0.113.9')}`);
    s.transport.deliver(natted, REGISTRAR);
    assert.equal(s.registers().length, 2);
    assert.equal(s.last().headers.get('Contact'), '<sip:acme@203.0.113.9:40123>, <sip:acme@10.0.0.1:5060>;expires=0');
    const again = s.last();
    const via2 = again.headers.get('Via') ?? '';
    s.transport.deliver(
      respondTo(again, 200, { toTag: 'r', headers: ['Contact: <sip:acme@203.0.113.9:40123>;expires=600'] }).replace(`Via: ${via2}`, `Via: ${via2.replace(';rport', ';rport=40123;received=203.0.113.9')}`),
      REGISTRAR,
    );
    assert.equal(s.registers().length, 2, 'settled: no third REGISTER');
    assert.equal(s.statuses.at(-1)?.state, 'registered');
    assert.equal(s.statuses.at(-1)?.contact, 'sip:acme@203.0.113.9:40123');
    // A call to the registrar's host carries the address it sees us at, so its ACK and BYE come back
    // through the NAT; a call elsewhere keeps our own.
    const sdp = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
    s.ua.dial({ to: '+15551230000', from: 'acme', trunk: { ...REGISTRAR, transport: 'udp' }, sdpOffer: sdp, ringTimeoutMs: 30_000 });
    assert.equal(s.transport.requests('INVITE').at(-1)?.headers.get('Contact'), '<sip:acme@203.0.113.9:40123>');
    s.ua.dial({ to: '+15551230000', from: 'acme', trunk: { host: '198.51.100.7', port: 5060, transport: 'udp' }, sdpOffer: sdp, ringTimeoutMs: 30_000 });
    assert.equal(s.transport.requests('INVITE').at(-1)?.headers.get('Contact'), '<sip:acme@10.0.0.1:5060>');
  });

  test('CRLF keepalives every 25 s on UDP while registered (RFC 5626 §3.5.1)', () => {
    const s = setup();
    s.clock.advance(25_000);
    assert.equal(s.transport.keepalives.length, 0, 'not before a binding exists');
    s.ok(s.last(), ['Contact: <sip:acme@10.0.0.1:5060>;expires=3600']);
    s.clock.advance(75_000);
    assert.equal(s.transport.keepalives.length, 3);
    assert.deepEqual(s.transport.keepalives[0], REGISTRAR);
  });

  test('stop(): Expires 0 for our contact only (challenge answered), no more refreshes or keepalives', async () => {
    const s = setup();
    s.ok(s.last(), ['Contact: <sip:acme@10.0.0.1:5060>;expires=600']);
    const stopped = s.reg.stop();
    assert.equal(s.statuses.at(-1)?.state, 'unregistered');
    const un = s.last();
    assert.equal(un.headers.get('Expires'), '0');
    assert.equal(un.headers.get('Contact'), '<sip:acme@10.0.0.1:5060>');
    s.challenge(un, 'n9');
    const un2 = s.last();
    assert.equal(un2.headers.get('Expires'), '0');
    assert.ok(un2.headers.get('Authorization'));
    s.ok(un2, []);
    await stopped;
    const n = s.transport.sent.length;
    s.clock.advance(3_600_000);
    assert.equal(s.transport.sent.length, n);
    assert.equal(s.transport.keepalives.length, 0);
  });
});
