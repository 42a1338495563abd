import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { G722Decoder, G722Encoder } from '../../src/media/g722.js';
import { getCodec } from '../../src/media/codecs.js';

const SCRIPT = fileURLToPath(new URL('./g722_spandsp.py', import.meta.url));

/** Runs spandsp's G.722 through python3 ctypes; undefined (skip) when unavailable outside CI. */
function spandsp(mode: 'encode' | 'decode', input: Uint8Array): Buffer | undefined {
  const r = spawnSync('python3', [SCRIPT, mode], { input, maxBuffer: 64 << 20 });
  if (r.error || r.status === 3) {
    if (process.env.CI === 'true') throw new Error('python3 + libspandsp (apt-get install libspandsp2) required in CI');
    return undefined;
  }
  if (r.status !== 0) throw new Error(`spandsp helper failed: ${r.stderr.toString()}`);
  return r.stdout;
}

function testSignal(n: number): Int16Array {
  // speech-like mix: low and high tones, noise, a loud full-scale burst (exercises saturation paths)
  let seed = 99;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
  const x = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let v = 7000 * Math.sin(i * 0.07) + 5000 * Math.sin(i * 1.9) + 4000 * rnd();
    if (i > n / 2 && i < (n * 3) / 4) v = 40000 * Math.sin(i * 0.31);
    x[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return x;
}

test('G.722 encoder is bit-exact with spandsp (2 s of mixed signal, streamed in 20 ms frames)', (t) => {
  const pcm = testSignal(32000);
  const ref = spandsp('encode', new Uint8Array(pcm.buffer));
  if (!ref) return t.skip('python3 or libspandsp not available');
  const enc = new G722Encoder();
  const parts: number[] = [];
  for (let k = 0; k < pcm.length; k += 320) parts.push(...enc.encode(pcm.subarray(k, k + 320)));
  assert.equal(parts.length, ref.length);
  const i = parts.findIndex((b, k) => b !== ref[k]);
  assert.equal(i, -1, `first differing octet ${i}`);
});

test('G.722 decoder is bit-exact with spandsp', (t) => {
  const pcm = testSignal(32000);
  const octets = new G722Encoder().encode(pcm);
  const ref = spandsp('decode', octets);
  if (!ref) return t.skip('python3 or libspandsp not available');
  const refPcm = new Int16Array(ref.buffer.slice(ref.byteOffset, ref.byteOffset + ref.length));
  const dec = new G722Decoder();
  const out: number[] = [];
  for (let k = 0; k < octets.length; k += 160) out.push(...dec.decode(octets.subarray(k, k + 160)));
  assert.equal(out.length, refPcm.length);
  // spandsp 0.0.6 (Debian) casts the QMF output to int16 without saturating, so where the true
  // output exceeds full scale it wraps around; we saturate (G.722's limiter). Those samples are the
  // only allowed difference, and must be genuine wraps: ours at full scale, theirs of opposite sign.
  let saturated = 0;
  for (let k = 0; k < out.length; k++) {
    const mine = out[k] as number;
    const theirs = refPcm[k] as number;
    if (mine === theirs) continue;
    const wrap = (mine === 32767 && theirs < 0) || (mine === -32768 && theirs > 0);
    assert.ok(wrap, `sample ${k}: ours ${mine}, spandsp ${theirs}`);
    saturated++;
  }
  assert.ok(saturated < out.length / 50, `only the overloaded burst differs (${saturated} samples)`);
  // and on a signal that never overloads, every sample matches
  const quiet = testSignal(16000).map((v) => v >> 2);
  const qOctets = new G722Encoder().encode(quiet);
  const qRef = spandsp('decode', qOctets);
  assert.ok(qRef);
  const qRefPcm = new Int16Array(qRef.buffer.slice(qRef.byteOffset, qRef.byteOffset + qRef.length));
  const qMine = new G722Decoder().decode(qOctets);
  const i = qMine.findIndex((v, k) => v !== qRefPcm[k]);
  assert.equal(i, -1, `first differing sample ${i}`);
});

test('G.722 round trip keeps wideband content: a 6 kHz tone survives (impossible at 8 kHz)', () => {
  const n = 16000;
  const tone = Int16Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 6000 * i) / 16000)));
  const back = new G722Decoder().decode(new G722Encoder().encode(tone));
  // measure 6 kHz amplitude after the codec settles (skip 0.1 s)
  let re = 0;
  let im = 0;
  for (let i = 1600; i < n; i++) {
    re += (back[i] as number) * Math.cos((2 * Math.PI * 6000 * i) / 16000);
    im += (back[i] as number) * Math.sin((2 * Math.PI * 6000 * i) / 16000);
  }
  const amp = (2 * Math.hypot(re, im)) / (n - 1600);
  assert.ok(amp > 5000 && amp < 10000, `6 kHz amplitude after G.722: ${amp.toFixed(0)}`);
});

test('codec registry G722: stream encoders keep state across frames; one-shot encode starts fresh', () => {
  const c = getCodec('G722');
  assert.ok(c && c.stateful);
  const pcm = testSignal(640);
  const e = c.createEncoder();
  const a = e.encode(pcm.subarray(0, 320));
  const b = e.encode(pcm.subarray(320));
  const whole = c.encode(pcm);
  assert.deepEqual([...a, ...b], [...whole], 'two streamed frames = one buffer');
  const fresh = c.encode(pcm.subarray(320));
  assert.notDeepEqual([...fresh], [...b], 'state matters: a fresh encoder differs on the second frame');
  const out = new Uint8Array(172);
  assert.equal(c.createEncoder().encodeInto(pcm.subarray(0, 320), out.subarray(12)), 160);
});
