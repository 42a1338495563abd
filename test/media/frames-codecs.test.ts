import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameChunker, samplesPerFrame, silenceFrame } from '../../src/media/frames.js';
import { findCodecByRtpmap, getCodec, listCodecs, staticCodecForPayloadType } from '../../src/media/codecs.js';

test('20 ms frames are 160 samples at 8 kHz and 320 at 16 kHz', () => {
  assert.equal(samplesPerFrame(8000), 160);
  assert.equal(samplesPerFrame(16000), 320);
  assert.equal(samplesPerFrame(48000), 960);
  assert.equal(silenceFrame(16000).length, 320);
});

test('FrameChunker reassembles arbitrary chunks into whole frames, order preserved', () => {
  const c = new FrameChunker(160);
  const src = new Int16Array(1000).map((_, i) => i);
  const frames = [...c.push(src.subarray(0, 7)), ...c.push(src.subarray(7, 500)), ...c.push(src.subarray(500))];
  assert.equal(frames.length, 6);
  assert.equal(c.buffered, 40);
  frames.forEach((f, k) => assert.equal(f[0], k * 160));
  const tail = c.flush();
  assert.ok(tail);
  assert.equal(tail[0], 960);
  assert.equal(tail[39], 999);
  assert.equal(tail[40], 0, 'padded with silence');
  assert.equal(c.flush(), undefined);
});

test('codec registry: static PTs per RFC 3551, frame sizes, round trip', () => {
  const pcmu = getCodec('PCMU');
  const pcma = getCodec('PCMA');
  const l16 = getCodec('L16');
  assert.ok(pcmu && pcma && l16);
  assert.equal(pcmu.payloadType, 0);
  assert.equal(pcma.payloadType, 8);
  assert.ok(l16.dynamic && l16.payloadType >= 96 && l16.payloadType <= 127);
  assert.equal(l16.sampleRate, 16000);
  const g722 = getCodec('G722');
  assert.ok(g722);
  assert.equal(g722.payloadType, 9);
  assert.equal(g722.clockRate, 8000, 'RFC 3551 §4.5.2: RTP clock 8000 ...');
  assert.equal(g722.sampleRate, 16000, '... for 16 kHz audio');
  assert.equal(g722.encodedSize(320), 160);
  for (const c of listCodecs().filter((x) => !x.stateful)) {
    const frame = new Int16Array(samplesPerFrame(c.sampleRate)).map((_, i) => Math.round(8000 * Math.sin(i / 5)));
    const enc = c.encode(frame);
    assert.equal(enc.length, c.bytesPerFrame, c.name);
    const into = new Uint8Array(c.encodedSize(frame.length) + 12).fill(0xaa);
    assert.equal(c.encodeInto(frame, into.subarray(12)), enc.length, `${c.name} encodeInto size`);
    assert.deepEqual(into.subarray(12), enc, `${c.name} encodeInto = encode`);
    assert.ok(into.subarray(0, 12).every((b) => b === 0xaa), 'bytes before the target untouched');
    const dec = c.decode(enc);
    assert.equal(dec.length, frame.length);
    for (let i = 0; i < frame.length; i++) assert.ok(Math.abs((dec[i] as number) - (frame[i] as number)) < 600, c.name);
  }
  assert.equal(findCodecByRtpmap('pcmu', 8000), pcmu);
  assert.equal(findCodecByRtpmap('L16', 16000), l16);
  assert.equal(findCodecByRtpmap('L16', 44100), undefined);
  assert.equal(staticCodecForPayloadType(8), pcma);
  assert.equal(staticCodecForPayloadType(96), undefined);
});
