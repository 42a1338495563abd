import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { answerOffer, negotiate, SdpError, type OfferSpec } from '../../../src/telephony/sdp/index.js';

const spec: OfferSpec = { address: '192.0.2.10', port: 10000, codecs: ['PCMU', 'PCMA', 'telephone-event'] };
const GOOD = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n';

function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof SdpError) return e.code;
    throw e; // anything else is a bug: the test fails
  }
}

test('malformed SDP gives typed errors', () => {
  assert.equal(code(() => negotiate(spec, '')), 'MALFORMED');
  assert.equal(code(() => negotiate(spec, 'hello world')), 'MALFORMED');
  assert.equal(code(() => negotiate(spec, GOOD.replace('v=0', 'v=1'))), 'MALFORMED');
  assert.equal(code(() => negotiate(spec, GOOD.replace(/c=.*\r\n/, ''))), 'MALFORMED');
  assert.equal(code(() => negotiate(spec, GOOD.replace('c=IN IP4 10.0.0.1', 'c=IN IP4 example.com'))), 'BAD_ADDRESS');
  assert.equal(code(() => negotiate(spec, GOOD.replace('m=audio 4000', 'm=audio 99999'))), 'MALFORMED');
  assert.equal(code(() => negotiate(spec, GOOD.replace('m=audio 4000', 'm=audio abc'))), 'NO_AUDIO', 'an unparseable m= line is no audio stream');
  assert.equal(code(() => negotiate(spec, GOOD.replace('m=audio', 'm=video'))), 'NO_AUDIO');
  assert.equal(code(() => negotiate(spec, GOOD.replace('RTP/AVP 0 101', 'RTP/AVP'))), 'NO_COMMON_CODEC');
  assert.equal(code(() => negotiate(spec, GOOD.replace('a=rtpmap:101 telephone-event/8000', 'a=rtpmap:0 PCMU/zero'))), 'ok', 'bad rtpmap for a static PT: falls back to RFC 3551');
  assert.equal(code(() => negotiate(spec, 'v=0\r\n'.repeat(20000))), 'MALFORMED');
  assert.equal(code(() => negotiate(spec, GOOD)), 'ok');
});

test('fuzz: mutated and random SDP never throws anything but SdpError', () => {
  const lines = GOOD.split('\r\n');
  const mutated = fc
    .tuple(fc.array(fc.nat({ max: lines.length - 1 }), { maxLength: 4 }), fc.array(fc.string({ maxLength: 30 }), { maxLength: 4 }), fc.boolean())
    .map(([drop, junk, crlf]) => {
      const kept = lines.filter((_, i) => !drop.includes(i));
      junk.forEach((j, i) => kept.splice(i * 2, 0, j));
      return kept.join(crlf ? '\r\n' : '\n');
    });
  fc.assert(
    fc.property(fc.oneof(mutated, fc.string({ maxLength: 400 }), fc.string({ unit: 'binary', maxLength: 200 })), (text) => {
      code(() => negotiate(spec, text));
      code(() => answerOffer(text, { address: '192.0.2.10', port: 10000, codecs: ['PCMU', 'telephone-event'] }));
    }),
    { numRuns: 3000 },
  );
});
