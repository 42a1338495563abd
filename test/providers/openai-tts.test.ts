import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { collect, ttsConformance } from './conformance/tts.js';
import { ProviderError } from '../../src/providers/errors.js';
import { ProviderRateLimitedError } from '../../src/providers/llm/http-errors.js';
import type { ProviderOptionValue, ResolvedProviderSettings } from '../../src/providers/settings.js';
import { checkOpenAiTtsSettings, createOpenAiTts } from '../../src/providers/tts/openai.js';
import { OpenAiTtsServer } from '../helpers/openai-tts-server.js';
import { skipReason } from '../helpers/require-tool.js';
import { rejectsWith, sharedCloudTtsTests, rms } from '../helpers/tts-assert.js';
import { speech } from '../helpers/tts-speech.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'sk-test-0123456789abcdefSECRET';
const skip = skipReason('espeak-ng');
const server = await OpenAiTtsServer.start(KEY);
after(() => server.close());

const settings = (extra: Partial<ResolvedProviderSettings> = {}): ResolvedProviderSettings => ({ provider: 'openai', api_key: KEY, base_url: server.baseUrl, ...extra });
const tts = (extra: Partial<ResolvedProviderSettings> = {}, clock?: VirtualClock) => createOpenAiTts(settings(extra), clock ? { clock } : {});
const hi = (extra: Partial<ResolvedProviderSettings> = {}, clock?: VirtualClock) => collect(tts(extra, clock).synthesize({ text: 'Hi.', sampleRate: 8000 }));

ttsConformance('openai (local protocol server)', () => tts(), { skip, unknownVoice: 'nosuch' });

describe('OpenAI speech protocol', { skip, timeout: 60_000 }, () => {
  test('the documented request: POST /v1/audio/speech, bearer key, model, voice, input, response_format pcm', async () => {
    const n = server.requests.length;
    await collect(tts().synthesize({ text: 'Hello there.', sampleRate: 8000 }));
    await collect(tts().synthesize({ text: 'Hello there.', sampleRate: 16000 }));
    const [a, b] = server.requests.slice(n);
    assert.equal(a?.method, 'POST');
    assert.equal(a?.path, '/v1/audio/speech');
    assert.equal(a?.headers.authorization, `Bearer ${KEY}`);
    // OpenAI has one PCM rate (24 kHz): the request is the same for every leg, and we resample.
    assert.deepEqual(a?.body, { model: 'gpt-4o-mini-tts', input: 'Hello there.', voice: 'alloy', response_format: 'pcm' });
    assert.deepEqual(b?.body, a?.body);
    assert.ok(!JSON.stringify(a?.body).includes(KEY));
  });

  test('samples split across network chunks are reassembled exactly (24 kHz passes through untouched)', async () => {
    const text = 'Good morning, this is a test of split samples.';
    const ours = await collect(tts().synthesize({ text, sampleRate: 24_000 }));
    const theirs: Int16Array[] = [];
    for await (const c of speech(text, 24_000)) theirs.push(c);
    const expected = Int16Array.from(theirs.flatMap((c) => Array.from(c)));
    assert.ok(ours.chunks > 2, 'streamed in pieces');
    assert.equal(ours.samples.length, expected.length);
    assert.deepEqual(ours.samples, expected);
  });

  test('8 and 16 kHz legs get the 24 kHz audio resampled to their rate', async () => {
    const text = 'Hello, this is Outcall.';
    const src = await collect(tts().synthesize({ text, sampleRate: 24_000 }));
    for (const rate of [8000, 16000]) {
      const out = await collect(tts().synthesize({ text, sampleRate: rate }));
      const ratio = out.samples.length / src.samples.length;
      assert.ok(Math.abs(ratio - rate / 24_000) < 0.01, `${rate}: ratio ${ratio}`);
      assert.ok(rms(out.samples) > 500);
    }
  });

  test('voice, model, instructions and speed from the agent reach the body', async () => {
    const n = server.requests.length;
    await hi({ voice: 'coral', model: 'tts-1', options: { instructions: 'Speak warmly.', speed: 1.25 } });
    assert.deepEqual(server.requests[n]?.body, { model: 'tts-1', input: 'Hi.', voice: 'coral', response_format: 'pcm', instructions: 'Speak warmly.', speed: 1.25 });
  });

  test('a wrong key -> provider_auth_failed, and the key the server echoes is not repeated', async () => {
    const wrong = 'sk-wrong-key-9876543210';
    await rejectsWith(hi({ api_key: wrong }), 'provider_auth_failed', false, wrong, (e) => assert.match(e.message, /401: Incorrect API key provided: \[redacted\]/));
  });

  test('429 with retry-after -> retryable with the wait; insufficient_quota is not retryable; 5xx -> provider_unavailable; unknown voice -> bad request', async () => {
    server.next({ kind: 'error', status: 429, headers: { 'retry-after': '3' }, body: { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } } });
    await rejectsWith(hi(), 'provider_rate_limited', true, KEY, (e) => {
      assert.ok(e instanceof ProviderRateLimitedError);
      assert.equal(e.retryAfterSeconds, 3);
      assert.match(e.message, /Rate limit reached/);
    });
    server.next({ kind: 'error', status: 429, body: { error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } } });
    await rejectsWith(hi(), 'provider_rate_limited', false, KEY);
    server.next({ kind: 'error', status: 503, body: { error: { message: 'The server is overloaded.', type: 'server_error', param: null, code: null } } });
    await rejectsWith(hi(), 'provider_unavailable', true, KEY, (e) => assert.match(e.message, /overloaded/));
    await rejectsWith(hi({ voice: 'nosuch' }), 'provider_bad_request', false, KEY, (e) => assert.match(e.message, /Invalid value: 'nosuch'/));
  });

  test('no first audio within first_audio_timeout_ms -> provider_timeout, and the request is closed', async () => {
    const clock = new VirtualClock();
    server.next({ kind: 'silent' });
    const n = server.requests.length;
    const p = hi({}, clock);
    const r = await waitFor('the request', () => server.requests[n], 5000, 5);
    clock.advance(4999);
    assert.equal(clock.pending, 1, 'not yet');
    clock.advance(1);
    await rejectsWith(p, 'provider_timeout', true, KEY, (e) => assert.match(e.message, /no first audio within 5000 ms/));
    await r.closedEarly;
  });

  test('audio that stops mid-reply -> provider_timeout after idle_timeout_ms', async () => {
    const clock = new VirtualClock();
    server.next({ kind: 'stall', afterPieces: 2 });
    let got = 0;
    const p = (async () => {
      for await (const c of tts({ options: { idle_timeout_ms: 2000 } }, clock).synthesize({ text: 'Hello there, this sentence is long enough to stall.', sampleRate: 8000 })) got += c.length;
    })();
    await waitFor('audio', () => (got > 0 && clock.pending === 1 ? true : undefined), 5000, 5);
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(2000);
    await rejectsWith(p, 'provider_timeout', true, KEY, (e) => assert.match(e.message, /no audio within 2000 ms/));
  });

  test('dropped mid-stream -> provider_failed (retryable); JSON instead of audio -> provider_failed; nothing listening -> provider_unavailable', async () => {
    server.next({ kind: 'drop', afterPieces: 1 });
    await rejectsWith(collect(tts().synthesize({ text: 'Hello there, this is long enough to be cut off.', sampleRate: 8000 })), 'provider_failed', true, KEY);
    server.next({ kind: 'json', body: { error: { message: 'odd', type: 'server_error', param: null, code: null } } });
    await rejectsWith(hi(), 'provider_failed', true, KEY, (e) => assert.match(e.message, /JSON instead of audio: odd/));
    const gone = await OpenAiTtsServer.start(KEY);
    const url = gone.baseUrl;
    await gone.close();
    await rejectsWith(hi({ base_url: url }), 'provider_unavailable', true, KEY);
  });

  sharedCloudTtsTests('openai', { tts: () => tts(), next: (script) => server.next(script), recorded: () => server.requests });
});

describe('OpenAI TTS settings', () => {
  test('no key -> provider_auth_failed naming OPENAI_API_KEY; bad options -> provider_bad_request', () => {
    assert.throws(() => createOpenAiTts({ provider: 'openai' }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_auth_failed' && /OPENAI_API_KEY/.test(e.message));
    const bad: Array<Record<string, ProviderOptionValue>> = [{ speed: 5 }, { speed: '1' }, { instructions: 3 }, { idle_timeout_ms: -1 }];
    for (const options of bad) {
      assert.throws(() => checkOpenAiTtsSettings({ provider: 'openai', options }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request' && !e.retryable);
    }
  });
});

const liveKey = process.env.OPENAI_API_KEY;
test(
  'OpenAI live: a sentence at 8 kHz is real speech',
  { skip: liveKey ? false : 'OPENAI_API_KEY is not set: the live OpenAI test needs a real key and network access', timeout: 30_000 },
  async () => {
    const live = createOpenAiTts({ provider: 'openai', api_key: liveKey as string });
    const { samples } = await collect(live.synthesize({ text: 'Hello, this is Outcall calling to confirm your appointment.', sampleRate: 8000 }));
    assert.ok(samples.length / 8000 > 1.5, `${samples.length / 8000} s`);
    assert.ok(rms(samples) > 300);
  },
);
