import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeL16, encodeL16 } from '../../src/media/l16.js';
import { sox, soxAvailable } from './sox-helper.js';

test('L16 is big-endian (RFC 3551 §4.5.11)', () => {
  const bytes = encodeL16(new Int16Array([0x0102, -2, 32767, -32768]));
  assert.deepEqual([...bytes], [0x01, 0x02, 0xff, 0xfe, 0x7f, 0xff, 0x80, 0x00]);
  assert.deepEqual([...decodeL16(bytes)], [0x0102, -2, 32767, -32768]);
});

test('L16 round-trips any frame and ignores an odd trailing byte', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 400 }), (xs) => {
      const pcm = Int16Array.from(xs);
      assert.deepEqual(decodeL16(encodeL16(pcm)), pcm);
      const odd = new Uint8Array([...encodeL16(pcm), 0x7f]);
      assert.deepEqual(decodeL16(odd), pcm);
    }),
  );
});

test('L16 matches sox big-endian signed 16-bit', (t) => {
  const s = soxAvailable();
  if (!s.ok) return t.skip(s.reason);
  const pcm = new Int16Array(65536).map((_, i) => i - 32768);
  const ref = sox(new Uint8Array(pcm.buffer), ['-t', 'raw', '-r', '16000', '-e', 'signed', '-b', '16', '-c', '1', '-L'], ['-t', 'raw', '-e', 'signed', '-b', '16', '-B']);
  assert.ok(Buffer.from(encodeL16(pcm)).equals(ref));
});
