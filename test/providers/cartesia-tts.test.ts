import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { collect, ttsConformance } from './conformance/tts.js';
import { ProviderError } from '../../src/providers/errors.js';
import { ProviderRateLimitedError } from '../../src/providers/llm/http-errors.js';
import type { ProviderOptionValue, ResolvedProviderSettings } from '../../src/providers/settings.js';
import {
  CARTESIA_DEFAULT_VOICE,
  CARTESIA_POOL_IDLE_MS,
  CARTESIA_VERSION,
  checkCartesiaTtsSettings,
  createCartesiaTts,
} from '../../src/providers/tts/cartesia.js';
import { closeIdleTtsConnections } from '../../src/providers/tts/ws-pool.js';
import { CartesiaProtocolServer } from '../helpers/cartesia-protocol-server.js';
import { skipReason } from '../helpers/require-tool.js';
import { rejectsWith, sharedCloudTtsTests, rms } from '../helpers/tts-assert.js';
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
    const n = server.requests.length;
    const out: Record<number, Int16Array> = {};
    for (const rate of [8000, 16000, 48000]) out[rate] = (await collect(tts().synthesize({ text: 'Hello there.', sampleRate: rate }))).samples;
    const [a, b, c] = server.requests.slice(n);
    const conn = server.sessions[a?.connection ?? -1];
    assert.equal(conn?.path, '/tts/websocket');
    assert.equal(conn?.headers.authorization, `Bearer ${KEY}`);
    assert.equal(conn?.headers['cartesia-version'], CARTESIA_VERSION);
    const m = a?.message;
    assert.equal(typeof m?.context_id, 'string');
    assert.deepEqual(m, {
      model_id: 'sonic-3',
      transcript: 'Hello there.',
      voice: { mode: 'id', id: CARTESIA_DEFAULT_VOICE },
      output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: 8000 },
      context_id: m?.context_id,
      continue: false,
    });
    assert.equal((b?.message.output_format as { sample_rate: number }).sample_rate, 16000);
    assert.equal((c?.message.output_format as { sample_rate: number }).sample_rate, 48000);
    for (const r of [a, b, c]) assert.ok(r && !JSON.stringify(r.message).includes(KEY) && !server.sessions[r.connection]?.query.toString().includes(KEY));
    // Vendor-rate audio passes through untouched: exact multiples, no resampler tail.
    assert.ok(Math.abs((out[16000] as Int16Array).length / (out[8000] as Int16Array).length - 2) < 0.01);
    assert.ok(rms(out[8000] as Int16Array) > 500);
  });

  test('voice, model, language and version from the agent reach the vendor', async () => {
    const n = server.requests.length;
    await hi({ voice: 'a0e99841-438c-4a64-b679-ae501e7d6091', model: 'sonic-2', language: 'en-GB', options: { cartesia_version: '2025-04-16' } });
    const r = server.requests[n];
    assert.equal(server.sessions[r?.connection ?? -1]?.headers['cartesia-version'], '2025-04-16');
    assert.deepEqual(r?.message.voice, { mode: 'id', id: 'a0e99841-438c-4a64-b679-ae501e7d6091' });
    assert.equal(r?.message.model_id, 'sonic-2');
    assert.equal(r?.message.language, 'en');
  });

  test('a wrong key -> provider_auth_failed; 429 with retry-after -> rate limited with the wait; 503 -> provider_unavailable', async () => {
    await rejectsWith(hi({ api_key: 'sk_car_wrong_0000' }), 'provider_auth_failed', false, KEY, (e) => assert.match(e.message, /401: Invalid API key/));
    // Upgrade refusals come on a new connection: none idle in the pool.
    closeIdleTtsConnections();
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
    const n = server.requests.length;
    const p = hi({}, clock);
    const r = await waitFor('the request message', () => server.requests[n], 5000, 5);
    clock.advance(4999);
    assert.equal(clock.pending, 1, 'not yet');
    clock.advance(1);
    await rejectsWith(p, 'provider_timeout', true, KEY, (e) => assert.match(e.message, /no first audio within 5000 ms/));
    await server.sessions[r.connection]?.closedEarly;
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

  sharedCloudTtsTests('cartesia', {
    tts: () => tts(),
    next: (script) => server.next(script),
    recorded: () => server.requests,
    abortStops: "cancels its context at once (the connection stays open for the next utterance)",
  });
});

describe('Cartesia connection reuse (a pool of idle connections per worker)', { skip, timeout: 60_000 }, () => {
  const LONG = 'Hello there. This is a long reply that keeps going for a while, long enough to be cut off.';
  /** The connections opened since `from`, and the requests since `r`. */
  const since = (from: number, r: number) => ({ sessions: server.sessions.slice(from), requests: server.requests.slice(r) });
  /** Fails when `p` does not settle within 2 s (rather than when the pool's idle timer would close it anyway). */
  const soon = (p: Promise<void> | undefined, what: string) =>
    Promise.race([p, new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`not within 2 s: ${what}`)), 2000).unref())]);

  test('three sequential utterances use one connection, each its own context', async () => {
    closeIdleTtsConnections();
    const c0 = server.sessions.length;
    const r0 = server.requests.length;
    const p = tts();
    for (const text of ['One.', 'Two.', 'Three.']) assert.ok((await collect(p.synthesize({ text, sampleRate: 8000 }))).samples.length > 0);
    // A new provider for the same endpoint, key and version draws on the same pool.
    assert.ok((await hi()).samples.length > 0);
    const { sessions, requests } = since(c0, r0);
    assert.equal(sessions.length, 1, 'one connection');
    assert.deepEqual(
      requests.map((r) => [r.connection, r.message.transcript, r.finished]),
      [
        [c0, 'One.', true],
        [c0, 'Two.', true],
        [c0, 'Three.', true],
        [c0, 'Hi.', true],
      ],
    );
    assert.equal(new Set(requests.map((r) => r.contextId)).size, 4, 'a fresh context_id per utterance');
    assert.equal(sessions[0]?.isClosed, false, 'kept open for the next turn');
  });

  test('abort mid-utterance sends the cancel for its context; the next utterance reuses the connection and hears none of the cancelled audio', async () => {
    closeIdleTtsConnections();
    const reference = (await hi()).samples;
    const c0 = server.sessions.length;
    const r0 = server.requests.length;
    // Three pieces of the cancelled context are still on the wire: they reach the client after
    // its next request, interleaved before that request's own audio.
    server.next({ kind: 'speak', chunkDelayMs: 30, lateChunks: 3 });
    const ac = new AbortController();
    let got = 0;
    for await (const c of tts().synthesize({ text: LONG, sampleRate: 8000, signal: ac.signal })) {
      got += c.length;
      ac.abort();
    }
    assert.ok(got > 0);
    const [cancelled] = since(c0, r0).requests;
    assert.ok(cancelled);
    await cancelled.closedEarly;
    assert.equal(cancelled.cancelled, true);
    const conn = server.sessions[cancelled.connection];
    assert.deepEqual(conn?.messages.at(-1), { context_id: cancelled.contextId, cancel: true }, 'the documented cancel message');
    const next = (await hi()).samples;
    const [, second] = since(c0, r0).requests;
    assert.equal(second?.connection, cancelled.connection, 'the same connection');
    assert.equal(cancelled.lateSent, 3, 'the late pieces were sent, after the new request');
    assert.equal(server.sessions.length, c0, 'no new connection');
    // Exactly the audio of "Hi.", none of the three late pieces of the long reply.
    assert.equal(next.length, reference.length);
    assert.deepEqual(next, reference);
  });

  test('a pooled connection the server closed while idle is replaced transparently (close frame and reset alike)', async () => {
    for (const how of ['close', 'reset'] as const) {
      closeIdleTtsConnections();
      const c0 = server.sessions.length;
      const r0 = server.requests.length;
      await hi();
      // Closed by the server, but the client is asked before it could notice.
      const p = tts();
      const it = p.synthesize({ text: 'Hi.', sampleRate: 8000 });
      assert.equal(server.closeIdle(how), 1);
      const { samples } = await collect(it);
      assert.ok(samples.length > 0 && rms(samples) > 500, `${how}: the synthesis succeeds`);
      const { sessions, requests } = since(c0, r0);
      assert.equal(sessions.length, 2, `${how}: two connections`);
      assert.equal(requests.at(-1)?.connection, c0 + 1);
      assert.equal(requests.at(-1)?.finished, true);
    }
  });

  test('a fresh connection that fails is reported, not retried', async () => {
    closeIdleTtsConnections();
    const c0 = server.sessions.length;
    server.next({ kind: 'drop', afterChunks: 0 });
    await rejectsWith(hi(), 'provider_failed', true, KEY);
    assert.equal(server.sessions.length - c0, 1, 'one connection, no retry');
  });

  test('a reused connection that fails after audio arrived is reported, not retried', async () => {
    closeIdleTtsConnections();
    await hi();
    const c0 = server.sessions.length;
    server.next({ kind: 'drop', afterChunks: 1 });
    await rejectsWith(collect(tts().synthesize({ text: LONG, sampleRate: 8000 })), 'provider_failed', true, KEY);
    assert.equal(server.sessions.length, c0, 'no new connection');
  });

  test('idle connections are closed after the idle timeout (the injected clock)', async () => {
    closeIdleTtsConnections();
    const clock = new VirtualClock();
    const c0 = server.sessions.length;
    await hi({}, clock);
    const conn = server.sessions[c0];
    assert.ok(conn);
    assert.equal(clock.pending, 1, 'the idle timer');
    clock.advance(CARTESIA_POOL_IDLE_MS - 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(conn.isClosed, false, 'not yet');
    clock.advance(1);
    await soon(conn.closed, 'closed by the idle timer');
    // And the next synthesis opens a new one.
    await hi({}, clock);
    assert.equal(server.sessions.length - c0, 2);
  });

  test('at most a few idle connections are kept per endpoint and key; the rest are closed', async () => {
    closeIdleTtsConnections();
    const c0 = server.sessions.length;
    await Promise.all(Array.from({ length: 6 }, () => hi()));
    const opened = server.sessions.slice(c0);
    assert.equal(opened.length, 6, 'six concurrent syntheses, six connections');
    await waitFor('two closed', () => (opened.filter((s) => s.isClosed).length === 2 ? true : undefined), 5000, 5);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(opened.filter((s) => !s.isClosed).length, 4);
  });

  test('prepare() opens the connection ahead; the next utterance is a context on it', async () => {
    closeIdleTtsConnections();
    const c0 = server.sessions.length;
    const p = tts();
    p.prepare();
    p.prepare();
    const warm = await waitFor('the warmed connection', () => server.sessions[c0], 5000, 5);
    assert.equal(warm.requests.length, 0, 'nothing synthesized yet');
    assert.ok((await collect(p.synthesize({ text: 'Hi.', sampleRate: 8000 }))).samples.length > 0);
    assert.equal(server.sessions.length, c0 + 1, 'one connection: the warmed one');
    assert.equal(server.requests.at(-1)?.connection, c0);
  });

  test('an utterance right after prepare() waits for the connection being opened instead of opening a second', async () => {
    closeIdleTtsConnections();
    const c0 = server.sessions.length;
    const p = tts();
    p.prepare();
    // No wait: the warmed connection is still being opened when the utterance starts.
    assert.ok((await collect(p.synthesize({ text: 'Hi.', sampleRate: 8000 }))).samples.length > 0);
    assert.equal(server.sessions.length, c0 + 1, 'one connection: the warmed one');
    assert.equal(server.requests.at(-1)?.connection, c0);
  });

  test('two concurrent syntheses use two connections', async () => {
    closeIdleTtsConnections();
    const c0 = server.sessions.length;
    const r0 = server.requests.length;
    const [a, b] = await Promise.all([collect(tts().synthesize({ text: 'One two three.', sampleRate: 8000 })), collect(tts().synthesize({ text: 'Four five six.', sampleRate: 16000 }))]);
    assert.ok(a.samples.length > 0 && b.samples.length > 0);
    const { sessions, requests } = since(c0, r0);
    assert.equal(sessions.length, 2);
    assert.notEqual(requests[0]?.connection, requests[1]?.connection);
  });

  test('an error response closes the connection; it is not reused', async () => {
    closeIdleTtsConnections();
    // Virtual time: the pool's idle timer cannot be what closes it.
    const clock = new VirtualClock();
    const c0 = server.sessions.length;
    await hi({}, clock);
    const conn = server.sessions[c0];
    server.next({ kind: 'error', status_code: 500, title: 'Internal error', message: 'Something went wrong', error_code: 'internal_error' });
    await rejectsWith(hi({}, clock), 'provider_unavailable', true, KEY);
    assert.equal(server.requests.at(-1)?.connection, c0, 'the error came on the pooled connection');
    await soon(conn?.closed, 'the connection closed after the error');
    await hi({}, clock);
    assert.equal(server.sessions.length - c0, 2, 'a new connection after the error');
    assert.equal(server.requests.at(-1)?.connection, c0 + 1);
  });

  test('a timeout closes the connection; it is not reused', async () => {
    closeIdleTtsConnections();
    const clock = new VirtualClock();
    const c0 = server.sessions.length;
    await hi({}, clock);
    server.next({ kind: 'silent' });
    const r0 = server.requests.length;
    const p = hi({}, clock);
    await waitFor('the request', () => server.requests[r0], 5000, 5);
    clock.advance(5000);
    await rejectsWith(p, 'provider_timeout', true, KEY);
    await soon(server.sessions[c0]?.closed, 'the connection closed after the timeout');
    assert.equal(server.requests[r0]?.connection, c0, 'the pooled connection was used');
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
