import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sdpTransform from 'sdp-transform';
import { answerOffer, originOf, SdpError, type AnswerLocal } from '../../../src/telephony/sdp/index.js';

const reinvite = (dir: string, opts: { ip?: string; version?: number; codecs?: string } = {}): string =>
  [
    'v=0', `o=peer 999 ${opts.version ?? 2} IN IP4 203.0.113.5`, 's=-', `c=IN IP4 ${opts.ip ?? '203.0.113.5'}`, 't=0 0',
    `m=audio 40000 RTP/AVP ${opts.codecs ?? '8 0 101'}`, 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16', `a=${dir}`, '',
  ].join('\r\n');

const local: AnswerLocal = { address: '192.0.2.10', port: 10000, codecs: ['PCMU', 'PCMA', 'telephone-event'], sessionId: '4242', currentCodec: 'PCMU' };

test('hold (a=sendonly) → we answer recvonly and stop sending; version bumps because our SDP changed', () => {
  const first = answerOffer(reinvite('sendrecv'), { ...local, sessionVersion: 1 });
  const hold = answerOffer(reinvite('sendonly', { version: 3 }), { ...local, sessionVersion: first.sessionVersion, previousSdp: first.sdp });
  assert.equal(hold.media.direction, 'recvonly');
  assert.equal(hold.media.remoteHold, true);
  assert.match(hold.sdp, /a=recvonly\r\n/);
  assert.equal(hold.sessionVersion, first.sessionVersion + 1, 'RFC 3264 §8: changed SDP → version + 1');
  assert.equal(hold.sessionId, '4242', 'session id never changes within the dialog');
});

test('hold with a=inactive → inactive; legacy c=0.0.0.0 hold → recvonly', () => {
  assert.equal(answerOffer(reinvite('inactive'), local).media.direction, 'inactive');
  const legacy = answerOffer(reinvite('sendrecv', { ip: '0.0.0.0' }), local);
  assert.equal(legacy.media.direction, 'recvonly');
  assert.equal(legacy.media.remoteHold, true);
  assert.match(legacy.sdp, /a=recvonly/);
});

test('unhold (sendrecv again) → sendrecv; the codec in use is kept even if not first in the offer', () => {
  const r = answerOffer(reinvite('sendrecv'), local);
  assert.equal(r.media.direction, 'sendrecv');
  assert.equal(r.media.codec, 'PCMU', 'offer lists PCMA first but PCMU is in use: no mid-call switch');
  assert.equal(r.media.payloadType, 0);
  const m = sdpTransform.parse(r.sdp).media[0];
  assert.equal(m?.payloads, '0 101', 'answer: the chosen codec + DTMF, with the offer\'s PT numbers');
  const fresh = answerOffer(reinvite('sendrecv'), { ...local, currentCodec: undefined });
  assert.equal(fresh.media.codec, 'PCMA', 'without a current codec the offerer\'s first wins');
});

test('session refresh with an unchanged offer keeps our version and body (RFC 3264 §8)', () => {
  const first = answerOffer(reinvite('sendrecv'), { ...local, sessionVersion: 5 });
  const again = answerOffer(reinvite('sendrecv'), { ...local, sessionVersion: first.sessionVersion, previousSdp: first.sdp });
  assert.equal(again.sessionVersion, first.sessionVersion);
  assert.equal(again.sdp, first.sdp);
  assert.equal(originOf(again.sdp).sessionVersion, first.sessionVersion);
});

test('a new remote address/port in the re-offer is reflected', () => {
  const r = answerOffer(reinvite('sendrecv', { ip: '198.51.100.7' }).replace('m=audio 40000', 'm=audio 41000'), local);
  assert.equal(r.media.remoteAddress, '198.51.100.7');
  assert.equal(r.media.remotePort, 41000);
});

test('extra m= lines are rejected with port 0, keeping the m= count and order (RFC 3264 §6)', () => {
  const offer = reinvite('sendrecv').replace('m=audio', 'm=video 5000 RTP/AVP 31\r\nm=audio');
  const r = answerOffer(offer, local);
  const p = sdpTransform.parse(r.sdp);
  assert.equal(p.media.length, 2);
  assert.equal(p.media[0]?.type, 'video');
  assert.equal(p.media[0]?.port, 0);
  assert.equal(p.media[1]?.type, 'audio');
  assert.equal(p.media[1]?.port, 10000);
});

test('no common codec / rejected audio → typed errors (SIP 488)', () => {
  const g729 = reinvite('sendrecv', { codecs: '18' }).replace('a=rtpmap:8 PCMA/8000', 'a=rtpmap:18 G729/8000');
  assert.throws(() => answerOffer(g729, local), (e: unknown) => e instanceof SdpError && e.code === 'NO_COMMON_CODEC');
  assert.throws(() => answerOffer(reinvite('sendrecv').replace('m=audio 40000', 'm=audio 0'), local), (e: unknown) => e instanceof SdpError && e.code === 'PORT_ZERO');
});

test('we can hold the remote ourselves: local direction sendonly against a sendrecv offer', () => {
  const r = answerOffer(reinvite('sendrecv'), { ...local, direction: 'sendonly' });
  assert.equal(r.media.direction, 'sendonly');
  assert.match(r.sdp, /a=sendonly/);
});
