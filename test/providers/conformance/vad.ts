import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProviderError } from '../../../src/providers/errors.js';
import type { VadEvent, VadOptions, VadProvider } from '../../../src/providers/vad/types.js';
import { atRate, audibleBounds, concat, fliteSpeech, mix, silence, toFrames, whiteNoise } from './audio.js';

/**
 * The behaviour every VAD must show, registered as node:test tests for one implementation:
 * call `vadConformance('silero', () => new SileroVad(), { skip })` from a test file.
 */
export interface VadConformanceOptions {
  /** Skip reason (e.g. flite missing), or false. */
  skip?: string | false;
  /** Level of the white noise the VAD must not take for speech (default -40 dBFS). */
  noiseDbfs?: number;
  /** How far the reported onset may be from where the audio gets audible (default 100 ms). */
  onsetToleranceMs?: number;
}

const SENTENCE = 'please confirm my appointment on tuesday';
const SEGMENT: Omit<VadOptions, 'sampleRate'> = { minSpeechMs: 200, minSilenceMs: 400 };

export async function runVad(provider: VadProvider, rate: number, pcm: Int16Array): Promise<{ events: VadEvent[]; probs: number[]; speaking: boolean[] }> {
  const vad = await provider.create({ sampleRate: rate, ...SEGMENT });
  const events: VadEvent[] = [];
  const probs: number[] = [];
  const speaking: boolean[] = [];
  for (const f of toFrames(pcm, rate)) {
    const r = await vad.push(f);
    events.push(...r.events);
    probs.push(r.probability);
    speaking.push(r.speaking);
  }
  events.push(...(await vad.end()));
  return { events, probs, speaking };
}

export function vadConformance(name: string, factory: () => VadProvider, opts: VadConformanceOptions = {}): void {
  const skip = opts.skip ?? false;
  const noiseDb = opts.noiseDbfs ?? -40;
  const tolerance = opts.onsetToleranceMs ?? 100;
  const provider = factory();

  for (const rate of provider.capabilities.sampleRates) {
    test(`${name} VAD @${rate} Hz: silence gives no speech and low probabilities`, async () => {
      const { events, probs } = await runVad(provider, rate, silence(3000, rate));
      assert.deepEqual(events, []);
      assert.equal(probs.length, 150, 'one result per 20 ms frame');
      assert.ok(probs.every((p) => p >= 0 && p < 0.5), `max probability ${Math.max(...probs)}`);
    });

    test(`${name} VAD @${rate} Hz: one utterance in silence gives one start near the onset and one end after it`, { skip }, async () => {
      const speech = atRate(await fliteSpeech(SENTENCE), rate);
      const lead = 1000;
      const truth = audibleBounds(speech, rate);
      const onset = lead + truth.onsetMs;
      const spoken = lead + truth.endMs;
      const { events, probs, speaking } = await runVad(provider, rate, concat(silence(lead, rate), speech, silence(1500, rate)));
      assert.equal(events.length, 2, `events: ${JSON.stringify(events)}`);
      const [start, end] = events;
      assert.ok(start?.type === 'speech_start' && end?.type === 'speech_end', JSON.stringify(events));
      assert.ok(Math.abs(start.atMs - onset) <= tolerance, `onset reported at ${start.atMs} ms, audible from ${onset} ms`);
      // The end may trail the last audible sound by the model's hangover, but not by the whole tail.
      assert.ok(end.atMs >= spoken - 300 && end.atMs <= spoken + 500, `end reported at ${end.atMs} ms, audible until ${spoken} ms`);
      assert.equal(end.durationMs, end.atMs - start.atMs);
      assert.ok(Math.max(...probs) > 0.5, 'speech frames are probable speech');
      assert.equal(speaking[Math.floor((onset + spoken) / 2 / 20)], true, 'speaking mid-utterance');
      assert.equal(speaking[speaking.length - 1], false, 'not speaking in the trailing silence');
    });

    test(`${name} VAD @${rate} Hz: steady white noise at ${noiseDb} dBFS is not speech`, async () => {
      const { events } = await runVad(provider, rate, whiteNoise(4000, rate, noiseDb, 7));
      assert.deepEqual(events, []);
    });

    test(`${name} VAD @${rate} Hz: speech over a noise bed is still found once`, { skip }, async () => {
      const speech = atRate(await fliteSpeech(SENTENCE), rate);
      const clean = concat(silence(1500, rate), speech, silence(1500, rate));
      const { events } = await runVad(provider, rate, mix(clean, whiteNoise(clean.length * (1000 / rate), rate, noiseDb - 5, 11)));
      assert.deepEqual(events.map((e) => e.type), ['speech_start', 'speech_end']);
      const onset = 1500 + audibleBounds(speech, rate).onsetMs;
      assert.ok(Math.abs((events[0]?.atMs ?? -1e9) - onset) <= 2 * tolerance, `onset ${events[0]?.atMs} vs ${onset}`);
    });

    test(`${name} VAD @${rate} Hz: a frame that is not 20 ms is refused`, async () => {
      const vad = await provider.create({ sampleRate: rate });
      await assert.rejects(async () => vad.push(new Int16Array(rate / 100)), isCode('unsupported_audio'));
    });
  }

  test(`${name} VAD: an undeclared sample rate is refused with unsupported_audio`, async () => {
    const rate = 44100;
    assert.ok(!provider.capabilities.sampleRates.includes(rate));
    await assert.rejects(provider.create({ sampleRate: rate }), (err: unknown) => {
      isCode('unsupported_audio')(err);
      assert.match((err as Error).message, /44100/);
      return true;
    });
  });

  test(`${name} VAD: each stream has its own state`, { skip }, async () => {
    // Interleaving a speech stream with a silence stream must not leak speech into the other one.
    const rate = provider.capabilities.sampleRates[provider.capabilities.sampleRates.length - 1] ?? 16000;
    const speech = toFrames(concat(silence(500, rate), atRate(await fliteSpeech(SENTENCE), rate), silence(800, rate)), rate);
    const a = await provider.create({ sampleRate: rate, ...SEGMENT });
    const b = await provider.create({ sampleRate: rate, ...SEGMENT });
    const quiet = new Int16Array(rate / 50);
    const ea: VadEvent[] = [];
    const eb: VadEvent[] = [];
    for (const f of speech) {
      const [ra, rb] = await Promise.all([a.push(f), b.push(quiet)]);
      ea.push(...ra.events);
      eb.push(...rb.events);
    }
    assert.deepEqual(ea.map((e) => e.type), ['speech_start', 'speech_end']);
    assert.deepEqual(eb, []);
  });
}

function isCode(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.retryable, false);
    return true;
  };
}
