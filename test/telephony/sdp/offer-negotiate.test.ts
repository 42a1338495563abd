import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sdpTransform from 'sdp-transform';
import { createOffer, negotiate, SdpError, type OfferCodecToken, type OfferSpec } from '../../../src/telephony/sdp/index.js';

const spec: OfferSpec = { address: '192.0.2.10', port: 10000, codecs: ['PCMU', 'PCMA', 'L16/16000', 'telephone-event'], sessionId: '4242', sessionVersion: 7 };

/** SIPp's uas_answer.xml answer body (shared/reference/telephony-peers/sipp), CRLF as on the wire. */
const SIPP_ANSWER = [
  'v=0', 'o=sipp 53655765 2353687637 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
  'm=audio 6000 RTP/AVP 0 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
  'a=ptime:20', 'a=sendrecv', '',
].join('\r\n');

/** A baresip 1.0-style answer: media-level c=, rtcp attribute, several codecs, LF line ends. */
const BARESIP_ANSWER = [
  'v=0', 'o=- 1413309458 1413309459 IN IP4 127.0.0.1', 's=-', 't=0 0',
  'm=audio 10234 RTP/AVP 8 0 101', 'c=IN IP4 127.0.0.2', 'b=AS:64', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=rtcp:10299', 'a=sendrecv', 'a=label:1', 'a=ssrc:12345 cname:x', 'a=ptime:20', '',
].join('\n');

test('offer: m=audio lists PTs in preference order with rtpmap, telephone-event per clock rate, ptime, sendrecv', () => {
  const sdp = createOffer(spec);
  assert.match(sdp, /^v=0\r\n/);
  assert.match(sdp, /\r\no=outcall 4242 7 IN IP4 192\.0\.2\.10\r\n/);
  assert.match(sdp, /\r\nc=IN IP4 192\.0\.2\.10\r\n/);
  assert.match(sdp, /\r\nm=audio 10000 RTP\/AVP 0 8 96 101 102\r\n/);
  const p = sdpTransform.parse(sdp);
  const m = p.media[0];
  assert.ok(m);
  assert.deepEqual(m.rtp.map((r) => `${r.payload} ${r.codec}/${r.rate}`), ['0 PCMU/8000', '8 PCMA/8000', '96 L16/16000', '101 telephone-event/8000', '102 telephone-event/16000']);
  assert.deepEqual(m.fmtp.map((f) => `${f.payload} ${f.config}`), ['101 0-16', '102 0-16']);
  assert.equal(m.ptime, 20);
  assert.equal(m.direction, 'sendrecv');
  assert.equal(m.rtcpMux, undefined);
});

test('offer: only narrowband codecs → one telephone-event; rtcp-mux and hold direction on request; IPv6', () => {
  const sdp = createOffer({ address: '2001:db8::1', port: 20000, codecs: ['PCMA', 'telephone-event'], rtcpMux: true, direction: 'sendonly' });
  assert.match(sdp, /m=audio 20000 RTP\/AVP 8 101\r\n/);
  assert.match(sdp, /c=IN IP6 2001:db8::1\r\n/);
  assert.match(sdp, /a=rtcp-mux\r\n/);
  assert.match(sdp, /a=sendonly\r\n/);
  assert.doesNotMatch(sdp, /telephone-event\/16000/);
});

test('offer: invalid local input is a typed error', () => {
  assert.throws(() => createOffer({ ...spec, address: 'not-an-ip' }), (e: unknown) => e instanceof SdpError && e.code === 'BAD_ADDRESS');
  assert.throws(() => createOffer({ ...spec, port: 0 }), (e: unknown) => e instanceof SdpError && e.code === 'MALFORMED');
  assert.throws(() => createOffer({ ...spec, codecs: ['OPUS' as OfferCodecToken] }), (e: unknown) => e instanceof SdpError && e.code === 'UNSUPPORTED_CODEC');
  assert.throws(() => createOffer({ ...spec, codecs: ['telephone-event'] }), (e: unknown) => e instanceof SdpError && e.code === 'NO_COMMON_CODEC');
});

test('negotiate: SIPp answer → PCMU/0 with DTMF 101 at 127.0.0.1:6000, RTCP 6001', () => {
  const n = negotiate(spec, SIPP_ANSWER);
  assert.deepEqual(n, {
    remoteAddress: '127.0.0.1', remotePort: 6000, rtcpPort: 6001, rtcpMux: false, codec: 'PCMU', clockRate: 8000, sampleRate: 8000,
    payloadType: 0, recvPayloadTypes: [0], dtmfPayloadType: 101, dtmfRecvPayloadTypes: [101], direction: 'sendrecv', ptime: 20, remoteHold: false, srtp: null,
  });
});

test('negotiate: the answer order decides (RFC 3264 §7), media-level c= and a=rtcp are honoured', () => {
  const n = negotiate(spec, BARESIP_ANSWER);
  assert.equal(n.codec, 'PCMA');
  assert.equal(n.payloadType, 8);
  assert.equal(n.remoteAddress, '127.0.0.2');
  assert.equal(n.rtcpPort, 10299);
  assert.equal(n.dtmfPayloadType, 101);
});

test('negotiate: wideband L16/16000 answer with a different dynamic PT; DTMF must match the clock rate', () => {
  const answer = SIPP_ANSWER.replace('m=audio 6000 RTP/AVP 0 101', 'm=audio 6000 RTP/AVP 97 98 101')
    .replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:97 L16/16000\r\na=rtpmap:98 telephone-event/16000');
  const n = negotiate(spec, answer);
  assert.equal(n.codec, 'L16');
  assert.equal(n.sampleRate, 16000);
  assert.equal(n.payloadType, 97, 'we send with the PT the answerer listed (RFC 3264 §5.1)');
  assert.deepEqual(n.recvPayloadTypes, [96, 97], 'and accept our offered PT too');
  assert.equal(n.dtmfPayloadType, 98, 'telephone-event/16000, not the 8000 one');
  assert.deepEqual(n.dtmfRecvPayloadTypes, [102, 98]);
});

test('negotiate: G.722 (PT 9, clock 8000, 16 kHz audio) with telephone-event/8000 (RFC 3551 §4.5.2, RFC 4733 §7.1.1)', () => {
  const offer = createOffer({ ...spec, codecs: ['G722', 'PCMU', 'telephone-event'] });
  assert.match(offer, /m=audio 10000 RTP\/AVP 9 0 101\r\n/);
  assert.match(offer, /a=rtpmap:9 G722\/8000\r\n/);
  assert.doesNotMatch(offer, /telephone-event\/16000/, 'G.722 runs an 8000 RTP clock');
  const answer = SIPP_ANSWER.replace('RTP/AVP 0 101', 'RTP/AVP 9 101').replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:9 G722/8000');
  const n = negotiate({ ...spec, codecs: ['G722', 'PCMU', 'telephone-event'] }, answer);
  assert.equal(n.codec, 'G722');
  assert.equal(n.clockRate, 8000);
  assert.equal(n.sampleRate, 16000);
  assert.equal(n.dtmfPayloadType, 101);
});

test('negotiate: static PT without rtpmap; no telephone-event in answer → dtmf null', () => {
  const answer = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n';
  const n = negotiate(spec, answer);
  assert.equal(n.codec, 'PCMA');
  assert.equal(n.dtmfPayloadType, null);
  assert.equal(n.direction, 'sendrecv', 'no direction attribute means sendrecv');
});

test('negotiate: direction and hold in the answer map to OUR direction', () => {
  const recvonly = negotiate(spec, SIPP_ANSWER.replace('a=sendrecv', 'a=recvonly'));
  assert.equal(recvonly.direction, 'sendonly');
  const sendonly = negotiate(spec, SIPP_ANSWER.replace('a=sendrecv', 'a=sendonly'));
  assert.equal(sendonly.direction, 'recvonly');
  assert.equal(sendonly.remoteHold, true);
  const nullAddr = negotiate(spec, SIPP_ANSWER.replace('c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0'));
  assert.equal(nullAddr.direction, 'recvonly', 'c=0.0.0.0: do not send (RFC 3264 §8.4)');
  const sessionLevel = negotiate(spec, SIPP_ANSWER.replace('a=sendrecv\r\n', '').replace('t=0 0', 't=0 0\r\na=inactive'));
  assert.equal(sessionLevel.direction, 'inactive', 'session-level attribute applies');
});

test('negotiate: rejected stream and no common codec are typed errors', () => {
  const rejected = SIPP_ANSWER.replace('m=audio 6000', 'm=audio 0');
  assert.throws(() => negotiate(spec, rejected), (e: unknown) => e instanceof SdpError && e.code === 'PORT_ZERO');
  const g729 = SIPP_ANSWER.replace('RTP/AVP 0 101', 'RTP/AVP 18 101').replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:18 G729/8000');
  assert.throws(() => negotiate(spec, g729), (e: unknown) => e instanceof SdpError && e.code === 'NO_COMMON_CODEC');
  // offered only PCMA; the answer's PCMU is not something we offered
  assert.throws(() => negotiate({ ...spec, codecs: ['PCMA'] }, SIPP_ANSWER), (e: unknown) => e instanceof SdpError && e.code === 'NO_COMMON_CODEC');
  const srtp = SIPP_ANSWER.replace('RTP/AVP', 'RTP/SAVP');
  assert.throws(() => negotiate(spec, srtp), (e: unknown) => e instanceof SdpError && e.code === 'UNSUPPORTED_TRANSPORT');
});

test('negotiate: rtcp-mux only when both sides have it', () => {
  const mux = { ...spec, rtcpMux: true };
  const withMux = negotiate(mux, SIPP_ANSWER.replace('a=ptime:20', 'a=ptime:20\r\na=rtcp-mux'));
  assert.equal(withMux.rtcpMux, true);
  assert.equal(withMux.rtcpPort, 6000);
  assert.equal(negotiate(mux, SIPP_ANSWER).rtcpMux, false);
  assert.equal(negotiate(spec, SIPP_ANSWER.replace('a=ptime:20', 'a=ptime:20\r\na=rtcp-mux')).rtcpMux, false);
});
