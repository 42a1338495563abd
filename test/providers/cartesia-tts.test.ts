import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { collect, ttsConformance } from '../../src/providers/conformance/tts.js';
import { ProviderError } from '../../src/providers/errors.js';
import { ProviderRateLimitedError } from '../../src/providers/llm/http-errors.js';
import type { ProviderOptionValue, ResolvedProviderSettings } from '../../src/providers/settings.js';
import { CARTESIA_DEFAULT_VOICE, CARTESIA_VERSION, checkCartesiaTtsSettings, createCartesiaTts } from '../../src/providers/tts/cartesia.js';
import { CartesiaProtocolServer } from '../helpers/cartesia-protocol-server.js';
import { skipReason } from '../helpers/require-tool.js';
import { rejectsWith, rms } from '../helpers/tts-assert.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'sk_car_test-0123456789abcdefSECRET';
const skip = skipReason('espeak-ng');
const server = await CartesiaProtocolServer.start(KEY);
after(() => server.close());

const settings = (extra: Partial<ResolvedProviderSettings> = {}): ResolvedProviderSettings => ({ provider: 'cartesia', api_key: KEY, base_url: server.baseUrl, ...extra });
const tts = (extra: Partial<ResolvedProviderSettings> = {}, clock?: VirtualClock) => createCartesiaTts(settings(extra), clock ? { clock } : {});
const hi = (extra: Partial<ResolvedProviderSettings> = {}, clock?: VirtualClock) => collect(tts(extra, clock).synthesize({ text: 'Hi.', sampleRate: 8000 }));

ttsConformance('cartesia (local protocol server)', () => tts(), { skip, unknownVoice: 'nosuch' });

describe('Cartesia TTS WebSocket protocol', { skip, timeout: 60_000 }, () => {
  test('every leg rate is asked for directly (8000, 16000, 48000): no resampling; the documented request; key only in the header', async () => {
    const n = server.sessions.length;
    const out: Record<number, Int16Array> = {};
    for (const rate of [8000, 16000, 48000]) out[rate] = (await collect(tts().synthesize({ text: 'Hello there.', sampleRate: rate }))).samples;
    const [a, b, c] = server.sessions.slice(n);
    assert.equal(a?.path, '/tts/websocket');
    assert.equal(a?.headers.authorization, `Bearer ${KEY}`);
    assert.equal(a?.headers['cartesia-version'], CARTESIA_VERSION);
    const m = a?.messages[0];
    assert.equal(typeof m?.context_id, 'string');
    assert.deepEqual(m, {
      model_id: 'sonic-3',
      transcript: 'Hello there.',
      voice: { mode: 'id', id: CARTESIA_DEFAULT_VOICE },
      output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: 8000 },
      context_id: m?.context_id,
      continue: false,
    });
    assert.equal((b?.messages[0]?.output_format as { sample_rate: number }).sample_rate, 16000);
    assert.equal((c?.messages[0]?.output_format as { sample_rate: number }).sample_rate, 48000);
    for (const s of [a, b, c]) assert.ok(!JSON.stringify(s?.messages).includes(KEY) && !s?.query.toString().includes(KEY));
    // Vendor-rate audio passes through untouched: exact multiples, no resampler tail.
    assert.ok(Math.abs((out[16000] as Int16Array).length / (out[8000] as Int16Array).length - 2) < 0.01);
    assert.ok(rms(out[8000] as Int16Array) > 500);
  });

  test('voice, model, language and version from the agent reach the vendor', async () => {
    const n = server.sessions.length;
    await hi({ voice: 'a0e99841-438c-4a64-b679-ae501e7d6091', model: 'sonic-2', language: 'en-GB', options: { cartesia_version: '2025-04-16' } });
    const s = server.sessions[n];
    assert.equal(s?.headers['cartesia-version'], '2025-04-16');
    assert.deepEqual(s?.messages[0]?.voice, { mode: 'id', id: 'a0e99841-438c-4a64-b679-ae501e7d6091' });
    assert.equal(s?.messages[0]?.model_id, 'sonic-2');
    assert.equal(s?.messages[0]?.language, 'en');
  });

  test('a wrong key -> provider_auth_failed; 429 with retry-after -> rate limited with the wait; 503 -> provider_unavailable', async () => {
    await rejectsWith(hi({ api_key: 'sk_car_wrong_0000' }), 'provider_auth_failed', false, KEY, (e) => assert.match(e.message, /401: Invalid API key/));
    server.next({ kind: 'http', status: 429, headers: { 'retry-after': '2' }, body: { title: 'Too Many Requests', message: 'Concurrency limit reached', error_code: 'rate_limited' } });
    await rejectsWith(hi(), 'provider_rate_limited', true, KEY, (e) => {
      assert.ok(e instanceof ProviderRateLimitedError);
      assert.equal(e.retryAfterSeconds, 2);
    });
    server.next({ kind: 'http', status: 503, body: { message: 'unavailable' } });
    await rejectsWith(hi(), 'provider_unavailable', true, KEY);
  });

  test("the vendor's error message is mapped by its status_code; running out of credit is not retryable", async () => {
    server.next({ kind: 'error', status_code: 402, title: 'Out of credits', message: 'Your account has run out of credits.', error_code: 'insufficient_credits' });
    await rejectsWith(hi(), 'provider_rate_limited', false, KEY, (e) => assert.match(e.message, /Out of credits Your account has run out of credits/));
    server.next({ kind: 'error', status_code: 400, title: 'Invalid transcript', message: 'The transcript is empty.', error_code: 'invalid_transcript' });
    await rejectsWith(hi(), 'provider_bad_request', false, KEY);
    server.next({ kind: 'error', status_code: 429, title: 'Rate limited', message: 'Too many concurrent requests', error_code: 'concurrency_limited' });
    await rejectsWith(hi(), 'provider_rate_limited', true, KEY);
    server.next({ kind: 'error', status_code: 500, title: 'Internal error', message: 'Something went wrong', error_code: 'internal_error' });
    await rejectsWith(hi(), 'provider_unavailable', true, KEY);
  });

  test('no first audio within first_audio_timeout_ms -> provider_timeout, and the socket is closed', async () => {
    const clock = new VirtualClock();
    server.next({ kind: 'silent' });
    const n = server.sessions.length;
    const p = hi({}, clock);
    const s = await waitFor('the request message', () => ((server.sessions[n]?.messages.length ?? 0) >= 1 ? server.sessions[n] : undefined), 5000, 5);
    clock.advance(4999);
    assert.equal(clock.pending, 1, 'not yet');
    clock.advance(1);
    await rejectsWith(p, 'provider_timeout', true, KEY, (e) => assert.match(e.message, /no first audio within 5000 ms/));
    await s.closedEarly;
  });

  test('audio that stops mid-reply -> provider_timeout after idle_timeout_ms', async () => {
    const clock = new VirtualClock();
    server.next({ kind: 'stall', afterChunks: 2 });
    let got = 0;
    const p = (async () => {
      for await (const c of tts({ options: { idle_timeout_ms: 1500 } }, clock).synthesize({ text: 'Hello there, this sentence is long enough to stall.', sampleRate: 8000 })) got += c.length;
    })();
    await waitFor('audio', () => (got > 0 && clock.pending === 1 ? true : undefined), 5000, 5);
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(1500);
    await rejectsWith(p, 'provider_timeout', true, KEY, (e) => assert.match(e.message, /no audio within 1500 ms/));
  });

  test('dropped mid-stream -> provider_failed (retryable); malformed frames -> provider_failed; nothing listening -> provider_unavailable', async () => {
    server.next({ kind: 'drop', afterChunks: 1 });
    await rejectsWith(collect(tts().synthesize({ text: 'Hello there, this is long enough to be cut off.', sampleRate: 8000 })), 'provider_failed', true, KEY);
    server.next({ kind: 'malformed', frame: 'not json at all' });
    await rejectsWith(hi(), 'provider_failed', true, KEY, (e) => assert.match(e.message, /not JSON/));
    server.next({ kind: 'malformed', frame: JSON.stringify({ type: 'chunk', data: 42, done: false }) });
    await rejectsWith(hi(), 'provider_failed', true, KEY, (e) => assert.match(e.message, /not base64/));
    const gone = await CartesiaProtocolServer.start(KEY);
    const url = gone.baseUrl;
    await gone.close();
    await rejectsWith(hi({ base_url: url }), 'provider_unavailable', true, KEY);
  });

  test('abort mid-stream ends quietly and closes the connection at once', async () => {
    server.next({ kind: 'speak', chunkDelayMs: 30 });
    const n = server.sessions.length;
    const ac = new AbortController();
    let got = 0;
    for await (const c of tts().synthesize({ text: 'Hello there. This is a long reply that keeps going for a while.', sampleRate: 8000, signal: ac.signal })) {
      got += c.length;
      ac.abort();
    }
    assert.ok(got > 0);
    await server.sessions[n]?.closedEarly;
  });

  test('first audio through the local server (reported, not asserted)', async (t) => {
    const n = server.sessions.length;
    const t0 = performance.now();
    let first = 0;
    for await (const _ of tts().synthesize({ text: 'Hello, this is Outcall calling.', sampleRate: 8000 })) first ||= performance.now() - t0;
    t.diagnostic(`cartesia: first audio after ${first.toFixed(1)} ms at the client (server side ${server.sessions[n]?.firstAudioMs?.toFixed(1)} ms)`);
    assert.ok(first > 0);
  });
});

describe('Cartesia settings', () => {
  test('no key -> provider_auth_failed naming CARTESIA_API_KEY; bad options -> provider_bad_request', () => {
    assert.throws(() => createCartesiaTts({ provider: 'cartesia' }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_auth_failed' && /CARTESIA_API_KEY/.test(e.message));
    const bad: Array<Record<string, ProviderOptionValue>> = [{ cartesia_version: 'latest' }, { first_audio_timeout_ms: 'soon' }];
    for (const options of bad) {
      assert.throws(() => checkCartesiaTtsSettings({ provider: 'cartesia', options }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request' && !e.retryable);
    }
  });
});

const liveKey = process.env.CARTESIA_API_KEY;
test(
  'Cartesia live: a sentence at 8 kHz is real speech',
  { skip: liveKey ? false : 'CARTESIA_API_KEY is not set: the live Cartesia test needs a real key and network access', timeout: 30_000 },
  async () => {
    const live = createCartesiaTts({ provider: 'cartesia', api_key: liveKey as string });
    const { samples } = await collect(live.synthesize({ text: 'Hello, this is Outcall calling to confirm your appointment.', sampleRate: 8000 }));
    assert.ok(samples.length / 8000 > 1.5, `${samples.length / 8000} s`);
    assert.ok(rms(samples) > 300);
  },
);
