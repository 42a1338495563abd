import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, flush } from '../../helpers/virtual-clock.js';
import { FakeTransport, respondTo } from './fake-transport.js';
import { UserAgent } from '../../../src/telephony/sip/user-agent.js';
import type { DialOptions } from '../../../src/telephony/sip/call-types.js';
import type { SipRequest } from '../../../src/telephony/sip/message.js';
import { computeDigestResponse, parseAuthParams } from '../../../src/telephony/sip/digest.js';
import { parseNameAddr } from '../../../src/telephony/sip/uri.js';

const T1 = 500;
const SDP = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
const REMOTE_SDP = 'v=0\r\no=- 2 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n';

function setup(protocol: 'UDP' | 'TCP' = 'UDP') {
  const clock = new VirtualClock();
  const transport = new FakeTransport(protocol);
  const ua = new UserAgent({ transports: [transport], clock });
  const dial = (o: Partial<DialOptions> = {}) =>
    ua.dial({ to: '+15551234567', from: '+15550000000', trunk: { host: '10.0.0.2', port: 5060, transport: protocol === 'UDP' ? 'udp' : 'tcp' }, sdpOffer: SDP, ringTimeoutMs: 30_000, ...o });
  const last = (method: string): SipRequest => {
    const r = transport.requests(method).at(-1);
    assert.ok(r, `no ${method} sent`);
    return r;
  };
  return { clock, transport, ua, dial, last };
}

const CONTACT = 'Contact: <sip:callee@10.0.0.3:5070;transport=udp>';

describe('user agent: INVITE flows', () => {
  test('INVITE format: Request-URI from E.164 + trunk, tags, rport, custom headers, SDP body', () => {
    const s = setup();
    const call = s.dial({ callerIdName: 'Acme, Inc', customHeaders: [{ name: 'X-Call-Id', value: 'abc' }] });
    const inv = s.last('INVITE');
    assert.equal(inv.uri, 'sip:+15551234567@10.0.0.2:5060');
    assert.ok(inv.core.vias[0]?.params.has('rport'));
    assert.match(inv.core.vias[0]?.params.get('branch') ?? '', /^z9hG4bK.{16,}$/);
    assert.equal(inv.core.from.displayName, 'Acme, Inc');
    assert.ok((inv.core.from.params.get('tag') ?? '').length >= 8);
    assert.equal(inv.core.to.params.get('tag'), undefined);
    assert.equal(inv.headers.get('X-Call-Id'), 'abc');
    assert.equal(inv.headers.get('Content-Type'), 'application/sdp');
    assert.equal(inv.body, SDP);
    assert.equal(inv.core.callId, call.callId);
    assert.deepEqual(s.transport.sent[0]?.dest, { host: '10.0.0.2', port: 5060 });
    assert.throws(() => s.dial({ customHeaders: [{ name: 'X-Evil', value: 'a\r\nVia: x' }] }), TypeError);
    assert.throws(() => s.dial({ customHeaders: [{ name: 'Call-ID', value: 'a' }] }), TypeError);
    assert.throws(() => s.dial({ to: 'sip:@@' }), TypeError);
  });

  test('answer: 100/180/200 events, ACK on a new branch with the route set, 2xx retransmissions re-ACKed, BYE via route', async () => {
    const s = setup();
    const call = s.dial();
    const events: string[] = [];
    call.on((e) => events.push(e.type));
    const inv = s.last('INVITE');
    s.transport.deliver(respondTo(inv, 100));
    s.transport.deliver(respondTo(inv, 180, { toTag: 'callee1', headers: [CONTACT] }));
    const ok = respondTo(inv, 200, {
      toTag: 'callee1',
      headers: [CONTACT, 'Record-Route: <sip:p2.example.com;lr>', 'Record-Route: <sip:10.0.0.9:5080;lr>', 'Content-Type: application/sdp'],
      body: REMOTE_SDP,
    });
    s.transport.deliver(ok);
    assert.deepEqual(events, ['trying', 'ringing', 'answered']);
    const answered = await call.waitFor('answered');
    assert.equal(answered.remoteSdp, REMOTE_SDP);
    const ack = s.last('ACK');
    assert.notEqual(ack.core.vias[0]?.params.get('branch'), inv.core.vias[0]?.params.get('branch'), '§13.2.2.4: new branch');
    assert.equal(ack.core.cseq.seq, inv.core.cseq.seq);
    assert.equal(ack.uri, 'sip:callee@10.0.0.3:5070;transport=udp', 'Request-URI = remote target (Contact)');
    // UAC route set = Record-Route reversed.
    assert.deepEqual(ack.headers.getAll('Route'), ['<sip:10.0.0.9:5080;lr>', '<sip:p2.example.com;lr>']);
    assert.deepEqual(s.transport.sent.at(-1)?.dest, { host: '10.0.0.9', port: 5080 });
    // Retransmitted 2xx (within and after Timer M) -> same ACK again.
    s.transport.deliver(ok);
    s.clock.advance(64 * T1 + 1);
    s.transport.deliver(ok);
    const acks = s.transport.requests('ACK');
    assert.equal(acks.length, 3);
    assert.ok(acks.every((a) => a.core.vias[0]?.params.get('branch') === ack.core.vias[0]?.params.get('branch')));
    assert.deepEqual(events, ['trying', 'ringing', 'answered']);

    const ended = call.hangup();
    const bye = s.last('BYE');
    assert.equal(bye.core.cseq.seq, inv.core.cseq.seq + 1);
    assert.equal(bye.core.to.params.get('tag'), 'callee1');
    assert.deepEqual(bye.headers.getAll('Route'), ['<sip:10.0.0.9:5080;lr>', '<sip:p2.example.com;lr>']);
    assert.deepEqual(s.transport.sent.at(-1)?.dest, { host: '10.0.0.9', port: 5080 });
    s.transport.deliver(respondTo(bye, 200));
    const e = await ended;
    assert.equal(e.outcome, 'completed');
    assert.equal(e.by, 'local');
    assert.equal(e.sipStatusCode, 200);
    s.clock.advance(64 * T1);
    assert.equal(s.ua.stats().transactions, 0);
    assert.equal(s.ua.stats().lingeringCalls, 0);
  });

  test('outbound proxy: preloaded loose Route, sent to the proxy, Request-URI stays the callee', () => {
    const s = setup();
    s.dial({ to: 'sip:+15551234567@carrier.example.com', outboundProxy: { host: '10.0.0.50', port: 5080 } });
    const inv = s.last('INVITE');
    assert.equal(inv.uri, 'sip:+15551234567@carrier.example.com');
    assert.deepEqual(inv.headers.getAll('Route'), ['<sip:10.0.0.50:5080;lr>']);
    assert.deepEqual(s.transport.sent.at(-1)?.dest, { host: '10.0.0.50', port: 5080 });
    s.transport.deliver(respondTo(inv, 487, { toTag: 'p' }));
    const ack = s.last('ACK');
    assert.deepEqual(ack.headers.getAll('Route'), ['<sip:10.0.0.50:5080;lr>'], '§17.1.1.3: the non-2xx ACK keeps the INVITE Route');
    assert.deepEqual(s.transport.sent.at(-1)?.dest, { host: '10.0.0.50', port: 5080 });
  });

  test('one transport per trunk: localTransport picks the transport; a foreign one is refused', () => {
    const clock = new VirtualClock();
    const shared = new FakeTransport('UDP', { host: '10.0.0.1', port: 5060 });
    const trunkB = new FakeTransport('UDP', { host: '10.0.0.1', port: 5062 });
    const ua = new UserAgent({ transports: [shared, trunkB], clock });
    ua.dial({ to: '100', from: '200', trunk: { host: '10.0.0.9' }, sdpOffer: SDP, ringTimeoutMs: 1000, localTransport: trunkB });
    assert.equal(shared.sent.length, 0);
    assert.match(trunkB.requests('INVITE')[0]?.headers.get('Via') ?? '', /10\.0\.0\.1:5062/);
    assert.throws(() => ua.dial({ to: '100', from: '200', trunk: { host: '10.0.0.9' }, sdpOffer: SDP, ringTimeoutMs: 1000, localTransport: new FakeTransport() }), TypeError);
  });

  test('a 2xx without Contact is still ACKed (to the Request-URI) and the call answered', async () => {
    const s = setup();
    const call = s.dial();
    const inv = s.last('INVITE');
    s.transport.deliver(respondTo(inv, 200, { toTag: 'nc' }));
    await call.waitFor('answered');
    assert.equal(s.last('ACK').uri, inv.uri);
  });

  test('strict route (no lr): Request-URI = first route, remote target appended to Route', () => {
    const s = setup();
    s.dial();
    const inv = s.last('INVITE');
    s.transport.deliver(respondTo(inv, 200, { toTag: 't', headers: [CONTACT, 'Record-Route: <sip:strict.example.com>'] }));
    const ack = s.last('ACK');
    assert.equal(ack.uri, 'sip:strict.example.com');
    assert.deepEqual(ack.headers.getAll('Route'), ['<sip:callee@10.0.0.3:5070;transport=udp>']);
  });

  test('BYE from the far end: 200 and ended by remote, outcome completed', async () => {
    const s = setup();
    const call = s.dial();
    const inv = s.last('INVITE');
    s.transport.deliver(respondTo(inv, 200, { toTag: 'r1', headers: [CONTACT] }));
    const from = inv.headers.get('From') ?? '';
    s.transport.deliver(`BYE sip:x@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.3:5070;branch=z9hG4bKbye1\r\nFrom: <sip:+15551234567@10.0.0.2>;tag=r1\r\nTo: ${from}\r\nCall-ID: ${call.callId}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n`, { host: '10.0.0.3', port: 5070 });
    const e = await call.ended;
    assert.deepEqual({ by: e.by, outcome: e.outcome }, { by: 'remote', outcome: 'completed' });
    assert.equal(s.transport.responses(200).length, 1);
    assert.deepEqual(s.transport.sent.at(-1)?.dest, { host: '10.0.0.3', port: 5070 });
    // A BYE with a wrong tag is not ours: 481.
    s.transport.deliver(`BYE sip:x@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.3:5070;branch=z9hG4bKbye2\r\nFrom: <sip:b@h>;tag=zzz\r\nTo: ${from}\r\nCall-ID: ${call.callId}\r\nCSeq: 2 BYE\r\n\r\n`, { host: '10.0.0.3', port: 5070 });
    assert.equal(s.transport.responses(481).length, 1);
  });

  test('183 with SDP is early media; a response with two Vias is discarded (§8.1.3.3)', async () => {
    const s = setup();
    const call = s.dial();
    const inv = s.last('INVITE');
    const twoVias = respondTo(inv, 180, { toTag: 'e' }).replace('Via: ', 'Via: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKother\r\nVia: ');
    s.transport.deliver(twoVias);
    assert.equal(call.history.length, 0);
    s.transport.deliver(respondTo(inv, 183, { toTag: 'e', headers: ['Content-Type: application/sdp'], body: REMOTE_SDP }));
    assert.deepEqual(await call.waitFor('ringing'), { type: 'ringing', statusCode: 183, earlyMedia: true, remoteSdp: REMOTE_SDP });
  });

  test('486 -> busy, ACKed inside the transaction', async () => {
    const s = setup();
    const call = s.dial();
    const inv = s.last('INVITE');
    s.transport.deliver(respondTo(inv, 486, { toTag: 'b' }));
    const e = await call.ended;
    assert.deepEqual({ code: e.sipStatusCode, outcome: e.outcome, by: e.by }, { code: 486, outcome: 'busy', by: 'remote' });
    assert.equal(s.last('ACK').core.vias[0]?.params.get('branch'), inv.core.vias[0]?.params.get('branch'));
  });

  test('ring timeout -> CANCEL (same branch, CSeq number, Request-URI) -> 487 -> no_answer by timeout', async () => {
    const s = setup();
    const call = s.dial({ ringTimeoutMs: 20_000 });
    const inv = s.last('INVITE');
    s.transport.deliver(respondTo(inv, 180, { toTag: 'x' }));
    s.clock.advance(19_999);
    assert.equal(s.transport.requests('CANCEL').length, 0);
    s.clock.advance(1);
    const cancel = s.last('CANCEL');
    assert.equal(cancel.core.vias[0]?.params.get('branch'), inv.core.vias[0]?.params.get('branch'));
    assert.equal(cancel.core.cseq.seq, inv.core.cseq.seq);
    assert.equal(cancel.uri, inv.uri);
    assert.equal(cancel.core.to.params.get('tag'), undefined, '§9.1: To of the INVITE, no tag');
    s.transport.deliver(respondTo(cancel, 200, { toTag: 'x' }));
    s.transport.deliver(respondTo(inv, 487, { toTag: 'x' }));
    const e = await call.ended;
    assert.deepEqual({ code: e.sipStatusCode, outcome: e.outcome, by: e.by }, { code: 487, outcome: 'no_answer', by: 'timeout' });
  });

  test('explicit cancel before any provisional waits for one (§9.1), then 487 -> canceled', async () => {
    const s = setup();
    const call = s.dial();
    const inv = s.last('INVITE');
    void call.cancel();
    assert.equal(s.transport.requests('CANCEL').length, 0);
    s.transport.deliver(respondTo(inv, 100));
    assert.equal(s.transport.requests('CANCEL').length, 1);
    s.transport.deliver(respondTo(inv, 487, { toTag: 'x' }));
    const e = await call.ended;
    assert.deepEqual({ outcome: e.outcome, by: e.by }, { outcome: 'canceled', by: 'local' });
  });

  test('explicit cancel with no response ever ends at Timer B; no CANCEL sent', async () => {
    const s = setup();
    const call = s.dial();
    void call.cancel();
    s.clock.advance(64 * T1);
    const e = await call.ended;
    assert.deepEqual({ code: e.sipStatusCode, outcome: e.outcome }, { code: 408, outcome: 'canceled' });
    assert.equal(s.transport.requests('CANCEL').length, 0);
  });

  test('Timer B without any response -> 408 no_answer by timeout', async () => {
    const s = setup();
    const call = s.dial({ ringTimeoutMs: 120_000 });
    s.clock.advance(64 * T1);
    const e = await call.ended;
    assert.deepEqual({ code: e.sipStatusCode, outcome: e.outcome, by: e.by }, { code: 408, outcome: 'no_answer', by: 'timeout' });
  });

  test('200 racing our CANCEL: ACK then BYE, outcome canceled', async () => {
    const s = setup();
    const call = s.dial();
    const inv = s.last('INVITE');
    s.transport.deliver(respondTo(inv, 180, { toTag: 'x' }));
    void call.cancel();
    s.transport.deliver(respondTo(inv, 200, { toTag: 'x', headers: [CONTACT] }));
    assert.equal(s.transport.requests('ACK').length, 1);
    const bye = s.last('BYE');
    s.transport.deliver(respondTo(bye, 200));
    const e = await call.ended;
    assert.equal(e.outcome, 'canceled');
  });

  test('transport error -> ended by error, 503 failed', async () => {
    const s = setup();
    s.transport.failNext = new Error('EHOSTUNREACH');
    const call = s.dial();
    const e = await call.ended;
    assert.deepEqual({ code: e.sipStatusCode, outcome: e.outcome, by: e.by }, { code: 503, outcome: 'failed', by: 'error' });
  });

  test('a 2xx from a second fork is ACKed and BYEd', () => {
    const s = setup();
    s.dial();
    const inv = s.last('INVITE');
    s.transport.deliver(respondTo(inv, 200, { toTag: 'f1', headers: [CONTACT] }));
    s.transport.deliver(respondTo(inv, 200, { toTag: 'f2', headers: ['Contact: <sip:other@10.0.0.4>'] }));
    assert.equal(s.transport.requests('ACK').length, 2);
    const bye = s.last('BYE');
    assert.equal(bye.core.to.params.get('tag'), 'f2');
    assert.equal(bye.uri, 'sip:other@10.0.0.4');
  });
});

/** An unusable challenge, then MD5, then SHA-256 (RFC 8760 §2.4 allows several). */
const SEVERAL_CHALLENGES = [
  'WWW-Authenticate: Basic realm="r"',
  'WWW-Authenticate: Digest realm="r", nonce="md5", qop="auth", algorithm=MD5',
  'WWW-Authenticate: Digest realm="r", nonce="sha", qop="auth", algorithm=SHA-256',
];

describe('user agent: digest auth', () => {
  test('401 -> INVITE again with Authorization, CSeq+1, same Call-ID/From tag, new branch; same nonce again -> failed', async () => {
    const s = setup();
    const call = s.dial({ credentials: { username: 'alice', password: 's3cret' } });
    const inv1 = s.last('INVITE');
    s.transport.deliver(respondTo(inv1, 401, { toTag: 'a', headers: ['WWW-Authenticate: Digest realm="r", nonce="n1", qop="auth", algorithm=MD5'] }));
    const inv2 = s.last('INVITE');
    assert.equal(inv2.core.cseq.seq, inv1.core.cseq.seq + 1);
    assert.equal(inv2.core.callId, inv1.core.callId);
    assert.equal(inv2.core.from.params.get('tag'), inv1.core.from.params.get('tag'));
    assert.notEqual(inv2.core.vias[0]?.params.get('branch'), inv1.core.vias[0]?.params.get('branch'));
    const auth = parseAuthParams(inv2.headers.get('Authorization') ?? '');
    assert.ok(auth.ok);
    if (auth.ok) {
      assert.equal(auth.value.params.get('username'), 'alice');
      assert.equal(auth.value.params.get('nc'), '00000001');
      assert.equal(auth.value.params.get('uri'), inv1.uri);
    }
    s.transport.deliver(respondTo(inv2, 401, { toTag: 'a', headers: ['WWW-Authenticate: Digest realm="r", nonce="n1", qop="auth"'] }));
    const e = await call.ended;
    assert.deepEqual({ code: e.sipStatusCode, outcome: e.outcome }, { code: 401, outcome: 'failed' });
    assert.equal(s.transport.requests('INVITE').length, 2);
  });

  test('407 -> Proxy-Authorization with SHA-256; stale=true with a new nonce is retried once more', () => {
    const s = setup();
    s.dial({ credentials: { username: 'alice', password: 's3cret' } });
    const inv1 = s.last('INVITE');
    s.transport.deliver(respondTo(inv1, 407, { toTag: 'a', headers: ['Proxy-Authenticate: Digest realm="r", nonce="n1", qop="auth", algorithm=SHA-256'] }));
    const inv2 = s.last('INVITE');
    assert.match(inv2.headers.get('Proxy-Authorization') ?? '', /algorithm=SHA-256/);
    assert.equal(inv2.headers.get('Authorization'), undefined);
    s.transport.deliver(respondTo(inv2, 407, { toTag: 'a', headers: ['Proxy-Authenticate: Digest realm="r", nonce="n2", qop="auth", algorithm=SHA-256, stale=true'] }));
    assert.equal(s.transport.requests('INVITE').length, 3);
    assert.match(s.last('INVITE').headers.get('Proxy-Authorization') ?? '', /nonce="n2"/);
  });

  test('several challenges: SHA-256 is preferred over MD5 whatever the order; an unusable one is skipped', () => {
    const s = setup();
    s.dial({ credentials: { username: 'alice', password: 's3cret' } });
    const inv1 = s.last('INVITE');
    s.transport.deliver(respondTo(inv1, 401, { toTag: 'a', headers: SEVERAL_CHALLENGES }));
    assert.equal(s.transport.requests('INVITE').length, 2);
    assert.match(s.last('INVITE').headers.get('Authorization') ?? '', /nonce="sha", .*algorithm=SHA-256/);
  });

  /** An answered call dialled with credentials: the in-dialog requests it sends can be challenged too. */
  function answeredWithCredentials() {
    const s = setup();
    const call = s.dial({ credentials: { username: 'alice', password: 's3cret' } });
    s.transport.deliver(respondTo(s.last('INVITE'), 200, { toTag: 'r1', headers: [CONTACT] }));
    return { ...s, call };
  }

  test('in-dialog INFO: 401 -> sent again once with Authorization over its own method, URI and body (auth-int); a second 401 stands', async () => {
    const s = answeredWithCredentials();
    const body = 'Signal=5\r\nDuration=160\r\n';
    const info = s.call.sendInfo(body);
    const info1 = s.last('INFO');
    s.transport.deliver(respondTo(info1, 401, { headers: ['WWW-Authenticate: Digest realm="r", nonce="i1", qop="auth-int", algorithm=MD5'] }));
    assert.equal(s.transport.requests('INFO').length, 2);
    const info2 = s.last('INFO');
    assert.equal(info2.core.cseq.seq, info1.core.cseq.seq + 1, 'a new request in the dialog (§22.2: CSeq + 1)');
    assert.equal(info2.body, body);
    const auth = parseAuthParams(info2.headers.get('Authorization') ?? '');
    assert.ok(auth.ok);
    const p = auth.value.params;
    assert.equal(p.get('uri'), info1.uri);
    assert.equal(p.get('qop'), 'auth-int');
    const expected = computeDigestResponse({
      algorithm: 'MD5', username: 'alice', realm: 'r', password: 's3cret', nonce: 'i1', method: 'INFO', uri: info1.uri,
      qop: 'auth-int', nc: p.get('nc') ?? '', cnonce: p.get('cnonce') ?? '', body,
    });
    assert.equal(p.get('response'), expected);
    // Even a stale nonce does not earn an in-dialog request a second retry.
    s.transport.deliver(respondTo(info2, 401, { headers: ['WWW-Authenticate: Digest realm="r", nonce="i2", qop="auth", stale=true'] }));
    assert.equal(await info, 401);
    assert.equal(s.transport.requests('INFO').length, 2);
    assert.equal(s.call.state, 'answered');
  });

  test('in-dialog requests choose among several challenges as the INVITE does (one retry logic for both)', async () => {
    const s = answeredWithCredentials();
    const info = s.call.sendInfo('x');
    s.transport.deliver(respondTo(s.last('INFO'), 401, { headers: SEVERAL_CHALLENGES }));
    assert.equal(s.transport.requests('INFO').length, 2);
    assert.match(s.last('INFO').headers.get('Authorization') ?? '', /nonce="sha", .*algorithm=SHA-256/);
    s.transport.deliver(respondTo(s.last('INFO'), 200));
    assert.equal(await info, 200);
  });

  test('in-dialog REFER: 407 -> Proxy-Authorization, then 202', async () => {
    const s = answeredWithCredentials();
    const refer = s.call.transfer('sip:+15559999999@10.0.0.2');
    const r1 = s.last('REFER');
    s.transport.deliver(respondTo(r1, 407, { headers: ['Proxy-Authenticate: Digest realm="r", nonce="p1", qop="auth", algorithm=SHA-256'] }));
    const r2 = s.last('REFER');
    assert.notEqual(r2, r1);
    assert.match(r2.headers.get('Proxy-Authorization') ?? '', /nonce="p1", .*algorithm=SHA-256/);
    assert.equal(r2.headers.get('Authorization'), undefined);
    assert.equal(r2.headers.get('Refer-To'), '<sip:+15559999999@10.0.0.2>');
    s.transport.deliver(respondTo(r2, 202));
    assert.equal(await refer, 202);
  });

  test('in-dialog request without credentials: the 401 stands', async () => {
    const s = setup();
    const call = s.dial();
    s.transport.deliver(respondTo(s.last('INVITE'), 200, { toTag: 'r1', headers: [CONTACT] }));
    const info = call.sendInfo('x');
    s.transport.deliver(respondTo(s.last('INFO'), 401, { headers: ['WWW-Authenticate: Digest realm="r", nonce="i1"'] }));
    assert.equal(await info, 401);
    assert.equal(s.transport.requests('INFO').length, 1);
  });
});

describe('user agent: in-dialog requests', () => {
  function answered() {
    const s = setup();
    const seen: string[] = [];
    const call = s.dial({
      onReinvite: (offer) => {
        seen.push(offer ?? '<none>');
        return offer?.includes('sendonly') ? 'answer-recvonly' : 'answer-sendrecv';
      },
    });
    const inv = s.last('INVITE');
    s.transport.deliver(respondTo(inv, 200, { toTag: 'r1', headers: [CONTACT] }));
    const from = inv.headers.get('From') ?? '';
    const req = (method: string, seq: number, extra: string[] = [], body = '', branch = `z9hG4bK${method}${seq}`) =>
      [`${method} sip:x@10.0.0.1 SIP/2.0`, `Via: SIP/2.0/UDP 10.0.0.3:5070;branch=${branch}`, 'From: <sip:+15551234567@10.0.0.2>;tag=r1', `To: ${from}`, `Call-ID: ${call.callId}`, `CSeq: ${seq} ${method}`, ...extra, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
    return { ...s, call, seen, req };
  }

  test('re-INVITE (hold) answered through the hook, 2xx retransmitted until ACK, remote target refreshed', async () => {
    const s = answered();
    s.transport.deliver(s.req('INVITE', 2, ['Contact: <sip:moved@10.0.0.7:5090>', 'Content-Type: application/sdp'], 'v=0\r\na=sendonly\r\n'), { host: '10.0.0.3', port: 5070 });
    await flush();
    assert.deepEqual(s.seen, ['v=0\r\na=sendonly\r\n']);
    const ok = s.transport.responses(200).at(-1);
    assert.equal(ok?.body, 'answer-recvonly');
    assert.equal(ok?.core.cseq.method, 'INVITE');
    assert.ok(ok?.headers.get('Contact'));
    assert.equal((await s.call.waitFor('reinvited')).localSdp, 'answer-recvonly');
    s.clock.advance(500 + 1000);
    assert.equal(s.transport.responses(200).filter((r) => r.core.cseq.method === 'INVITE').length, 3);
    s.transport.deliver(s.req('ACK', 2, [], '', 'z9hG4bKack2'), { host: '10.0.0.3', port: 5070 });
    s.clock.advance(10_000);
    assert.equal(s.transport.responses(200).filter((r) => r.core.cseq.method === 'INVITE').length, 3);
    void s.call.hangup();
    const nameAddr = parseNameAddr(`<${s.last('BYE').uri}>`);
    assert.ok(nameAddr.ok && nameAddr.value.uri.host === '10.0.0.7', 'BYE goes to the refreshed target');
    assert.equal(s.call.state, 'terminating');
  });

  test('offerless re-INVITE: hook gets undefined, our 200 carries the offer, the ACK answer completes it', async () => {
    const s = answered();
    s.transport.deliver(s.req('INVITE', 2), { host: '10.0.0.3', port: 5070 });
    await flush();
    assert.deepEqual(s.seen, ['<none>']);
    assert.equal(s.transport.responses(200).at(-1)?.body, 'answer-sendrecv');
    assert.equal(s.call.history.some((e) => e.type === 'reinvited'), false);
    s.transport.deliver(s.req('ACK', 2, ['Content-Type: application/sdp'], 'v=0\r\nanswer\r\n', 'z9hG4bKack3'), { host: '10.0.0.3', port: 5070 });
    assert.deepEqual(await s.call.waitFor('reinvited'), { type: 'reinvited', remoteSdp: 'v=0\r\nanswer\r\n', localSdp: 'answer-sendrecv' });
  });

  test('a hook failure answers 488; a lower CSeq gets 500', async () => {
    const s = setup();
    const call = s.dial({ onReinvite: () => Promise.reject(new Error('no codec')) });
    const inv = s.last('INVITE');
    s.transport.deliver(respondTo(inv, 200, { toTag: 'r1', headers: [CONTACT] }));
    const base = (seq: number, branch: string) => `INVITE sip:x@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.3:5070;branch=${branch}\r\nFrom: <sip:b@h>;tag=r1\r\nTo: ${inv.headers.get('From') ?? ''}\r\nCall-ID: ${call.callId}\r\nCSeq: ${seq} INVITE\r\nContent-Length: 3\r\n\r\nv=0`;
    s.transport.deliver(base(5, 'z9hG4bKr1'));
    await flush();
    await flush();
    assert.equal(s.transport.responses(488).length, 1);
    s.transport.deliver(base(4, 'z9hG4bKr2'));
    assert.equal(s.transport.responses(500).length, 1);
  });

  test('INFO both ways, OPTIONS answered, REFER + NOTIFY sipfrag progress', async () => {
    const s = answered();
    const info = s.call.sendInfo('Signal=5\r\nDuration=160\r\n');
    const out = s.last('INFO');
    assert.equal(out.headers.get('Content-Type'), 'application/dtmf-relay');
    s.transport.deliver(respondTo(out, 200));
    assert.equal(await info, 200);
    s.transport.deliver(s.req('INFO', 3, ['Content-Type: application/json'], '{"a":1}'));
    assert.deepEqual(await s.call.waitFor('info'), { type: 'info', contentType: 'application/json', body: '{"a":1}' });
    s.transport.deliver(s.req('OPTIONS', 4));
    assert.match(s.transport.responses(200).at(-1)?.headers.get('Allow') ?? '', /REFER/);
    const refer = s.call.transfer('sip:+15559999999@10.0.0.2');
    const r = s.last('REFER');
    assert.equal(r.headers.get('Refer-To'), '<sip:+15559999999@10.0.0.2>');
    assert.ok(r.headers.get('Contact'));
    s.transport.deliver(respondTo(r, 202));
    assert.equal(await refer, 202);
    s.transport.deliver(s.req('NOTIFY', 5, ['Event: refer', 'Subscription-State: terminated;reason=noresource', 'Content-Type: message/sipfrag'], 'SIP/2.0 200 OK\r\n'));
    assert.deepEqual(await s.call.waitFor('transfer-progress'), { type: 'transfer-progress', statusCode: 200, final: true });
    s.transport.deliver(s.req('NOTIFY', 6, ['Event: presence'], ''));
    assert.equal(s.transport.responses(489).length, 1);
    s.transport.deliver(s.req('UPDATE', 7));
    assert.equal(s.transport.responses(405).length, 1);
  });

  test('TCP: no retransmissions, Timer B still ends the call', async () => {
    const s = setup('TCP');
    const call = s.dial({ ringTimeoutMs: 100_000 });
    assert.match(s.last('INVITE').headers.get('Contact') ?? '', /transport=tcp/);
    s.clock.advance(64 * T1);
    assert.equal(s.transport.requests('INVITE').length, 1);
    assert.equal((await call.ended).sipStatusCode, 408);
  });
});
