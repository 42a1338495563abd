/**
 * The UAS core (InboundCall) in virtual time: 100/180/200, 2xx retransmission until the ACK
 * (§13.3.1.4), the BYE after a missing ACK, CANCEL before and after the answer (§9.2), rejection with
 * the transaction's own retransmissions (Timer G) stopped by the ACK, BYE both ways.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../helpers/virtual-clock.js';
import { FakeTransport } from './fake-transport.js';
import { UserAgent } from '../../../src/telephony/sip/user-agent.js';
import type { InboundCall } from '../../../src/telephony/sip/inbound-call.js';
import type { SipRequest, SipResponse } from '../../../src/telephony/sip/message.js';

const T1 = 500;
const CALLER = { host: '10.0.0.2', port: 5070 };
const OFFER = 'v=0\r\no=- 2 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n';
const ANSWER = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

interface Msg {
  method: string;
  branch: string;
  cseq?: number;
  cseqMethod?: string;
  toTag?: string;
  body?: string;
  extra?: string[];
  uri?: string;
  callId?: string;
}

function request(m: Msg): string {
  const body = m.body ?? '';
  return [
    `${m.method} ${m.uri ?? 'sip:+12025550100@10.0.0.1:5060'} SIP/2.0`,
    `Via: SIP/2.0/UDP ${CALLER.host}:${CALLER.port};branch=${m.branch};rport`,
    'Max-Forwards: 70',
    'From: <sip:+14155550000@10.0.0.2>;tag=caller1',
    `To: <sip:+12025550100@10.0.0.1>${m.toTag !== undefined ? `;tag=${m.toTag}` : ''}`,
    `Call-ID: ${m.callId ?? 'call-1@10.0.0.2'}`,
    `CSeq: ${m.cseq ?? 1} ${m.cseqMethod ?? m.method}`,
    `Contact: <sip:caller@${CALLER.host}:${CALLER.port}>`,
    ...(m.extra ?? []),
    ...(body !== '' ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

function setup(o: { handler?: boolean } = {}) {
  const clock = new VirtualClock();
  const transport = new FakeTransport('UDP', { host: '10.0.0.1', port: 5060 });
  const ua = new UserAgent({ transports: [transport], clock });
  const calls: InboundCall[] = [];
  if (o.handler !== false) ua.onInvite((c) => calls.push(c));
  const invite = () => transport.deliver(request({ method: 'INVITE', branch: 'z9hG4bKinv1', body: OFFER }), CALLER);
  const responses = (status?: number, method = 'INVITE'): SipResponse[] => transport.responses(status).filter((r) => r.core.cseq.method === method);
  return { clock, transport, ua, calls, invite, responses };
}

describe('UAS: incoming INVITE', () => {
  test('without a handler an INVITE is refused with 403 (UAC-only behaviour kept)', () => {
    const s = setup({ handler: false });
    s.invite();
    assert.deepEqual(s.responses().map((r) => r.status), [403]);
  });

  test('100 at once, 180 with To tag and Contact, the dialed number and the offer reach the handler', () => {
    const s = setup();
    s.invite();
    assert.equal(s.calls.length, 1);
    const call = s.calls[0] as InboundCall;
    assert.equal(call.dialed, '+12025550100');
    assert.equal(call.caller, '+14155550000');
    assert.equal(call.remoteSdp, OFFER);
    assert.deepEqual(s.responses().map((r) => r.status), [100]);
    assert.equal(s.responses(100)[0]?.core.to.params.get('tag'), undefined, '100 carries no To tag');
    call.ringing();
    const ringing = s.responses(180)[0] as SipResponse;
    assert.equal(ringing.core.to.params.get('tag'), call.localTag);
    assert.match(ringing.headers.get('Contact') ?? '', /^<sip:\+12025550100@10\.0\.0\.1:5060>$/);
    assert.deepEqual(s.transport.sent.at(-1)?.dest, CALLER, 'responses go to the source port (rport)');
    // An INVITE retransmission is answered by the transaction with the last provisional (§17.2.1).
    s.invite();
    assert.equal(s.calls.length, 1, 'a retransmission is not a new call');
    assert.deepEqual(s.responses().map((r) => r.status), [100, 180, 180]);
  });

  test('answer: 2xx retransmitted at T1, 2T1, 4T1 ... T2 until the ACK; the ACK stops it; BYE from the caller ends it', async () => {
    const s = setup();
    s.invite();
    const call = s.calls[0] as InboundCall;
    const events: string[] = [];
    call.on((e) => events.push(e.type));
    call.ringing();
    call.answer(ANSWER);
    assert.equal(s.responses(200).length, 1);
    const ok = s.responses(200)[0] as SipResponse;
    assert.equal(ok.body, ANSWER);
    assert.equal(ok.headers.get('Content-Type'), 'application/sdp');
    const at: number[] = [];
    let seen = 1;
    for (let t = 0; t < 10_000; t += 50) {
      s.clock.advance(50);
      if (s.responses(200).length > seen) {
        seen = s.responses(200).length;
        at.push(s.clock.now());
      }
    }
    // T1=500: 500, 1500, 3500, 7500 (interval doubles: 0.5, 1, 2, 4 s = T2 cap).
    assert.deepEqual(at, [500, 1500, 3500, 7500]);
    s.transport.deliver(request({ method: 'ACK', branch: 'z9hG4bKack1', toTag: call.localTag }), CALLER);
    assert.equal(call.state, 'confirmed');
    assert.deepEqual(events, ['confirmed']);
    s.clock.advance(20_000);
    assert.equal(s.responses(200).length, seen, 'no retransmission after the ACK');
    s.transport.deliver(request({ method: 'BYE', branch: 'z9hG4bKbye1', toTag: call.localTag, cseq: 2 }), CALLER);
    assert.equal(s.responses(200, 'BYE').length, 1);
    const ended = await call.ended;
    assert.deepEqual([ended.by, ended.answered, ended.sipStatusCode], ['remote', true, 200]);
    s.clock.advance(64 * T1 + 1);
    assert.equal(s.ua.stats().activeCalls + s.ua.stats().lingeringCalls, 0, 'released after lingering');
  });

  test('no ACK within 64*T1: retransmissions stop and we send BYE (§13.3.1.4)', async () => {
    const s = setup();
    s.invite();
    const call = s.calls[0] as InboundCall;
    call.answer(ANSWER);
    s.clock.advance(64 * T1 - 1);
    assert.equal(s.transport.requests('BYE').length, 0);
    const count = s.responses(200).length;
    assert.ok(count >= 9, `retransmitted ${count - 1} times`);
    s.clock.advance(2);
    const bye = s.transport.requests('BYE')[0] as SipRequest;
    assert.ok(bye, 'BYE sent');
    assert.equal(bye.uri, `sip:caller@${CALLER.host}:${CALLER.port}`, 'to the remote target (the INVITE Contact)');
    assert.equal(bye.core.from.params.get('tag'), call.localTag, 'From = our To with our tag');
    assert.equal(bye.core.to.params.get('tag'), 'caller1');
    s.clock.advance(10_000);
    assert.equal(s.responses(200).length, count, 'retransmissions stopped');
    s.transport.deliver(Buffer.from(respond(bye, 200)), CALLER);
    const ended = await call.ended;
    assert.deepEqual([ended.by, ended.reason.startsWith('no ACK')], ['timeout', true]);
  });

  test('hangup while the 2xx awaits its ACK: the BYE waits for the ACK (§15)', () => {
    const s = setup();
    s.invite();
    const call = s.calls[0] as InboundCall;
    call.answer(ANSWER);
    void call.hangup();
    assert.equal(s.transport.requests('BYE').length, 0);
    s.transport.deliver(request({ method: 'ACK', branch: 'z9hG4bKack1', toTag: call.localTag }), CALLER);
    const bye = s.transport.requests('BYE')[0] as SipRequest;
    assert.ok(bye);
    assert.ok(bye.core.cseq.seq > 0);
    s.transport.deliver(Buffer.from(respond(bye, 200)), CALLER);
    assert.equal(call.state, 'ended');
  });

  test('CANCEL while ringing: 200 to the CANCEL, 487 to the INVITE, retransmitted until the ACK (Timer G)', async () => {
    const s = setup();
    s.invite();
    const call = s.calls[0] as InboundCall;
    call.ringing();
    s.transport.deliver(request({ method: 'CANCEL', branch: 'z9hG4bKinv1' }), CALLER);
    assert.equal(s.responses(200, 'CANCEL').length, 1);
    assert.equal(s.responses(487).length, 1);
    const ended = await call.ended;
    assert.deepEqual([ended.sipStatusCode, ended.by, ended.answered], [487, 'remote', false]);
    s.clock.advance(T1);
    assert.equal(s.responses(487).length, 2, 'Timer G retransmits the 487');
    s.transport.deliver(request({ method: 'ACK', branch: 'z9hG4bKinv1', toTag: call.localTag }), CALLER);
    s.clock.advance(10_000);
    assert.equal(s.responses(487).length, 2, 'the ACK stopped the retransmissions');
    // Answering after the CANCEL is a bug of the application: refused loudly.
    assert.throws(() => call.answer(ANSWER), /answer\(\) in state ended/);
  });

  test('CANCEL racing an answer already sent: 200 to the CANCEL, the call stays up (§9.2)', () => {
    const s = setup();
    s.invite();
    const call = s.calls[0] as InboundCall;
    call.answer(ANSWER);
    s.transport.deliver(request({ method: 'CANCEL', branch: 'z9hG4bKinv1' }), CALLER);
    assert.equal(s.responses(200, 'CANCEL').length, 1);
    assert.equal(s.responses(487).length, 0);
    assert.equal(call.state, 'answering');
  });

  test('a CANCEL matching no INVITE transaction gets 481', () => {
    const s = setup();
    s.invite();
    s.transport.deliver(request({ method: 'CANCEL', branch: 'z9hG4bKother' }), CALLER);
    assert.equal(s.responses(481, 'CANCEL').length, 1);
    assert.equal(s.calls[0]?.state, 'offered');
  });

  test('reject(486): final response with To tag, ended by local; statuses outside 300-699 are refused', async () => {
    const s = setup();
    s.invite();
    const call = s.calls[0] as InboundCall;
    assert.throws(() => call.reject(200), RangeError);
    call.reject(486);
    const busy = s.responses(486)[0] as SipResponse;
    assert.equal(busy.core.to.params.get('tag'), call.localTag);
    assert.equal(busy.reason, 'Busy Here');
    const ended = await call.ended;
    assert.deepEqual([ended.sipStatusCode, ended.by], [486, 'local']);
  });

  test('an INVITE without Contact is answered 400 and never reaches the handler', () => {
    const s = setup();
    const raw = request({ method: 'INVITE', branch: 'z9hG4bKnc', body: OFFER }).replace(/Contact: .*\r\n/, '');
    s.transport.deliver(raw, CALLER);
    assert.equal(s.calls.length, 0);
    assert.deepEqual(s.responses().map((r) => r.status), [400]);
  });

  test('BYE from us after the ACK: in-dialog request with a CSeq of our own space; 200 ends the call', async () => {
    const s = setup();
    s.invite();
    const call = s.calls[0] as InboundCall;
    call.answer(ANSWER);
    s.transport.deliver(request({ method: 'ACK', branch: 'z9hG4bKack1', toTag: call.localTag }), CALLER);
    const ending = call.hangup();
    const bye = s.transport.requests('BYE')[0] as SipRequest;
    assert.equal(bye.core.callId, 'call-1@10.0.0.2');
    assert.deepEqual(s.transport.sent.at(-1)?.dest, CALLER);
    s.transport.deliver(Buffer.from(respond(bye, 200)), CALLER);
    const ended = await ending;
    assert.deepEqual([ended.by, ended.answered], ['local', true]);
  });

  test('through record-routing proxies: 180 and 200 copy the Record-Route values in order (§12.1.1), and our BYE follows them', async () => {
    const s = setup();
    const rr = ['<sip:10.0.0.7:5080;lr;ftag=caller1>', '<sip:10.0.0.8;lr>'];
    s.transport.deliver(request({ method: 'INVITE', branch: 'z9hG4bKinv9', body: OFFER, extra: rr.map((v) => `Record-Route: ${v}`) }), CALLER);
    const call = s.calls[0] as InboundCall;
    call.ringing();
    call.answer(ANSWER);
    for (const status of [180, 200]) {
      const r = s.responses(status)[0];
      assert.deepEqual(r?.headers.getAll('Record-Route'), rr, `${status} carries the route set`);
    }
    assert.deepEqual(s.responses(100)[0]?.headers.getAll('Record-Route'), [], '100 creates no dialog');
    s.transport.deliver(request({ method: 'ACK', branch: 'z9hG4bKack9', toTag: call.localTag }), CALLER);
    void call.hangup();
    const bye = s.transport.requests('BYE')[0] as SipRequest;
    // §12.2.1.1: the UAS uses the Record-Route in the request's order; a loose router is the next hop.
    assert.deepEqual(bye.headers.getAll('Route'), rr);
    assert.deepEqual(s.transport.sent.at(-1)?.dest, { host: '10.0.0.7', port: 5080 });
  });

  test('an INVITE that starts over a refused call (same Call-ID and From tag, higher CSeq: a digest answer) is a new call; the same CSeq again is a merged request (482)', () => {
    const s = setup();
    s.invite();
    const first = s.calls[0] as InboundCall;
    first.reject(401, 'Unauthorized', [{ name: 'WWW-Authenticate', value: 'Digest realm="outcall", nonce="n", qop="auth"' }]);
    assert.equal(s.responses(401)[0]?.headers.get('WWW-Authenticate'), 'Digest realm="outcall", nonce="n", qop="auth"');
    s.transport.deliver(request({ method: 'ACK', branch: 'z9hG4bKinv1', cseqMethod: 'ACK', toTag: first.localTag }), CALLER);
    s.transport.deliver(request({ method: 'INVITE', branch: 'z9hG4bKinv2', cseq: 2, body: OFFER, extra: ['Authorization: Digest username="pbx"'] }), CALLER);
    assert.equal(s.calls.length, 2, 'handed over as a new call');
    const second = s.calls[1] as InboundCall;
    assert.deepEqual(second.authorization, ['Digest username="pbx"']);
    assert.notEqual(second.localTag, first.localTag);
    // The refused call's linger ends later: it must not take the new call with it.
    s.clock.advance(64 * T1 + 1);
    second.answer(ANSWER);
    assert.equal(s.responses(200).length, 1, 'the new call still answers');
    s.transport.deliver(request({ method: 'INVITE', branch: 'z9hG4bKinv3', cseq: 2, body: OFFER, callId: 'call-1@10.0.0.2' }), CALLER);
    assert.equal(s.calls.length, 2, 'a live call with the same CSeq again is not a new call');
  });
});

/** A response to one of our requests as the caller would send it. */
function respond(req: SipRequest, status: number): string {
  const lines = [`SIP/2.0 ${status} OK`];
  for (const v of req.headers.getAll('Via')) lines.push(`Via: ${v}`);
  lines.push(`From: ${req.headers.get('From') ?? ''}`, `To: ${req.headers.get('To') ?? ''}`, `Call-ID: ${req.core.callId}`, `CSeq: ${req.core.cseq.seq} ${req.core.cseq.method}`, 'Content-Length: 0', '', '');
  return lines.join('\r\n');
}

describe('INVITEs from screened sources (a blocked scanner)', () => {
  test('refused statelessly: one 403 per INVITE, with the same To tag for a retransmission, and no transaction, retransmission or call', async () => {
    const s = setup();
    s.ua.screenInvites((src) => (src.host === CALLER.host ? 403 : undefined));
    s.invite();
    s.invite(); // the scanner's retransmission
    await Promise.resolve();
    const refused = s.responses(403);
    assert.equal(refused.length, 2, 'each INVITE answered once');
    const tags = refused.map((r) => r.core.to.params.get('tag'));
    assert.ok(tags[0] && tags[0] === tags[1], `a deterministic To tag: ${tags.join(', ')}`);
    assert.equal(s.calls.length, 0, 'never offered as a call');
    assert.equal(s.ua.layer.size, 0, 'no transaction kept');
    assert.equal(s.ua.layer.screenedInvites, 2);
    s.clock.advance(64 * T1 + 1);
    assert.equal(s.responses(403).length, 2, 'nothing retransmitted (Timer G never runs)');
  });

  test('other sources, and requests inside a dialog, are not screened', async () => {
    const s = setup();
    s.ua.screenInvites((src) => (src.host === '192.0.2.9' ? 403 : undefined));
    s.invite();
    await Promise.resolve();
    assert.equal(s.calls.length, 1, 'an INVITE from elsewhere is offered');
    const blocked = setup();
    blocked.ua.screenInvites(() => 403);
    blocked.transport.deliver(request({ method: 'INVITE', branch: 'z9hG4bKre1', toTag: 'ours1', body: OFFER }), CALLER);
    await Promise.resolve();
    assert.equal(blocked.ua.layer.screenedInvites, 0, 'a re-INVITE (To tag) is the dialog\'s, not a new call');
  });
});
