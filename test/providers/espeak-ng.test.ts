import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ttsConformance } from './conformance/tts.js';
import { EspeakNgTts } from '../../src/providers/tts/espeak-ng.js';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';
import { skipReason } from '../helpers/require-tool.js';

const skip = skipReason('espeak-ng');

ttsConformance('espeak-ng', () => new EspeakNgTts(), { skip, missing: () => new EspeakNgTts({ binary: '/nonexistent/espeak-ng' }), unknownVoice: 'nosuch' });

test('the WAV stream parser handles headers split across chunks and odd byte boundaries', () => {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(0xffffffff, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(22050, 24);
  header.writeUInt32LE(44100, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(0xffffffff, 40);
  const pcm = Buffer.alloc(10);
  [1, -2, 300, -32768, 32767].forEach((v, i) => pcm.writeInt16LE(v, i * 2));
  const all = Buffer.concat([header, pcm]);
  const p = new WavStreamParser();
  const out: number[] = [];
  for (const cut of [[0, 7], [7, 40], [40, 45], [45, 48], [48, 54]]) out.push(...p.push(all.subarray(cut[0], cut[1])));
  assert.deepEqual(out, [1, -2, 300, -32768, 32767]);
  assert.equal(p.format?.sampleRate, 22050);
  assert.throws(() => new WavStreamParser().push(Buffer.from('not a wav file at all')), /not a WAV/);
});
