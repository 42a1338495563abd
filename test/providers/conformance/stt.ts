import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProviderError } from '../../../src/providers/errors.js';
import type { SttEvent, SttProvider, SttStream } from '../../../src/providers/stt/types.js';
import { atRate, audibleBounds, concat, fliteSpeech, silence, toFrames } from './audio.js';

/**
 * The behaviour every recognizer must show, registered as node:test tests for one implementation:
 * call `sttConformance('pocketsphinx', () => new PocketsphinxStt(), { skip, unsupportedRate: 8000 })`.
 */
export interface SttConformanceOptions {
  /** Skip reason (engine or flite missing), or false. */
  skip?: string | false;
  /** Rate to test recognition at (default: the highest the provider declares). */
  sampleRate?: number;
  /** A rate the provider must refuse with 'unsupported_audio' (omit if it takes every rate). */
  unsupportedRate?: number;
  /** Guard against a hung engine: a test fails, rather than hangs, after this long (default 30 s). */
  hangGuardMs?: number;
}

const SENTENCE = 'please confirm my appointment on tuesday';
const KEY_WORDS = ['please', 'confirm', 'appointment', 'tuesday'];

export function keyWordsHeard(text: string): string[] {
  const words = new Set(text.toLowerCase().split(/[^a-z']+/));
  return KEY_WORDS.filter((w) => words.has(w));
}

/** All events up to and including `closed`; fails if `closed` does not come. */
export async function collectEvents(stream: SttStream, hangGuardMs: number): Promise<SttEvent[]> {
  const events: SttEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no 'closed' event within ${hangGuardMs} ms; got ${JSON.stringify(events)}`)), hangGuardMs);
  });
  const read = (async () => {
    for await (const ev of stream) events.push(ev);
    return events;
  })();
  try {
    return await Promise.race([read, guard]);
  } finally {
    clearTimeout(timer);
  }
}

function assertWellFormed(events: SttEvent[]): void {
  assert.equal(events.at(-1)?.type, 'closed', 'the last event is closed');
  assert.equal(events.filter((e) => e.type === 'closed').length, 1, 'closed exactly once');
  for (const e of events) assert.ok(['partial', 'final', 'error', 'closed'].includes(e.type), `unknown event ${JSON.stringify(e)}`);
}

export function sttConformance(name: string, factory: () => SttProvider, opts: SttConformanceOptions = {}): void {
  const skip = opts.skip ?? false;
  const guardMs = opts.hangGuardMs ?? 30_000;
  const provider = factory();
  const rate = opts.sampleRate ?? Math.max(...provider.capabilities.sampleRates);
  const speech = async () => atRate(await fliteSpeech(SENTENCE), rate);
  const pushAll = (s: SttStream, pcm: Int16Array) => {
    for (const f of toFrames(pcm, rate)) s.push(f);
  };

  test(`${name} STT: recognizes a spoken sentence, with times inside the audio`, { skip }, async () => {
    const clip = await speech();
    const lead = 600;
    const audio = concat(silence(lead, rate), clip, silence(1500, rate));
    const s = provider.start({ sampleRate: rate, language: 'en-US' });
    pushAll(s, audio);
    s.end();
    const events = await collectEvents(s, guardMs);
    assertWellFormed(events);
    assert.deepEqual(events.filter((e) => e.type === 'error'), []);
    const finals = events.filter((e) => e.type === 'final');
    assert.ok(finals.length >= 1, 'at least one final');
    const text = finals.map((f) => f.text).join(' ');
    assert.ok(keyWordsHeard(text).length >= 3, `heard "${text}"`);
    const truth = audibleBounds(clip, rate);
    const first = finals[0];
    const last = finals[finals.length - 1];
    assert.ok(first && last);
    assert.ok(Math.abs(first.startMs - (lead + truth.onsetMs)) <= 400, `startMs ${first.startMs} vs onset ${lead + truth.onsetMs}`);
    assert.ok(last.endMs > first.startMs && last.endMs <= (audio.length * 1000) / rate, `endMs ${last.endMs}`);
    assert.ok(Math.abs(last.endMs - (lead + truth.endMs)) <= 600, `endMs ${last.endMs} vs end of speech ${lead + truth.endMs}`);
    for (const f of finals) if (f.confidence !== undefined) assert.ok(f.confidence >= 0 && f.confidence <= 1);
  });

  test(`${name} STT: end() settles speech still in progress into a final`, { skip }, async () => {
    // No trailing silence: the engine cannot have decided the utterance is over, so a final here
    // exists only because end() made the provider settle what it had heard.
    const s = provider.start({ sampleRate: rate });
    pushAll(s, concat(silence(300, rate), await speech()));
    s.end();
    const events = await collectEvents(s, guardMs);
    assertWellFormed(events);
    const text = events.flatMap((e) => (e.type === 'final' ? [e.text] : [])).join(' ');
    assert.ok(keyWordsHeard(text).length >= 2, `heard "${text}"`);
    assert.deepEqual(events.filter((e) => e.type === 'error'), []);
  });

  test(`${name} STT: silence alone yields no final`, { skip }, async () => {
    const s = provider.start({ sampleRate: rate });
    pushAll(s, silence(2000, rate));
    s.end();
    const events = await collectEvents(s, guardMs);
    assertWellFormed(events);
    assert.deepEqual(events.filter((e) => e.type !== 'closed'), []);
  });

  test(`${name} STT: abort stops recognition and closes without an error`, { skip }, async () => {
    const ac = new AbortController();
    const s = provider.start({ sampleRate: rate, signal: ac.signal });
    const clip = await speech();
    pushAll(s, clip.subarray(0, Math.floor(clip.length / 2)));
    ac.abort();
    s.push(new Int16Array(rate / 50)); // frames still in flight after a hang-up are ignored
    s.end();
    const events = await collectEvents(s, guardMs);
    assertWellFormed(events);
    // Half a sentence with no trailing silence and no end() before the abort: nothing was due.
    assert.deepEqual(events.map((e) => e.type), ['closed']);
  });

  test(`${name} STT: a signal aborted before start closes at once`, { skip }, async () => {
    const s = provider.start({ sampleRate: rate, signal: AbortSignal.abort() });
    s.push(new Int16Array(rate / 50));
    assert.deepEqual(await collectEvents(s, guardMs), [{ type: 'closed' }]);
  });

  const bad = opts.unsupportedRate;
  if (bad !== undefined) {
    test(`${name} STT: ${bad} Hz is refused at start with unsupported_audio`, () => {
      assert.ok(!provider.capabilities.sampleRates.includes(bad));
      assert.throws(() => provider.start({ sampleRate: bad }), (err: unknown) => {
        assert.ok(err instanceof ProviderError, String(err));
        assert.equal(err.code, 'unsupported_audio');
        assert.equal(err.retryable, false);
        assert.match(err.message, new RegExp(`${bad}|${bad / 1000} kHz`));
        return true;
      });
    });
  }
}
