import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { collect, ttsConformance } from './conformance/tts.js';
import { ProviderError } from '../../src/providers/errors.js';
import { FliteTts, sentences } from '../../src/providers/tts/flite.js';
import { skipReason } from '../helpers/require-tool.js';

const skip = skipReason('flite');

ttsConformance('flite', () => new FliteTts(), {
  skip,
  missing: () => new FliteTts({ binary: '/nonexistent/flite' }),
  unknownVoice: 'nosuch',
});

const leftovers = async () => (await readdir(tmpdir())).filter((f) => f.startsWith(`outcall-flite-${process.pid}-`));

test('flite: every built-in voice speaks, kal (8 kHz native) and slt (16 kHz) alike, at the leg rate', { skip }, async () => {
  for (const voice of ['kal', 'slt', 'rms', 'awb']) {
    const { samples } = await collect(new FliteTts().synthesize({ text: 'Good morning.', sampleRate: 16000, voice }));
    const seconds = samples.length / 16000;
    assert.ok(seconds > 0.4 && seconds < 3, `${voice}: ${seconds} s`);
  }
  // The agent's default voice comes from the constructor when the request names none.
  const kal = await collect(new FliteTts({ defaultVoice: 'kal' }).synthesize({ text: 'Good morning.', sampleRate: 8000 }));
  const kalExplicit = await collect(new FliteTts().synthesize({ text: 'Good morning.', sampleRate: 8000, voice: 'kal' }));
  assert.deepEqual(kal.samples, kalExplicit.samples);
  assert.deepEqual(await leftovers(), [], 'temporary waves are removed');
});

test('flite: an abort kills the engine and leaves no temporary file behind', { skip }, async () => {
  const ac = new AbortController();
  const it = new FliteTts().synthesize({ text: 'This sentence is long enough to keep flite busy for a little while, or so we hope.', sampleRate: 8000, signal: ac.signal });
  const pending = collect(it);
  setTimeout(() => ac.abort(), 5);
  const { samples } = await pending;
  assert.equal(samples.length, 0, 'aborted during the first sentence: no audio');
  assert.deepEqual(await leftovers(), []);
});

test('flite: an unknown voice is refused before starting the engine, naming the voices', async () => {
  await assert.rejects(collect(new FliteTts().synthesize({ text: 'hi', sampleRate: 8000, voice: 'en-us' })), (err: unknown) => {
    assert.ok(err instanceof ProviderError);
    assert.equal(err.code, 'provider_bad_request');
    assert.match(err.message, /"en-us".*slt/);
    return true;
  });
  assert.equal(FliteTts.knowsVoice('/usr/share/voices/x.flitevox'), true);
  assert.equal(FliteTts.knowsVoice('../x.flitevox'), false);
});

test('flite: text is split into sentences so the first one plays while the next is made', () => {
  assert.deepEqual(sentences('Hello there. How are you?  Fine!'), ['Hello there.', 'How are you?', 'Fine!']);
  assert.deepEqual(sentences('no end mark'), ['no end mark']);
  assert.deepEqual(sentences('  '), []);
  assert.deepEqual(sentences('It costs 3.5 dollars.'), ['It costs 3.5 dollars.']);
});
