import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProviderError } from '../../../src/providers/errors.js';
import type { TtsProvider } from '../../../src/providers/tts/types.js';

/**
 * The behaviour every TTS must show, registered as node:test tests for one implementation:
 * call `ttsConformance('flite', () => new FliteTts(), { skip, missing: () => new FliteTts({ binary: '/nope' }) })`.
 */
export interface TtsConformanceOptions {
  /** Skip reason (the engine is not installed), or false. */
  skip?: string | false;
  /** The same provider pointed at an engine that does not exist (checks the error it gives). */
  missing?: () => TtsProvider;
  /** A voice name the engine does not have. */
  unknownVoice?: string;
}

const SENTENCE = 'Hello, this is Outcall calling to confirm your appointment on Tuesday.';
const TWO = 'Hello, this is Outcall calling about your appointment. It is on Tuesday at three in the afternoon, with Doctor Lee.';

export async function collect(it: AsyncIterable<Int16Array>): Promise<{ samples: Int16Array; chunks: number }> {
  const parts: Int16Array[] = [];
  for await (const c of it) parts.push(c);
  const samples = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    samples.set(p, off);
    off += p.length;
  }
  return { samples, chunks: parts.length };
}

const rms = (s: Int16Array) => Math.sqrt(s.reduce((a, v) => a + v * v, 0) / Math.max(1, s.length));

export function ttsConformance(name: string, factory: () => TtsProvider, opts: TtsConformanceOptions = {}): void {
  const skip = opts.skip ?? false;
  const tts = factory();

  test(`${name} TTS: a sentence is real speech at 8 and 16 kHz, the same length at both`, { skip }, async () => {
    const narrow = await collect(tts.synthesize({ text: SENTENCE, sampleRate: 8000 }));
    const wide = await collect(tts.synthesize({ text: SENTENCE, sampleRate: 16000 }));
    const seconds = narrow.samples.length / 8000;
    assert.ok(seconds > 2 && seconds < 10, `about a sentence of speech, got ${seconds} s`);
    assert.ok(rms(narrow.samples) > 500, `not silence: rms ${rms(narrow.samples)}`);
    assert.ok(rms(wide.samples) > 500, `not silence: rms ${rms(wide.samples)}`);
    const ratio = wide.samples.length / narrow.samples.length;
    assert.ok(ratio > 1.95 && ratio < 2.05, `16 kHz has twice the samples of 8 kHz, got ${ratio}`);
  });

  test(`${name} TTS: 48 kHz (an Opus leg) is produced by resampling`, { skip }, async () => {
    const a = await collect(tts.synthesize({ text: 'One two three.', sampleRate: 16000 }));
    const b = await collect(tts.synthesize({ text: 'One two three.', sampleRate: 48000 }));
    const ratio = b.samples.length / a.samples.length;
    assert.ok(ratio > 2.9 && ratio < 3.1, `48 kHz has three times the samples of 16 kHz, got ${ratio}`);
  });

  if (tts.capabilities.streaming) {
    test(`${name} TTS: a streaming engine gives the first audio before the whole reply is done`, { skip }, async () => {
      const { chunks, samples } = await collect(tts.synthesize({ text: TWO, sampleRate: 16000 }));
      assert.ok(chunks >= 2, `audio in ${chunks} chunk(s)`);
      assert.ok(samples.length / 16000 > 4, 'both sentences spoken');
    });
  }

  test(`${name} TTS: aborting stops the stream early; an aborted request yields nothing`, { skip }, async () => {
    const ac = new AbortController();
    let got = 0;
    const long = `${SENTENCE} `.repeat(12);
    for await (const c of tts.synthesize({ text: long, sampleRate: 8000, signal: ac.signal })) {
      got += c.length;
      ac.abort();
    }
    assert.ok(got > 0 && got < 8000 * 30, `stopped early after ${got / 8000} s of audio`);
    const dead = new AbortController();
    dead.abort();
    assert.equal((await collect(tts.synthesize({ text: SENTENCE, sampleRate: 8000, signal: dead.signal }))).samples.length, 0);
  });

  if (opts.unknownVoice !== undefined) {
    const voice = opts.unknownVoice;
    test(`${name} TTS: an unknown voice is a typed error, not silence`, { skip }, async () => {
      await assert.rejects(collect(tts.synthesize({ text: SENTENCE, sampleRate: 8000, voice })), (err: unknown) => {
        assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
        assert.equal(err.retryable, false);
        return true;
      });
    });
  }

  const missing = opts.missing;
  if (missing) {
    test(`${name} TTS: a missing engine is provider_unavailable, not retryable`, async () => {
      await assert.rejects(collect(missing().synthesize({ text: 'hi', sampleRate: 8000 })), (err: unknown) => {
        assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
        assert.equal(err.code, 'provider_unavailable');
        assert.equal(err.retryable, false);
        return true;
      });
    });
  }
}
