import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildRtcpCompound, ntpMiddle, parseRtcp, toNtp, type ReportBlock } from '../../../src/telephony/rtp/rtcp.js';

const block: ReportBlock = { ssrc: 0xcafebabe, fractionLost: 25, cumulativeLost: -3, extendedHighestSeq: 0x1ffff, jitter: 42, lastSr: 0x12345678, delaySinceLastSr: 65536 };

test('SR + SDES CNAME + BYE round-trip (RFC 3550 §6.4.1, §6.5, §6.6)', () => {
  const buf = buildRtcpCompound({
    ssrc: 0x11223344,
    cname: 'outcall@127.0.0.1',
    sender: { ntpSec: 3900000000, ntpFrac: 0x80000000, rtpTimestamp: 160000, packetCount: 1000, octetCount: 160000 },
    reports: [block],
    bye: { reason: 'hangup' },
  });
  assert.equal(buf.length % 4, 0);
  const r = parseRtcp(buf);
  assert.ok(r.ok);
  const [sr, sdes, bye] = r.packets;
  assert.deepEqual(sr, { type: 'sr', ssrc: 0x11223344, ntpSec: 3900000000, ntpFrac: 0x80000000, rtpTimestamp: 160000, packetCount: 1000, octetCount: 160000, reports: [block] });
  assert.deepEqual(sdes, { type: 'sdes', chunks: [{ ssrc: 0x11223344, items: [{ type: 1, text: 'outcall@127.0.0.1' }] }] });
  assert.deepEqual(bye, { type: 'bye', ssrcs: [0x11223344], reason: 'hangup' });
});

test('RR without reports (nothing received yet) round-trips', () => {
  const r = parseRtcp(buildRtcpCompound({ ssrc: 7, cname: 'x' }));
  assert.ok(r.ok);
  assert.deepEqual(r.packets[0], { type: 'rr', ssrc: 7, reports: [] });
});

test('report blocks survive any field values', () => {
  fc.assert(
    fc.property(
      fc.record({
        ssrc: fc.integer({ min: 0, max: 0xffffffff }),
        fractionLost: fc.integer({ min: 0, max: 255 }),
        cumulativeLost: fc.integer({ min: -0x800000, max: 0x7fffff }),
        extendedHighestSeq: fc.integer({ min: 0, max: 0xffffffff }),
        jitter: fc.integer({ min: 0, max: 0xffffffff }),
        lastSr: fc.integer({ min: 0, max: 0xffffffff }),
        delaySinceLastSr: fc.integer({ min: 0, max: 0xffffffff }),
      }),
      fc.string({ maxLength: 300 }),
      (b, cname) => {
        const r = parseRtcp(buildRtcpCompound({ ssrc: 1, cname, reports: [b] }));
        assert.ok(r.ok);
        const rr = r.packets[0];
        assert.ok(rr?.type === 'rr');
        assert.deepEqual(rr.reports[0], { ...b });
      },
    ),
  );
});

test('malformed RTCP is rejected with a reason, random bytes never throw', () => {
  const good = buildRtcpCompound({ ssrc: 1, cname: 'abc', reports: [block] });
  assert.equal(parseRtcp(new Uint8Array(3)).ok, false);
  assert.equal(parseRtcp(good.subarray(0, good.length - 4)).ok, false, 'truncated');
  const badVersion = Uint8Array.from(good);
  badVersion[0] = 0x40;
  assert.equal(parseRtcp(badVersion).ok, false);
  const lengthTooBig = Uint8Array.from(good);
  lengthTooBig[3] = 200;
  assert.equal(parseRtcp(lengthTooBig).ok, false);
  // compound must start with SR or RR (RFC 3550 A.2)
  const sdesOnly = good.subarray(8 + 24);
  assert.equal(parseRtcp(sdesOnly).ok, false);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void parseRtcp(b)), { numRuns: 5000 });
});

test('NTP conversion: 1970 epoch offset and the middle 32 bits', () => {
  const n = toNtp(1000.5 * 1000);
  assert.equal(n.ntpSec, 2208988800 + 1000);
  assert.equal(n.ntpFrac, 0x80000000);
  assert.equal(ntpMiddle(0x0001abcd, 0x12345678), 0xabcd1234);
});
