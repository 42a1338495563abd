import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw, MULAW_SILENCE, ALAW_SILENCE } from '../../src/media/g711.js';
import { sox, soxAvailable } from './sox-helper.js';

const RAW16 = ['-t', 'raw', '-r', '8000', '-e', 'signed', '-b', '16', '-c', '1', '-L'];
const every16 = new Int16Array(65536).map((_, i) => i - 32768);
const every8 = new Uint8Array(256).map((_, i) => i);

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

for (const [law, enc, dec] of [
  ['u-law', encodeMuLaw, decodeMuLaw],
  ['a-law', encodeALaw, decodeALaw],
] as const) {
  test(`${law}: encoding all 65536 sample values is bit-exact with sox`, (t) => {
    const s = soxAvailable();
    if (!s.ok) return t.skip(s.reason);
    const input = new Uint8Array(every16.buffer); // little-endian host (x86/arm)
    const ref = sox(input, RAW16, ['-t', 'raw', '-e', law, '-b', '8']);
    const mine = enc(every16);
    const i = firstDiff(ref, mine);
    assert.equal(i, -1, `sample ${i - 32768}: sox ${ref[i]} vs ours ${mine[i]}`);
  });

  test(`${law}: decoding all 256 code words is bit-exact with sox`, (t) => {
    const s = soxAvailable();
    if (!s.ok) return t.skip(s.reason);
    const ref = sox(every8, ['-t', 'raw', '-r', '8000', '-e', law, '-b', '8', '-c', '1'], ['-t', 'raw', '-e', 'signed', '-b', '16', '-L']);
    const refPcm = new Int16Array(ref.buffer.slice(ref.byteOffset, ref.byteOffset + ref.length));
    assert.equal(firstDiff(refPcm, dec(every8)), -1);
  });

  test(`${law}: decode(encode(x)) stays within the segment's quantisation step`, () => {
    const back = dec(enc(every16));
    for (let i = 0; i < every16.length; i++) {
      const x = every16[i] as number;
      const err = Math.abs((back[i] as number) - x);
      // step doubles per segment: worst case ~ |x|/16 + small absolute floor, plus clipping near full scale
      assert.ok(err <= Math.abs(x) / 16 + 16 || Math.abs(x) > 32000, `x=${x} back=${back[i]}`);
    }
  });

  test(`${law}: encoding is monotonic and writes into a caller buffer`, () => {
    const out = new Uint8Array(every16.length);
    const r = enc(every16, out);
    assert.equal(r, out);
    const lin = dec(r);
    for (let i = 1; i < lin.length; i++) assert.ok((lin[i] as number) >= (lin[i - 1] as number), `not monotonic at ${i}`);
  });
}

test('silence code words decode to (near) zero', () => {
  assert.equal(MULAW_SILENCE, 0xff);
  assert.equal(ALAW_SILENCE, 0xd5);
  assert.equal(decodeMuLaw(new Uint8Array([MULAW_SILENCE]))[0], 0);
  assert.equal(Math.abs(decodeALaw(new Uint8Array([ALAW_SILENCE]))[0] as number), 8);
});
