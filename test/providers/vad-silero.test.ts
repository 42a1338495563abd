import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fliteSpeech, silence, toFrames } from './conformance/audio.js';
import { vadConformance } from './conformance/vad.js';
import { ProviderError } from '../../src/providers/errors.js';
import { SileroVad, SileroVadStream } from '../../src/providers/vad/silero.js';
import { skipReason } from '../helpers/require-tool.js';

const skip = skipReason('flite');
vadConformance('silero', () => new SileroVad(), { skip });

test('20 ms frames are re-chunked into exact model windows (512 @16 kHz, 256 @8 kHz)', async () => {
  for (const [rate, window] of [[16000, 512], [8000, 256]] as const) {
    const vad = await new SileroVad().create({ sampleRate: rate });
    assert.ok(vad instanceof SileroVadStream);
    const frames = 37;
    for (let i = 0; i < frames; i++) await vad.push(new Int16Array(rate / 50));
    assert.equal(vad.windows, Math.floor((frames * rate) / 50 / window));
  }
});

test('a model file that cannot be loaded is provider_unavailable', async () => {
  await assert.rejects(new SileroVad({ modelPath: '/nonexistent/silero.onnx' }).create({ sampleRate: 16000 }), (e: unknown) => {
    assert.ok(e instanceof ProviderError);
    assert.equal(e.code, 'provider_unavailable');
    return true;
  });
});

test('the recurrent state is carried: the same window scores differently after speech than after silence', { skip }, async () => {
  const speech = await fliteSpeech('please confirm my appointment on tuesday');
  const probe = toFrames(speech.subarray(16000, 16000 + 320 * 8), 16000);
  const afterSilence = await new SileroVad().create({ sampleRate: 16000 });
  const afterSpeech = await new SileroVad().create({ sampleRate: 16000 });
  for (const f of toFrames(silence(1000, 16000), 16000)) await afterSilence.push(f);
  for (const f of toFrames(speech.subarray(0, 16000), 16000)) await afterSpeech.push(f);
  let a = 0;
  let b = 0;
  for (const f of probe) {
    a = (await afterSilence.push(f)).probability;
    b = (await afterSpeech.push(f)).probability;
  }
  // With state reset per window the history could not matter and both would be identical.
  assert.notEqual(a, b);
});
