import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Dialog } from '../../../src/telephony/sip/dialog.js';
import { parseMessage } from '../../../src/telephony/sip/parser.js';
import type { SipRequest, SipResponse } from '../../../src/telephony/sip/message.js';

const INVITE = parseMessage(
  'INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKi1\r\nFrom: "A" <sip:alice@example.com>;tag=ours\r\nTo: <sip:bob@example.com>\r\nCall-ID: d1\r\nCSeq: 5 INVITE\r\nContact: <sip:alice@10.0.0.1>\r\n\r\n',
);
const response = (status: number, extra: string): SipResponse => {
  const r = parseMessage(`SIP/2.0 ${status} X\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKi1\r\nFrom: "A" <sip:alice@example.com>;tag=ours\r\nTo: <sip:bob@example.com>;tag=theirs\r\nCall-ID: d1\r\nCSeq: 5 INVITE\r\n${extra}\r\n`);
  assert.ok(r.ok && r.value.kind === 'response');
  return r.value as SipResponse;
};
const invite = (): SipRequest => {
  assert.ok(INVITE.ok && INVITE.value.kind === 'request');
  return INVITE.value as SipRequest;
};

describe('dialog (§12)', () => {
  test('UAC route set = Record-Route reversed; remote target = Contact; CSeq continues from the INVITE', () => {
    const d = Dialog.fromResponse(invite(), response(200, 'Record-Route: <sip:p3;lr>, <sip:p2;lr>\r\nRecord-Route: <sip:p1;lr>\r\nContact: <sip:bob@192.0.2.7:5062>\r\n'));
    assert.ok(d.ok);
    if (!d.ok) return;
    assert.deepEqual(d.value.routeSet, ['<sip:p1;lr>', '<sip:p2;lr>', '<sip:p3;lr>']);
    assert.equal(d.value.remoteTarget.host, '192.0.2.7');
    assert.equal(d.value.sm.state, 'confirmed');
    const bye = d.value.buildRequest('BYE', { via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKb1' });
    assert.equal(bye.core.cseq.seq, 6);
    assert.equal(bye.uri, 'sip:bob@192.0.2.7:5062');
    assert.equal(bye.core.from.params.get('tag'), 'ours');
    assert.equal(bye.core.to.params.get('tag'), 'theirs');
    assert.equal(bye.core.from.displayName, 'A');
    assert.equal(d.value.nextHop().host, 'p1');
    const info = d.value.buildRequest('INFO', { via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKb2', body: 'x', contentType: 'text/plain' });
    assert.equal(info.core.cseq.seq, 7);
    assert.equal(info.headers.get('Content-Type'), 'text/plain');
    const ack = d.value.buildRequest('ACK', { via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa1', cseq: 5 });
    assert.equal(ack.core.cseq.seq, 5);
    assert.equal(d.value.localSeq, 7, 'ACK does not consume a CSeq number');
  });

  test('early dialog from 1xx; confirm() recomputes the route set and target from the 2xx', () => {
    const d = Dialog.fromResponse(invite(), response(180, 'Record-Route: <sip:old;lr>\r\nContact: <sip:bob@198.51.100.1>\r\n'));
    assert.ok(d.ok);
    if (!d.ok) return;
    assert.equal(d.value.sm.state, 'early');
    d.value.confirm(response(200, 'Record-Route: <sip:new;lr>\r\nContact: <sip:bob@198.51.100.2>\r\n'));
    assert.equal(d.value.sm.state, 'confirmed');
    assert.deepEqual(d.value.routeSet, ['<sip:new;lr>']);
    assert.equal(d.value.remoteTarget.host, '198.51.100.2');
    assert.throws(() => d.value.sm.to('early'));
  });

  test('remote CSeq must not go backwards; matches() checks Call-ID and both tags', () => {
    const d = Dialog.fromResponse(invite(), response(200, 'Contact: <sip:bob@192.0.2.7>\r\n'));
    assert.ok(d.ok);
    if (!d.ok) return;
    assert.equal(d.value.acceptRemoteSeq(10, 'INFO'), true);
    assert.equal(d.value.acceptRemoteSeq(9, 'BYE'), false);
    assert.equal(d.value.acceptRemoteSeq(9, 'ACK'), true);
    assert.equal(d.value.acceptRemoteSeq(11, 'BYE'), true);
    const mk = (from: string, to: string) => {
      const r = parseMessage(`BYE sip:alice@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:bob@example.com>;tag=${from}\r\nTo: <sip:alice@example.com>;tag=${to}\r\nCall-ID: d1\r\nCSeq: 12 BYE\r\n\r\n`);
      assert.ok(r.ok && r.value.kind === 'request');
      return r.value as SipRequest;
    };
    assert.equal(d.value.matches(mk('theirs', 'ours')), true);
    assert.equal(d.value.matches(mk('other', 'ours')), false);
    assert.equal(d.value.matches(mk('theirs', 'nope')), false);
  });

  test('a 2xx without To tag or Contact cannot make a dialog', () => {
    const r = parseMessage('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKi1\r\nFrom: <sip:alice@example.com>;tag=ours\r\nTo: <sip:bob@example.com>\r\nCall-ID: d1\r\nCSeq: 5 INVITE\r\n\r\n');
    assert.ok(r.ok && r.value.kind === 'response');
    assert.equal(Dialog.fromResponse(invite(), r.value as SipResponse).ok, false);
    assert.equal(Dialog.fromResponse(invite(), response(200, '')).ok, false);
  });
});
