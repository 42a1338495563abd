import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { buildRtp } from '../../../src/telephony/rtp/packet.js';
import { rng as seededRng } from '../../fixtures/rng.js';
import { deriveSessionKeys } from '../../../src/telephony/rtp/srtp/key-derivation.js';
import { SessionTransform, SrtpProtector, SrtpUnprotector, type UnprotectResult } from '../../../src/telephony/rtp/srtp/srtp-context.js';
import { isSrtpSuite, SRTP_SUITES, type SrtpKeys, type SrtpSuite } from '../../../src/telephony/rtp/srtp/suites.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SUITES: SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

// RFC 3711 Appendix B.3 master key and salt; libsrtp's test_key (test/srtp_driver.c) starts with the same 30 bytes.
const RFC_MASTER_KEY = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const RFC_MASTER_SALT = hex('0EC675AD498AFEEBB6960B3AABE6');
const rfcKeys = (suite: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80'): SrtpKeys => ({ suite, masterKey: RFC_MASTER_KEY, masterSalt: RFC_MASTER_SALT });
const randomKeys = (suite: SrtpSuite): SrtpKeys => ({ suite, masterKey: randomBytes(16), masterSalt: randomBytes(14) });

const SSRC = 0x1234abcd;
const PAYLOAD = Buffer.alloc(160, 0xd5); // a PCMU silence frame: 20 ms at 8 kHz
const rtpPacket = (seq: number, ssrc = SSRC, payload: Uint8Array = PAYLOAD): Buffer => buildRtp(0, false, seq, seq * 160, ssrc, payload);
/** A receiver report with one report block (RFC 3550 §6.4.2): 8 + 24 bytes. */
const rtcpPacket = (ssrc = SSRC): Buffer => {
  const b = Buffer.alloc(32, 0x5a);
  b[0] = 0x81;
  b[1] = 201;
  b.writeUInt16BE(7, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
};

function okPacket(r: UnprotectResult): Buffer {
  assert.ok(r.ok, r.ok ? '' : `unprotect failed: ${r.reason}`);
  return r.packet;
}
function reason(r: UnprotectResult): string {
  return r.ok ? 'ok' : r.reason;
}

test('suites: the two SDES suites of RFC 4568 §6.2 with their tag lengths', () => {
  assert.deepEqual(SRTP_SUITES.AES_CM_128_HMAC_SHA1_80, { keyLength: 16, saltLength: 14, rtpTagLength: 10, rtcpTagLength: 10 });
  // RFC 4568 §6.2.2 / RFC 3711 §5.2: the 32-bit tag is for SRTP only; SRTCP keeps 80 bits.
  assert.deepEqual(SRTP_SUITES.AES_CM_128_HMAC_SHA1_32, { keyLength: 16, saltLength: 14, rtpTagLength: 4, rtcpTagLength: 10 });
  assert.ok(isSrtpSuite('AES_CM_128_HMAC_SHA1_80'));
  assert.ok(isSrtpSuite('AES_CM_128_HMAC_SHA1_32'));
  for (const s of ['AES_CM_128_HMAC_SHA1_8', 'aes_cm_128_hmac_sha1_80', 'AEAD_AES_128_GCM', 'F8_128_HMAC_SHA1_80', '']) assert.equal(isSrtpSuite(s), false, s);
});

test('key derivation: RFC 3711 Appendix B.3 test vectors (SRTP labels 0, 1, 2; kdr 0)', () => {
  const k = deriveSessionKeys(rfcKeys(), 'rtp');
  assert.equal(k.encKey.toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087'); // "cipher key"
  assert.equal(k.salt.toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1'); // "cipher salt"
  // B.3 lists a 94-byte auth key; HMAC-SHA1's k_a is n_a = 160 bits (§8.2), i.e. its first 20 bytes.
  assert.equal(k.authKey.toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  assert.equal(k.encKey.length, 16);
  assert.equal(k.authKey.length, 20);
  assert.equal(k.salt.length, 14);
  // The _32 suite derives the very same keys: only the tag length differs.
  assert.deepEqual(deriveSessionKeys(rfcKeys('AES_CM_128_HMAC_SHA1_32'), 'rtp'), k);
});

test('key derivation: SRTCP (labels 3, 4, 5) keys differ from the SRTP ones', () => {
  const rtp = deriveSessionKeys(rfcKeys(), 'rtp');
  const rtcp = deriveSessionKeys(rfcKeys(), 'rtcp');
  assert.notDeepEqual(rtcp.encKey, rtp.encKey);
  assert.notDeepEqual(rtcp.authKey, rtp.authKey);
  assert.notDeepEqual(rtcp.salt, rtp.salt);
  assert.deepEqual([rtcp.encKey.length, rtcp.authKey.length, rtcp.salt.length], [16, 20, 14]);
  // Their exact values are pinned by the libsrtp SRTCP reference packet below.
});

test('key derivation: wrong lengths and unknown suites throw RangeError', () => {
  const good = rfcKeys();
  assert.throws(() => deriveSessionKeys({ ...good, masterKey: Buffer.alloc(15) }, 'rtp'), RangeError);
  assert.throws(() => deriveSessionKeys({ ...good, masterKey: Buffer.alloc(32) }, 'rtp'), RangeError);
  assert.throws(() => deriveSessionKeys({ ...good, masterSalt: Buffer.alloc(12) }, 'rtcp'), RangeError);
  assert.throws(() => deriveSessionKeys({ ...good, masterSalt: Buffer.alloc(16) }, 'rtcp'), RangeError);
  assert.throws(() => deriveSessionKeys({ ...good, suite: 'AEAD_AES_128_GCM' as SrtpSuite }, 'rtp'), RangeError);
  assert.throws(() => deriveSessionKeys(good, 'srtp' as 'rtp'), RangeError);
  assert.throws(() => new SrtpProtector({ ...good, masterKey: Buffer.alloc(0) }), RangeError);
  assert.throws(() => new SrtpUnprotector({ ...good, masterSalt: Buffer.alloc(30) }), RangeError);
});

test('AES-CM: RFC 3711 Appendix B.2 keystream (65282 blocks from SSRC 0, ROC 0, SEQ 0) through the packet transform', () => {
  // B.2 gives the session key and salt directly (no derivation): salt F0..FD, "already shifted" IV F0..FD0000.
  const t = new SessionTransform({ encKey: hex('2B7E151628AED2A6ABF7158809CF4F3C'), authKey: Buffer.alloc(20), salt: hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD') });
  const segment = 1044512; // "Keystream segment length: 1044512 octets (65282 AES blocks)"
  const zeros = Buffer.alloc(segment);
  const ks = Buffer.alloc(segment, 0xee);
  t.crypt(zeros, 0, segment, ks, 0, 0, 0, 0);
  const block = (n: number): string => ks.subarray(n * 16, n * 16 + 16).toString('hex').toUpperCase();
  assert.equal(block(0x0000), 'E03EAD0935C95E80E166B16DD92B4EB4');
  assert.equal(block(0x0001), 'D23513162B02D0F72A43A2FE4A5F97AB');
  assert.equal(block(0x0002), '41E95B3BB0A2E8DD477901E4FCA894C0');
  assert.equal(block(0xfeff), 'EC8CDF7398607CB0F2D21675EA9EA1E4');
  assert.equal(block(0xff00), '362B7C3C6773516318A077D7FC5073AE');
  assert.equal(block(0xff01), '6A2CC3787889374FBEB4C81B17BA6C44');
  // A non-zero SSRC or index must move the keystream (IV formation of §4.1.1).
  const other = Buffer.alloc(16);
  t.crypt(zeros, 0, 16, other, 0, 1, 0, 0);
  assert.notEqual(other.toString('hex').toUpperCase(), block(0));
  t.crypt(zeros, 0, 16, other, 0, 0, 0, 1);
  assert.notEqual(other.toString('hex').toUpperCase(), block(0));
});

test('AES-CM keystream batches: every packet gets its own index\'s keystream, in any order, size, SSRC and across the ROC wrap', () => {
  // cryptRtp makes the keystream of 32 indices per AES call; crypt() makes one packet's. Whatever the
  // arrival pattern (in order, late behind the batch, far ahead, a new SSRC, a bigger payload, DTMF-sized
  // ones), each packet must get exactly the keystream of (SSRC, index).
  const keys = { encKey: randomBytes(16), authKey: Buffer.alloc(20), salt: randomBytes(14) };
  const batched = new SessionTransform(keys);
  const single = new SessionTransform(keys);
  const rng = seededRng(7);
  const start = 3 * 65536 + 65500; // ROC 3, crossing into ROC 4 within the first batches
  const plan: Array<{ ssrc: number; index: number; size: number }> = [];
  for (let i = 0; i < 400; i++) plan.push({ ssrc: SSRC, index: start + i, size: 160 });
  // Reorder neighbours, send some late (behind the batch), some far ahead, another SSRC, other sizes.
  for (let i = 0; i + 1 < plan.length; i += 5) [plan[i], plan[i + 1]] = [plan[i + 1] as (typeof plan)[0], plan[i] as (typeof plan)[0]];
  plan.splice(120, 0, { ssrc: SSRC, index: start + 40, size: 160 }, { ssrc: SSRC, index: start + 5000, size: 160 }, { ssrc: SSRC, index: start + 121, size: 160 });
  plan.splice(200, 0, { ssrc: 0x0badcafe, index: 17, size: 160 }, { ssrc: 0x0badcafe, index: 18, size: 160 });
  plan.splice(260, 0, { ssrc: SSRC, index: start + 262, size: 640 }, { ssrc: SSRC, index: start + 263, size: 4 }, { ssrc: SSRC, index: start + 264, size: 161 });
  for (const { ssrc, index, size } of plan) {
    const payload = Buffer.from(Array.from({ length: size }, () => Math.floor(rng() * 256)));
    const got = Buffer.alloc(size);
    const want = Buffer.alloc(size);
    batched.cryptRtp(payload, 0, size, got, 0, ssrc, index);
    const roc = Math.floor(index / 65536);
    single.crypt(payload, 0, size, want, 0, ssrc, roc, index - roc * 65536);
    assert.equal(got.toString('hex'), want.toString('hex'), `ssrc ${ssrc.toString(16)} index ${index} size ${size}`);
  }
});

test('in place: protectRtpInPlace makes the bytes protectRtp makes; unprotectRtp(p, true) decrypts into p; no room for the tag throws', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const copying = new SrtpProtector(keys);
  const inPlace = new SrtpProtector(keys);
  assert.equal(inPlace.rtpOverhead, 10);
  const rx = new SrtpUnprotector(keys);
  for (let seq = 65530; seq < 65546; seq++) {
    const plain = rtpPacket(seq & 0xffff, SSRC, randomBytes(160));
    const want = copying.protectRtp(plain);
    // Built with room for the tag (and 6 bytes more: the result is then a view of the first len + 10).
    const room = Buffer.alloc(plain.length + 16, 0x77);
    plain.copy(room);
    const got = inPlace.protectRtpInPlace(room, plain.length);
    assert.equal(got.toString('hex'), want.toString('hex'), `seq ${seq}`);
    assert.equal(got.buffer, room.buffer, 'protected where it was built');
    const r = rx.unprotectRtp(got, true);
    assert.equal(okPacket(r).toString('hex'), plain.toString('hex'));
    assert.equal(okPacket(r).buffer, room.buffer, 'decrypted where it arrived');
  }
  assert.throws(() => inPlace.protectRtpInPlace(Buffer.alloc(172 + 9), 172), RangeError);
});

// Interop: libsrtp's reference packets (cisco/libsrtp test/srtp_driver.c, srtp_validate(): srtp_plaintext_ref,
// srtp_ciphertext, rtcp_plaintext_ref, srtcp_ciphertext), default policy AES_CM_128_HMAC_SHA1_80 for SRTP and
// SRTCP, key = test_key (master key E1F97A0D..., salt 0EC675AD...), SSRC 0xcafebabe, seq 0x1234, ROC 0. The
// SRTCP packet carries E=1 and SRTCP index 1 (word 80000001): libsrtp protected it as its first RTCP packet,
// with an index counter that starts at 1.
const LIBSRTP_RTP_PLAIN = hex('800f1234decafbadcafebabe abababababababababababababababab');
const LIBSRTP_SRTP = hex('800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb');
const LIBSRTP_RTCP_PLAIN = hex('81c8000bcafebabe abababababababababababababababab');
const LIBSRTP_SRTCP = hex('81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798');

test('interop: protectRtp reproduces libsrtp\'s reference SRTP packet byte for byte, and unprotectRtp reads it', () => {
  assert.deepEqual(new SrtpProtector(rfcKeys()).protectRtp(LIBSRTP_RTP_PLAIN), LIBSRTP_SRTP);
  assert.deepEqual(okPacket(new SrtpUnprotector(rfcKeys()).unprotectRtp(LIBSRTP_SRTP)), LIBSRTP_RTP_PLAIN);
});

test('interop: SRTCP reference packet of libsrtp (index 1 = our second packet), both directions', () => {
  const p = new SrtpProtector(rfcKeys());
  const first = p.protectRtcp(LIBSRTP_RTCP_PLAIN);
  assert.equal(first.readUInt32BE(first.length - 14), 0x80000000, 'our first SRTCP index is 0 (RFC 3711 §3.4)');
  assert.deepEqual(p.protectRtcp(LIBSRTP_RTCP_PLAIN), LIBSRTP_SRTCP);
  assert.deepEqual(okPacket(new SrtpUnprotector(rfcKeys()).unprotectRtcp(LIBSRTP_SRTCP)), LIBSRTP_RTCP_PLAIN);
  // The _32 suite keeps the 80-bit SRTCP tag, so its SRTCP is the same bytes.
  assert.deepEqual(okPacket(new SrtpUnprotector(rfcKeys('AES_CM_128_HMAC_SHA1_32')).unprotectRtcp(LIBSRTP_SRTCP)), LIBSRTP_RTCP_PLAIN);
});

test('interop: AES_CM_128_HMAC_SHA1_32 tag is the leftmost 4 bytes of the same HMAC (derived from the libsrtp packet)', () => {
  // Not a published vector: RFC 3711 §4.2 takes the leftmost n_tag bits of one HMAC-SHA1 over the same
  // input, and both suites derive the same keys, so the _32 packet is the libsrtp _80 packet with its tag cut to 4.
  const expected = LIBSRTP_SRTP.subarray(0, LIBSRTP_SRTP.length - 6);
  assert.deepEqual(new SrtpProtector(rfcKeys('AES_CM_128_HMAC_SHA1_32')).protectRtp(LIBSRTP_RTP_PLAIN), expected);
  assert.deepEqual(okPacket(new SrtpUnprotector(rfcKeys('AES_CM_128_HMAC_SHA1_32')).unprotectRtp(expected)), LIBSRTP_RTP_PLAIN);
});

for (const suite of SUITES) {
  const tagLen = SRTP_SUITES[suite].rtpTagLength;

  test(`${suite}: RTP round trip restores the packet, encrypts the payload, leaves the header, adds ${tagLen} bytes`, () => {
    const keys = randomKeys(suite);
    const tx = new SrtpProtector(keys);
    const rx = new SrtpUnprotector(keys);
    assert.equal(tagLen, suite === 'AES_CM_128_HMAC_SHA1_80' ? 10 : 4);
    for (let seq = 100; seq < 110; seq++) {
      const payload = randomBytes(160);
      const plain = rtpPacket(seq, SSRC, payload);
      const copy = Buffer.from(plain);
      const prot = tx.protectRtp(plain);
      assert.deepEqual(plain, copy, 'the input is not modified');
      assert.equal(prot.length, plain.length + tagLen);
      assert.deepEqual(prot.subarray(0, 12), plain.subarray(0, 12), 'header in clear');
      assert.notDeepEqual(prot.subarray(12, 172), payload, 'payload encrypted');
      assert.deepEqual(okPacket(rx.unprotectRtp(prot)), plain);
    }
  });

  test(`${suite}: RTP with CSRCs and a header extension: all header bytes stay clear and authenticated`, () => {
    const keys = randomKeys(suite);
    const tx = new SrtpProtector(keys);
    const rx = new SrtpUnprotector(keys);
    // V=2, X=1, CC=2; 2 CSRCs; extension profile 0xBEDE with 2 words; then 40 bytes of payload.
    const hdr = Buffer.concat([hex('92 00 0001 00000064'), Buffer.alloc(4), hex('11111111 22222222'), hex('BEDE 0002 10ff0000 20aabb00')]);
    hdr.writeUInt32BE(SSRC, 8);
    const payload = randomBytes(40);
    const plain = Buffer.concat([hdr, payload]);
    const prot = tx.protectRtp(plain);
    assert.deepEqual(prot.subarray(0, hdr.length), hdr);
    assert.notDeepEqual(prot.subarray(hdr.length, plain.length), payload);
    assert.deepEqual(okPacket(rx.unprotectRtp(prot)), plain);
    // The extension is authenticated though not encrypted.
    const forged = Buffer.from(prot);
    forged[hdr.length - 2] = (forged[hdr.length - 2] as number) ^ 1;
    assert.equal(reason(rx.unprotectRtp(forged)), 'auth');
  });

  test(`${suite}: RTCP round trip: 8 bytes clear, rest encrypted, E||index then a 10-byte tag appended`, () => {
    const keys = randomKeys(suite);
    const tx = new SrtpProtector(keys);
    const rx = new SrtpUnprotector(keys);
    for (let i = 0; i < 5; i++) {
      const plain = rtcpPacket();
      const prot = tx.protectRtcp(plain);
      assert.equal(prot.length, plain.length + 4 + 10);
      assert.deepEqual(prot.subarray(0, 8), plain.subarray(0, 8));
      assert.notDeepEqual(prot.subarray(8, plain.length), plain.subarray(8));
      assert.equal(prot.readUInt32BE(plain.length), (0x80000000 | i) >>> 0, 'E=1 and the SRTCP index counts from 0');
      assert.deepEqual(okPacket(rx.unprotectRtcp(prot)), plain);
    }
  });

  test(`${suite}: a flipped bit anywhere in an SRTP or SRTCP packet fails authentication and changes no state`, () => {
    const keys = randomKeys(suite);
    const tx = new SrtpProtector(keys);
    const rx = new SrtpUnprotector(keys);
    // Some history first, so that flips of sequence-number bits land on both old and new indices.
    for (let seq = 1000; seq < 1010; seq++) okPacket(rx.unprotectRtp(tx.protectRtp(rtpPacket(seq))));
    const prot = tx.protectRtp(rtpPacket(1010));
    for (let bit = 0; bit < prot.length * 8; bit++) {
      const bad = Buffer.from(prot);
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (0x80 >> (bit & 7));
      assert.equal(reason(rx.unprotectRtp(bad)), 'auth', `RTP bit ${bit}`);
    }
    assert.deepEqual(okPacket(rx.unprotectRtp(prot)), rtpPacket(1010), 'the genuine packet is still accepted');
    const rprot = tx.protectRtcp(rtcpPacket());
    for (let bit = 0; bit < rprot.length * 8; bit++) {
      const bad = Buffer.from(rprot);
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (0x80 >> (bit & 7));
      assert.equal(reason(rx.unprotectRtcp(bad)), 'auth', `RTCP bit ${bit}`);
    }
    assert.deepEqual(okPacket(rx.unprotectRtcp(rprot)), rtcpPacket());
  });

  test(`${suite}: the same packet twice is a replay (RTP and RTCP)`, () => {
    const keys = randomKeys(suite);
    const tx = new SrtpProtector(keys);
    const rx = new SrtpUnprotector(keys);
    const a = tx.protectRtp(rtpPacket(7));
    const b = tx.protectRtp(rtpPacket(8));
    okPacket(rx.unprotectRtp(a));
    assert.equal(reason(rx.unprotectRtp(a)), 'replay');
    okPacket(rx.unprotectRtp(b));
    assert.equal(reason(rx.unprotectRtp(a)), 'replay');
    assert.equal(reason(rx.unprotectRtp(b)), 'replay');
    const r = tx.protectRtcp(rtcpPacket());
    okPacket(rx.unprotectRtcp(r));
    assert.equal(reason(rx.unprotectRtcp(r)), 'replay');
  });
}

test('replay window: 64 by default; 63 behind the highest is still judged, 64 behind is refused (RFC 3711 §3.3.2)', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const tx = new SrtpProtector(keys);
  const rx = new SrtpUnprotector(keys);
  const sent = new Map<number, Buffer>();
  for (let seq = 100; seq <= 300; seq++) sent.set(seq, tx.protectRtp(rtpPacket(seq)));
  const get = (seq: number): Buffer => sent.get(seq) as Buffer;
  okPacket(rx.unprotectRtp(get(100)));
  okPacket(rx.unprotectRtp(get(300))); // highest 300: the window is 237..300
  assert.equal(reason(rx.unprotectRtp(get(236))), 'replay', '64 behind: older than the window');
  assert.equal(reason(rx.unprotectRtp(get(101))), 'replay', 'far older than the window');
  okPacket(rx.unprotectRtp(get(237))); // 63 behind, never seen: a late packet, accepted
  assert.equal(reason(rx.unprotectRtp(get(237))), 'replay');
  okPacket(rx.unprotectRtp(get(299)));

  // RTCP has its own window on the SRTCP index (§3.4).
  const rtcp: Buffer[] = [];
  for (let i = 0; i < 70; i++) rtcp.push(tx.protectRtcp(rtcpPacket()));
  okPacket(rx.unprotectRtcp(rtcp[69] as Buffer));
  assert.equal(reason(rx.unprotectRtcp(rtcp[5] as Buffer)), 'replay', 'index 5 is 64 behind 69');
  okPacket(rx.unprotectRtcp(rtcp[6] as Buffer));
});

test('replay window: a larger configured window (1024) keeps late packets; out-of-range sizes throw', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const tx = new SrtpProtector(keys);
  const rx = new SrtpUnprotector(keys, { replayWindow: 1024 });
  const old = tx.protectRtp(rtpPacket(1));
  const mid = tx.protectRtp(rtpPacket(2));
  let last = mid;
  for (let seq = 3; seq <= 1025; seq++) last = tx.protectRtp(rtpPacket(seq));
  okPacket(rx.unprotectRtp(last)); // highest 1025
  okPacket(rx.unprotectRtp(mid)); // 1023 behind
  assert.equal(reason(rx.unprotectRtp(old)), 'replay'); // 1024 behind
  for (const w of [0, 1, 63, 1025, 64.5, Number.NaN]) assert.throws(() => new SrtpUnprotector(keys, { replayWindow: w }), RangeError, String(w));
  assert.doesNotThrow(() => new SrtpUnprotector(keys, { replayWindow: 64 }));
});

test('out-of-order delivery within the window is accepted, each packet once', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_32');
  const tx = new SrtpProtector(keys);
  const rx = new SrtpUnprotector(keys);
  const pkts = Array.from({ length: 40 }, (_, i) => tx.protectRtp(rtpPacket(5000 + i)));
  const order = [0, 3, 1, 2, 10, 4, 9, 8, 5, 6, 7, 20, 11, 19, 12, 18, 13, 17, 14, 16, 15, 39, 21, 38, 22, 37, 23, 36, 24, 35, 25, 34, 26, 33, 27, 32, 28, 31, 29, 30];
  assert.equal(new Set(order).size, 40);
  for (const i of order) assert.deepEqual(okPacket(rx.unprotectRtp(pkts[i] as Buffer)), rtpPacket(5000 + i), `packet ${i}`);
  for (const i of order) assert.equal(reason(rx.unprotectRtp(pkts[i] as Buffer)), 'replay', `packet ${i} again`);
});

test('ROC: a sender starting at seq 65530 crosses the wrap; the receiver decrypts all 20, and seq 0 really used ROC 1', () => {
  for (const suite of SUITES) {
    const keys = randomKeys(suite);
    const tx = new SrtpProtector(keys);
    const rx = new SrtpUnprotector(keys);
    const prot: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const seq = (65530 + i) & 0xffff;
      prot.push(tx.protectRtp(rtpPacket(seq)));
      assert.deepEqual(okPacket(rx.unprotectRtp(prot[i] as Buffer)), rtpPacket(seq), `${suite} seq ${seq}`);
    }
    // A receiver that has seen nothing takes seq 0 at ROC 0 (§3.3.1); the sender used ROC 1 for it, so that fails.
    assert.equal(reason(new SrtpUnprotector(keys).unprotectRtp(prot[6] as Buffer)), 'auth');
  }
});

test('ROC: a receiver whose first packet is seq 65535 then gets 0, 1, ...', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const tx = new SrtpProtector(keys);
  const rx = new SrtpUnprotector(keys);
  for (let i = 0; i < 10; i++) {
    const seq = (65535 + i) & 0xffff;
    assert.deepEqual(okPacket(rx.unprotectRtp(tx.protectRtp(rtpPacket(seq)))), rtpPacket(seq), `seq ${seq}`);
  }
});

test('ROC: reordering across the wrap (1 before 65535, 0 last) still decrypts everything once', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const tx = new SrtpProtector(keys);
  const rx = new SrtpUnprotector(keys);
  const seqs = [65532, 65533, 65534, 65535, 0, 1, 2, 3];
  const prot = new Map(seqs.map((s) => [s, tx.protectRtp(rtpPacket(s))]));
  for (const s of [65532, 65533, 1, 65535, 2, 65534, 0, 3]) assert.deepEqual(okPacket(rx.unprotectRtp(prot.get(s) as Buffer)), rtpPacket(s), `seq ${s}`);
  for (const s of seqs) assert.equal(reason(rx.unprotectRtp(prot.get(s) as Buffer)), 'replay', `seq ${s} again`);
  // And the stream goes on under ROC 1.
  assert.deepEqual(okPacket(rx.unprotectRtp(tx.protectRtp(rtpPacket(4)))), rtpPacket(4));
});

test('ROC: a retransmitted old seq keeps its index (same bytes) and does not bump the ROC', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const tx = new SrtpProtector(keys);
  const rx = new SrtpUnprotector(keys);
  const first = tx.protectRtp(rtpPacket(65535));
  tx.protectRtp(rtpPacket(0));
  tx.protectRtp(rtpPacket(1));
  assert.deepEqual(tx.protectRtp(rtpPacket(65535)), first, 'retransmission under ROC 0 again');
  okPacket(rx.unprotectRtp(first));
  assert.deepEqual(okPacket(rx.unprotectRtp(tx.protectRtp(rtpPacket(2)))), rtpPacket(2), 'seq 2 under ROC 1');
});

test('ROC: a long stream with losses through two wraps (140000 packets, every 7th lost)', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_32');
  const tx = new SrtpProtector(keys);
  const rx = new SrtpUnprotector(keys);
  let accepted = 0;
  for (let i = 0; i < 140000; i++) {
    const prot = tx.protectRtp(rtpPacket((40000 + i) & 0xffff));
    if (i % 7 === 3) continue;
    const r = rx.unprotectRtp(prot);
    if (!r.ok) assert.fail(`packet ${i} (seq ${(40000 + i) & 0xffff}): ${r.reason}`);
    accepted++;
  }
  assert.equal(accepted, 120000);
});

test('a new SSRC (the peer restarted its stream) gets fresh replay state; the old SSRC keeps its own', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const rx = new SrtpUnprotector(keys);
  const a = new SrtpProtector(keys);
  const aPkts = Array.from({ length: 5 }, (_, i) => a.protectRtp(rtpPacket(30000 + i, 0xaaaa0001)));
  for (const p of aPkts) okPacket(rx.unprotectRtp(p));
  // The restarted stream numbers from a value that would be old (and at ROC 0) for the first SSRC.
  const b = new SrtpProtector(keys);
  for (let seq = 10; seq < 15; seq++) assert.deepEqual(okPacket(rx.unprotectRtp(b.protectRtp(rtpPacket(seq, 0xbbbb0002)))), rtpPacket(seq, 0xbbbb0002));
  for (const p of aPkts) assert.equal(reason(rx.unprotectRtp(p)), 'replay', 'replays of the old SSRC are still refused');
  okPacket(rx.unprotectRtp(a.protectRtp(rtpPacket(30005, 0xaaaa0001))));
  // RTCP from the restarted stream starts its SRTCP index at 0 again.
  okPacket(rx.unprotectRtcp(a.protectRtcp(rtcpPacket(0xaaaa0001))));
  okPacket(rx.unprotectRtcp(b.protectRtcp(rtcpPacket(0xbbbb0002))));
});

test('a protector that changes SSRC and comes back resumes that SSRC\'s ROC (no index reuse)', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const tx = new SrtpProtector(keys);
  const rx = new SrtpUnprotector(keys);
  for (const seq of [65534, 65535, 0]) okPacket(rx.unprotectRtp(tx.protectRtp(rtpPacket(seq, 1))));
  okPacket(rx.unprotectRtp(tx.protectRtp(rtpPacket(9, 2))));
  assert.deepEqual(okPacket(rx.unprotectRtp(tx.protectRtp(rtpPacket(1, 1)))), rtpPacket(1, 1), 'SSRC 1 continues at ROC 1');
});

test('truncated and garbage inputs of every length 0..40 give ok:false and never throw', () => {
  for (const suite of SUITES) {
    const keys = randomKeys(suite);
    const tx = new SrtpProtector(keys);
    const rx = new SrtpUnprotector(keys);
    const srtp = tx.protectRtp(rtpPacket(1, SSRC, Buffer.alloc(40, 1)));
    const srtcp = tx.protectRtcp(rtcpPacket());
    for (let len = 0; len <= 40; len++) {
      const inputs = [randomBytes(len), Buffer.alloc(len), Buffer.alloc(len, 0xff), srtp.subarray(0, len), srtcp.subarray(0, len)];
      const versioned = randomBytes(len);
      if (len > 0) versioned[0] = 0x80 | ((versioned[0] as number) & 0x3f);
      inputs.push(versioned);
      for (const input of inputs) {
        let r1: UnprotectResult | undefined;
        let r2: UnprotectResult | undefined;
        assert.doesNotThrow(() => {
          r1 = rx.unprotectRtp(input);
          r2 = rx.unprotectRtcp(input);
        });
        assert.equal(r1?.ok, false, `rtp len ${len}`);
        assert.equal(r2?.ok, false, `rtcp len ${len}`);
      }
    }
    const tooShort = rx.unprotectRtp(Buffer.alloc(12 + SRTP_SUITES[suite].rtpTagLength - 1, 0x80));
    assert.equal(reason(tooShort), 'short');
    assert.equal(reason(rx.unprotectRtcp(Buffer.alloc(21, 0x80))), 'short');
    // A header claiming 15 CSRCs or a huge extension in a short packet is no crash either.
    const csrc = Buffer.alloc(40);
    csrc[0] = 0x8f;
    assert.equal(reason(rx.unprotectRtp(csrc)), 'auth');
    const ext = Buffer.alloc(40);
    ext[0] = 0x90;
    ext.writeUInt16BE(0xffff, 14);
    assert.equal(reason(rx.unprotectRtp(ext)), 'auth');
    // Not even a Buffer.
    for (const junk of [undefined, null, 42, 'abc', {}]) {
      assert.equal(reason(rx.unprotectRtp(junk as unknown as Buffer)), 'malformed');
      assert.equal(reason(rx.unprotectRtcp(junk as unknown as Buffer)), 'malformed');
    }
    // The genuine packets still go through after all that.
    okPacket(rx.unprotectRtp(srtp));
    okPacket(rx.unprotectRtcp(srtcp));
  }
});

test('a wrong key fails authentication (RTP and RTCP), for a wrong master key and a wrong salt', () => {
  for (const suite of SUITES) {
    const keys = randomKeys(suite);
    const tx = new SrtpProtector(keys);
    const wrongKey = new SrtpUnprotector({ ...keys, masterKey: randomBytes(16) });
    const wrongSalt = new SrtpUnprotector({ ...keys, masterSalt: randomBytes(14) });
    const otherSuite = new SrtpUnprotector({ ...keys, suite: suite === 'AES_CM_128_HMAC_SHA1_80' ? 'AES_CM_128_HMAC_SHA1_32' : 'AES_CM_128_HMAC_SHA1_80' });
    const p = tx.protectRtp(rtpPacket(42));
    const r = tx.protectRtcp(rtcpPacket());
    assert.equal(reason(wrongKey.unprotectRtp(p)), 'auth');
    assert.equal(reason(wrongSalt.unprotectRtp(p)), 'auth');
    assert.equal(reason(otherSuite.unprotectRtp(p)), 'auth');
    assert.equal(reason(wrongKey.unprotectRtcp(r)), 'auth');
    assert.equal(reason(wrongSalt.unprotectRtcp(r)), 'auth');
  }
});

test('AES_CM_128_HMAC_SHA1_32: 4-byte tag on RTP, 10-byte tag on RTCP', () => {
  const tx = new SrtpProtector(randomKeys('AES_CM_128_HMAC_SHA1_32'));
  assert.equal(tx.protectRtp(rtpPacket(1)).length, 172 + 4);
  assert.equal(tx.protectRtcp(rtcpPacket()).length, 32 + 4 + 10);
  const tx80 = new SrtpProtector(randomKeys('AES_CM_128_HMAC_SHA1_80'));
  assert.equal(tx80.protectRtp(rtpPacket(1)).length, 172 + 10);
  assert.equal(tx80.protectRtcp(rtcpPacket()).length, 32 + 4 + 10);
});

test('SRTCP with E=0 (authenticated, not encrypted) is accepted and returned as sent', () => {
  // Built here from the derived SRTCP auth key and node's HMAC, independently of protectRtcp.
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const plain = rtcpPacket();
  const signed = Buffer.concat([plain, hex('00000005')]);
  const tag = createHmac('sha1', deriveSessionKeys(keys, 'rtcp').authKey).update(signed).digest().subarray(0, 10);
  const rx = new SrtpUnprotector(keys);
  assert.deepEqual(okPacket(rx.unprotectRtcp(Buffer.concat([signed, tag]))), plain);
  assert.equal(reason(rx.unprotectRtcp(Buffer.concat([signed, tag]))), 'replay');
});

test('protect throws RangeError only on packets our own code built wrong; an empty payload is fine', () => {
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const tx = new SrtpProtector(keys);
  assert.throws(() => tx.protectRtp(Buffer.alloc(11, 0x80)), RangeError);
  assert.throws(() => tx.protectRtp(Buffer.alloc(20, 0x40)), RangeError); // version 1
  const csrc = Buffer.alloc(20);
  csrc[0] = 0x85; // 5 CSRCs = a 32-byte header in 20 bytes
  assert.throws(() => tx.protectRtp(csrc), RangeError);
  assert.throws(() => tx.protectRtcp(Buffer.alloc(7, 0x80)), RangeError);
  // A header-only RTP packet: nothing to encrypt, still authenticated.
  const rx = new SrtpUnprotector(keys);
  const empty = rtpPacket(3, SSRC, Buffer.alloc(0));
  const prot = tx.protectRtp(empty);
  assert.equal(prot.length, 22);
  assert.deepEqual(okPacket(rx.unprotectRtp(prot)), empty);
});

test('a correctly authenticated packet with an impossible header is malformed (checked after the tag)', () => {
  // Tags computed here with node's HMAC and the derived keys, since protectRtp refuses such packets.
  const keys = randomKeys('AES_CM_128_HMAC_SHA1_80');
  const rtpAuth = deriveSessionKeys(keys, 'rtp').authKey;
  const sign = (body: Buffer): Buffer => Buffer.concat([body, createHmac('sha1', rtpAuth).update(body).update(Buffer.alloc(4)).digest().subarray(0, 10)]);
  const rx = new SrtpUnprotector(keys);
  const csrc = Buffer.alloc(30);
  csrc[0] = 0x8f; // 15 CSRCs: a 72-byte header in 30 bytes
  assert.equal(reason(rx.unprotectRtp(sign(csrc))), 'malformed');
  const ext = Buffer.alloc(30);
  ext[0] = 0x90;
  ext.writeUInt16BE(100, 14); // a 400-byte extension
  assert.equal(reason(rx.unprotectRtp(sign(ext))), 'malformed');
  const v1 = Buffer.alloc(30);
  v1[0] = 0x40;
  assert.equal(reason(rx.unprotectRtp(sign(v1))), 'malformed');
  // None of that moved the replay state: seq 0 of that SSRC is still fresh.
  const fine = Buffer.alloc(30);
  fine[0] = 0x80;
  assert.equal(okPacket(rx.unprotectRtp(sign(fine))).length, 30);
});
