import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildRtp, looksLikeRtcp, parseRtp, rtpPacketSize, serializeRtp, type RtpHeader } from '../../../src/telephony/rtp/packet.js';

const headerArb = fc.record({
  marker: fc.boolean(),
  payloadType: fc.integer({ min: 0, max: 127 }).filter((pt) => pt < 72 || pt > 76),
  sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
  timestamp: fc.integer({ min: 0, max: 0xffffffff }),
  ssrc: fc.integer({ min: 0, max: 0xffffffff }),
  csrc: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
  ext: fc.option(fc.record({ profile: fc.integer({ min: 0, max: 0xffff }), words: fc.integer({ min: 0, max: 4 }) })),
  padding: fc.integer({ min: 0, max: 20 }),
  payload: fc.uint8Array({ maxLength: 400 }),
});

test('serialize → parse round-trips every header field (RFC 3550 §5.1)', () => {
  fc.assert(
    fc.property(headerArb, (h) => {
      const header: RtpHeader = { marker: h.marker, payloadType: h.payloadType, sequenceNumber: h.sequenceNumber, timestamp: h.timestamp, ssrc: h.ssrc, csrc: h.csrc };
      if (h.ext) header.extension = { profile: h.ext.profile, data: new Uint8Array(h.ext.words * 4).fill(7) };
      const bytes = serializeRtp(header, h.payload, h.padding);
      assert.equal(bytes.length, rtpPacketSize(header, h.payload.length, h.padding));
      const r = parseRtp(bytes);
      assert.ok(r.ok, !r.ok ? r.error : '');
      const p = r.packet;
      assert.equal(p.marker, h.marker);
      assert.equal(p.payloadType, h.payloadType);
      assert.equal(p.sequenceNumber, h.sequenceNumber);
      assert.equal(p.timestamp, h.timestamp);
      assert.equal(p.ssrc, h.ssrc);
      assert.deepEqual([...p.csrc], h.csrc);
      assert.equal(p.padding, h.padding > 0);
      assert.deepEqual(new Uint8Array(p.payload), h.payload);
      if (h.ext) {
        assert.equal(p.extension?.profile, h.ext.profile);
        assert.equal(p.extension?.data.length, h.ext.words * 4);
      } else assert.equal(p.extension, undefined);
    }),
    { numRuns: 500 },
  );
});

test('buildRtp (hot path) is byte-identical to serializeRtp for a plain header', () => {
  fc.assert(
    fc.property(headerArb, (h) => {
      const a = buildRtp(h.payloadType, h.marker, h.sequenceNumber, h.timestamp, h.ssrc, h.payload);
      const b = serializeRtp({ marker: h.marker, payloadType: h.payloadType, sequenceNumber: h.sequenceNumber, timestamp: h.timestamp, ssrc: h.ssrc }, h.payload);
      assert.deepEqual(new Uint8Array(a), new Uint8Array(b));
    }),
  );
});

test('known wire bytes: V=2, marker, PT 0, seq, ts, ssrc', () => {
  const b = buildRtp(0, true, 0x1234, 0xdeadbeef, 0x01020304, new Uint8Array([0xff, 0x7f]));
  assert.deepEqual([...b], [0x80, 0x80, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 0xff, 0x7f]);
});

test('malformed packets yield typed errors, never throw', () => {
  const good = buildRtp(8, false, 1, 2, 3, new Uint8Array(160));
  const cases: Array<[string, Uint8Array]> = [
    ['too-short', new Uint8Array(11)],
    ['bad-version', Uint8Array.from(good, (x, i) => (i === 0 ? 0x40 : x))],
    ['bad-csrc-length', Uint8Array.from(good.subarray(0, 20), (x, i) => (i === 0 ? 0x8f : x))], // CC=15 needs 72 bytes
    ['bad-extension-length', Uint8Array.from([0x90, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0, 9])],
    ['bad-padding', Uint8Array.from(good, (x, i) => (i === 0 ? 0xa0 : i === good.length - 1 ? 0 : x))],
    ['bad-padding', Uint8Array.from([0xa0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 200])],
    ['rtcp-payload-type', Uint8Array.from([0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0])],
  ];
  for (const [want, bytes] of cases) {
    const r = parseRtp(bytes);
    assert.equal(r.ok, false, want);
    if (!r.ok) assert.equal(r.error, want);
  }
});

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const r = parseRtp(bytes);
      if (r.ok) assert.ok(r.packet.payload.length <= bytes.length);
    }),
    { numRuns: 5000 },
  );
});

test('rtcp-mux demultiplexing looks at the second byte (RFC 5761 §4)', () => {
  assert.equal(looksLikeRtcp(Uint8Array.from([0x80, 200])), true);
  assert.equal(looksLikeRtcp(Uint8Array.from([0x80, 201])), true);
  assert.equal(looksLikeRtcp(Uint8Array.from([0x80, 0])), false);
  assert.equal(looksLikeRtcp(Uint8Array.from([0x80, 0x80 | 101])), false); // marker + PT 101 = 229
  assert.equal(looksLikeRtcp(Uint8Array.from([0x80])), false);
});

test('serializeRtp rejects caller bugs with RangeError', () => {
  const h = { marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0 };
  assert.throws(() => serializeRtp({ ...h, payloadType: 128 }, new Uint8Array(0)), RangeError);
  assert.throws(() => serializeRtp({ ...h, csrc: new Array(16).fill(1) }, new Uint8Array(0)), RangeError);
  assert.throws(() => serializeRtp({ ...h, extension: { profile: 1, data: new Uint8Array(3) } }, new Uint8Array(0)), RangeError);
  assert.throws(() => serializeRtp(h, new Uint8Array(10), 0, new Uint8Array(5)), RangeError);
});
