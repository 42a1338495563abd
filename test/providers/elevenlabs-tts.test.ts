import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { collect, ttsConformance } from './conformance/tts.js';
import { ProviderError } from '../../src/providers/errors.js';
import { ProviderRateLimitedError } from '../../src/providers/llm/http-errors.js';
import type { ProviderOptionValue, ResolvedProviderSettings } from '../../src/providers/settings.js';
import { ELEVENLABS_DEFAULT_VOICE, checkElevenLabsTtsSettings, createElevenLabsTts } from '../../src/providers/tts/elevenlabs.js';
import { ElevenLabsProtocolServer } from '../helpers/elevenlabs-protocol-server.js';
import { skipReason } from '../helpers/require-tool.js';
import { rejectsWith, sharedCloudTtsTests, rms } from '../helpers/tts-assert.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { waitFor } from '../helpers/wait.js';
import { closeIdleTtsConnections } from '../../src/providers/tts/ws-pool.js';

const KEY = 'xi-test-0123456789abcdefSECRET';
const skip = skipReason('espeak-ng');
const server = await ElevenLabsProtocolServer.start(KEY);
after(() => {
  closeIdleTtsConnections();
  return server.close();
});

const settings = (extra: Partial<ResolvedProviderSettings> = {}): ResolvedProviderSettings => ({ provider: 'elevenlabs', api_key: KEY, base_url: server.baseUrl, ...extra });
const tts = (extra: Partial<ResolvedProviderSettings> = {}, clock?: VirtualClock) => createElevenLabsTts(settings(extra), clock ? { clock } : {});

ttsConformance('elevenlabs (local protocol server)', () => tts(), { skip, unknownVoice: 'nosuch' });

describe('ElevenLabs multi-context protocol', { skip, timeout: 60_000 }, () => {
  test('8 kHz asks for pcm_8000 and 16 kHz for pcm_16000: no resampling hop; one context per utterance, key only in the header', async () => {
    closeIdleTtsConnections();
    const n = server.contexts.length;
    const narrow = await collect(tts().synthesize({ text: 'Hello there.', sampleRate: 8000 }));
    const wide = await collect(tts().synthesize({ text: 'Hello there.', sampleRate: 16000 }));
    const [a, b] = server.contexts.slice(n);
    const conn = server.connections[a?.connection ?? -1];
    assert.equal(conn?.path, `/v1/text-to-speech/${ELEVENLABS_DEFAULT_VOICE}/multi-stream-input`);
    assert.equal(a?.query.get('output_format'), 'pcm_8000');
    assert.equal(b?.query.get('output_format'), 'pcm_16000');
    assert.notEqual(a?.connection, b?.connection, 'another format is another connection');
    assert.equal(a?.query.get('model_id'), 'eleven_flash_v2_5');
    assert.equal(a?.query.get('auto_mode'), 'true');
    assert.equal(a?.query.get('inactivity_timeout'), '60');
    assert.equal(a?.headers['xi-api-key'], KEY);
    const id = a?.contextId;
    assert.match(String(id), /^[0-9a-f-]{36}$/);
    assert.deepEqual(a?.messages, [
      { text: ' ', context_id: id },
      { text: 'Hello there. ', context_id: id, flush: true },
      { context_id: id, close_context: true },
    ]);
    assert.equal(a?.finished, true, 'the server sent isFinal for the context');
    for (const c of [a, b]) {
      assert.ok(!JSON.stringify(c?.messages).includes(KEY) && !c?.query.toString().includes(KEY), 'the key is never in the URL or a message');
    }
    // What came back is the vendor's own rate: exactly twice the samples at 16 kHz (no resampler tail).
    assert.ok(rms(narrow.samples) > 500 && rms(wide.samples) > 500);
    const ratio = wide.samples.length / narrow.samples.length;
    assert.ok(Math.abs(ratio - 2) < 0.01, `ratio ${ratio}`);
  });

  test('48 kHz asks for pcm_24000 and resamples; ulaw_8000 when chosen is decoded to the same speech', async () => {
    const n = server.contexts.length;
    await collect(tts().synthesize({ text: 'One.', sampleRate: 48000 }));
    assert.equal(server.contexts[n]?.query.get('output_format'), 'pcm_24000');
    const pcm = await collect(tts().synthesize({ text: 'Good morning.', sampleRate: 8000 }));
    const ulaw = await collect(tts({ options: { narrowband_format: 'ulaw_8000' } }).synthesize({ text: 'Good morning.', sampleRate: 8000 }));
    assert.equal(server.contexts.at(-1)?.query.get('output_format'), 'ulaw_8000');
    assert.equal(ulaw.samples.length, pcm.samples.length);
    // G.711 keeps the waveform within a few percent: the decoded audio is the same speech.
    assert.ok(Math.abs(rms(ulaw.samples) - rms(pcm.samples)) / rms(pcm.samples) < 0.05);
  });

  test('voice, model, language and voice settings from the agent reach the vendor', async () => {
    const n = server.contexts.length;
    await collect(
      tts({ voice: '21m00Tcm4TlvDq8ikWAM', model: 'eleven_turbo_v2_5', language: 'en-US', options: { stability: 0.4, speed: 1.1, auto_mode: false } }).synthesize({ text: 'Hi.', sampleRate: 8000 }),
    );
    const c = server.contexts[n];
    assert.equal(c?.voice, '21m00Tcm4TlvDq8ikWAM');
    assert.equal(c?.query.get('model_id'), 'eleven_turbo_v2_5');
    assert.equal(c?.query.get('language_code'), 'en');
    assert.equal(c?.query.get('auto_mode'), null);
    assert.deepEqual(c?.messages[0], { text: ' ', context_id: c?.contextId, voice_settings: { stability: 0.4, speed: 1.1 } });
  });

  test('a wrong key: the upgrade is refused 401 -> provider_auth_failed, not retryable', async () => {
    await rejectsWith(collect(tts({ api_key: 'xi-wrong-key-0000' }).synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_auth_failed', false, KEY, (e) => {
      assert.match(e.message, /401.*invalid_api_key: Invalid API key/);
    });
  });

  test('429 with retry-after -> rate limited, retryable, with the wait; quota_exceeded (sent as 401) is not retryable', async () => {
    // Upgrade refusals come on a new connection: none idle in the pool.
    closeIdleTtsConnections();
    server.next({ kind: 'http', status: 429, body: { detail: { status: 'too_many_concurrent_requests', message: 'Too many concurrent requests' } }, headers: { 'retry-after': '7' } });
    await rejectsWith(collect(tts().synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_rate_limited', true, KEY, (e) => {
      assert.ok(e instanceof ProviderRateLimitedError);
      assert.equal(e.retryAfterSeconds, 7);
    });
    server.next({ kind: 'http', status: 401, body: { detail: { status: 'quota_exceeded', message: 'This request exceeds your quota.' } } });
    await rejectsWith(collect(tts().synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_rate_limited', false, KEY);
    server.next({ kind: 'http', status: 503, body: { detail: 'Service Unavailable' } });
    await rejectsWith(collect(tts().synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_unavailable', true, KEY);
  });

  test("the vendor's error message on the socket is mapped by its meaning", async () => {
    server.next({ kind: 'error', error: 'quota_exceeded', message: 'This request exceeds your quota.' });
    await rejectsWith(collect(tts().synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_rate_limited', false, KEY, (e) => assert.match(e.message, /exceeds your quota/));
    server.next({ kind: 'error', error: 'internal_error', message: 'We are sorry, something went wrong.' });
    await rejectsWith(collect(tts().synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_failed', true, KEY, (e) => assert.match(e.message, /something went wrong/));
    await rejectsWith(collect(tts({ voice: 'nosuchvoice' }).synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_bad_request', false, KEY, (e) => assert.match(e.message, /voice_not_found/));
  });

  test('no first audio within first_audio_timeout_ms -> provider_timeout, and the socket is closed', async () => {
    const clock = new VirtualClock();
    server.next({ kind: 'silent' });
    const n = server.contexts.length;
    const p = collect(tts({ options: { first_audio_timeout_ms: 3000 } }, clock).synthesize({ text: 'Hi.', sampleRate: 8000 }));
    const c = await waitFor('the client to send its text', () => ((server.contexts[n]?.messages.length ?? 0) >= 3 ? server.contexts[n] : undefined), 5000, 5);
    clock.advance(2999);
    assert.equal(clock.pending, 1, 'not yet');
    clock.advance(1);
    await rejectsWith(p, 'provider_timeout', true, KEY, (e) => assert.match(e.message, /no first audio within 3000 ms/));
    await c.closedEarly;
  });

  test('audio that stops mid-reply -> provider_timeout after idle_timeout_ms', async () => {
    const clock = new VirtualClock();
    server.next({ kind: 'stall', afterChunks: 2 });
    let got = 0;
    const p = (async () => {
      for await (const c of tts({ options: { idle_timeout_ms: 4000 } }, clock).synthesize({ text: 'Hello there, this sentence is long enough.', sampleRate: 8000 })) got += c.length;
    })();
    await waitFor('two chunks', () => (got > 0 && clock.pending === 1 ? true : undefined), 5000, 5);
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(4000);
    await rejectsWith(p, 'provider_timeout', true, KEY, (e) => assert.match(e.message, /no audio within 4000 ms/));
  });

  test('a connection dropped mid-stream -> provider_failed (retryable); a malformed frame -> provider_failed', async () => {
    server.next({ kind: 'drop', afterChunks: 1 });
    await rejectsWith(collect(tts().synthesize({ text: 'Hello there, this is long enough to be cut.', sampleRate: 8000 })), 'provider_failed', true, KEY);
    server.next({ kind: 'malformed', frame: '{"audio": 12' });
    await rejectsWith(collect(tts().synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_failed', true, KEY, (e) => assert.match(e.message, /not JSON/));
    server.next({ kind: 'malformed', frame: '{"audio": "not base64 !!"}' });
    await rejectsWith(collect(tts().synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_failed', true, KEY, (e) => assert.match(e.message, /base64/));
  });

  test('nothing listening -> provider_unavailable (retryable)', async () => {
    const gone = await ElevenLabsProtocolServer.start(KEY);
    const url = gone.baseUrl;
    await gone.close();
    await rejectsWith(collect(createElevenLabsTts(settings({ base_url: url })).synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_unavailable', true, KEY);
  });

  sharedCloudTtsTests('elevenlabs', { tts: () => tts(), next: (script) => server.next(script), recorded: () => server.contexts });
});

describe('ElevenLabs connection reuse (the multi-context socket kept between utterances)', { skip, timeout: 60_000 }, () => {
  const LONG = 'Hello there. This is a long reply that keeps going for a while, long enough to be cut off.';
  const hi = (text = 'Hi.') => collect(tts().synthesize({ text, sampleRate: 8000 }));
  /** Fails when `p` does not settle within 2 s. */
  const soon = (p: Promise<void> | undefined, what: string) =>
    Promise.race([p, new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`not within 2 s: ${what}`)), 2000).unref())]);

  test('seven sequential utterances use one connection, each its own context, final before the next (a connection may hold 5 open)', async () => {
    closeIdleTtsConnections();
    const c0 = server.connections.length;
    const x0 = server.contexts.length;
    const p = tts();
    const texts = ['One.', 'Two.', 'Three.', 'Four.', 'Five.', 'Six.'];
    for (const text of texts) assert.ok((await collect(p.synthesize({ text, sampleRate: 8000 }))).samples.length > 0);
    // A new provider for the same voice, format and key draws on the same pool.
    assert.ok((await hi('Seven.')).samples.length > 0);
    const conns = server.connections.slice(c0);
    const ctxs = server.contexts.slice(x0);
    assert.equal(conns.length, 1, 'one connection');
    assert.deepEqual(ctxs.map((c) => [c.connection, c.text, c.finished]), [...texts, 'Seven.'].map((t) => [c0, t, true]));
    assert.equal(new Set(ctxs.map((c) => c.contextId)).size, 7, 'a fresh context id each');
    assert.equal(conns[0]?.isClosed, false, 'kept open for the next utterance');
  });

  test("a frame naming another context is skipped: only this utterance's audio is played", async () => {
    const own = await hi('Good morning.');
    // The next context's first answer is a chunk of some other context (loud noise): not ours.
    const noise = Buffer.alloc(3200);
    for (let i = 0; i < noise.length; i += 2) noise.writeInt16LE(i % 4 === 0 ? 20000 : -20000, i);
    server.next({ kind: 'malformed', frame: JSON.stringify({ audio: noise.toString('base64'), isFinal: false, contextId: 'someone-else' }) });
    server.next({ kind: 'malformed', frame: JSON.stringify({ isFinal: true, contextId: 'someone-else' }) });
    const again = await hi('Good morning.');
    assert.equal(again.samples.length, own.samples.length, 'the same speech, no extra samples');
    // The second scripted frame: an isFinal for another context does not end ours either.
    const third = await hi('Good morning.');
    assert.equal(third.samples.length, own.samples.length);
  });

  test('barge-in closes the socket (a flushed context cannot be stopped otherwise); the next utterance opens a new one', async () => {
    await hi();
    const x0 = server.contexts.length;
    server.next({ kind: 'speak', chunkDelayMs: 30 });
    const ac = new AbortController();
    for await (const _ of tts().synthesize({ text: LONG, sampleRate: 8000, signal: ac.signal })) ac.abort();
    const cut = server.contexts[x0]!;
    await soon(cut.closedEarly, 'the server saw the socket close before the context was final');
    assert.equal(server.connections[cut.connection]?.closedBy, 'client');
    assert.ok((await hi()).samples.length > 0);
    assert.notEqual(server.contexts.at(-1)?.connection, cut.connection, 'a new connection after the barge-in');
  });

  test('a pooled connection the server closed (inactivity, or a reset) is replaced transparently', async () => {
    for (const how of ['close', 'reset'] as const) {
      await hi();
      const before = server.contexts.at(-1)!.connection;
      assert.ok(server.closeIdle(how) >= 1);
      // A close frame is seen by the idle connection at once; a reset may only show on use.
      await new Promise((r) => setTimeout(r, 50));
      const { samples } = await hi();
      assert.ok(samples.length > 0, `${how}: the utterance still came through`);
      assert.notEqual(server.contexts.at(-1)?.connection, before, `${how}: on a new connection`);
    }
  });

  test('an error closes the connection: it is never pooled', async () => {
    await hi();
    server.next({ kind: 'error', error: 'internal_error', message: 'Something broke.' });
    await rejectsWith(hi(), 'provider_failed', true, KEY);
    const broken = server.contexts.at(-1)!.connection;
    await hi();
    assert.notEqual(server.contexts.at(-1)?.connection, broken);
  });

  test('prepare() opens the connection ahead (once per voice, format and key); the next utterance is a context on it', async () => {
    closeIdleTtsConnections();
    const c0 = server.connections.length;
    const p = tts();
    p.prepare({ sampleRate: 8000 });
    p.prepare({ sampleRate: 8000 }); // already opening: not a second one
    const warm = await waitFor('the warmed connection', () => server.connections[c0], 5000, 5);
    assert.equal(warm.query.get('output_format'), 'pcm_8000');
    await new Promise((r) => setTimeout(r, 50));
    p.prepare({ sampleRate: 8000 }); // one is idle: not a second one either
    assert.equal(warm.contexts.length, 0, 'nothing synthesized yet');
    assert.ok((await hi()).samples.length > 0);
    assert.equal(server.connections.length, c0 + 1, 'the utterance used the warmed connection');
    assert.equal(server.contexts.at(-1)?.connection, c0);
    // A vendor out of reach: prepare stays quiet, the utterance reports it.
    const gone = await ElevenLabsProtocolServer.start(KEY);
    const url = gone.baseUrl;
    await gone.close();
    const away = createElevenLabsTts(settings({ base_url: url }));
    away.prepare({ sampleRate: 8000 });
    await rejectsWith(collect(away.synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_unavailable', true, KEY);
  });

  test('closeIdleTtsConnections (worker shutdown) closes the idle sockets', async () => {
    await hi();
    const conn = server.connections[server.contexts.at(-1)!.connection]!;
    assert.equal(conn.isClosed, false);
    closeIdleTtsConnections();
    await soon(conn.closed, 'the server saw the idle socket close');
    assert.equal(conn.closedBy, 'client');
  });
});

describe('ElevenLabs settings', () => {
  test('no key -> provider_auth_failed naming ELEVENLABS_API_KEY; bad options -> provider_bad_request', () => {
    assert.throws(() => createElevenLabsTts({ provider: 'elevenlabs' }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_auth_failed' && /ELEVENLABS_API_KEY/.test(e.message));
    const bad: Array<Record<string, ProviderOptionValue>> = [{ speed: 2 }, { stability: 'high' }, { narrowband_format: 'mp3' }, { first_audio_timeout_ms: 0 }];
    for (const options of bad) {
      assert.throws(() => checkElevenLabsTtsSettings({ provider: 'elevenlabs', options }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request' && !e.retryable);
    }
    assert.deepEqual(checkElevenLabsTtsSettings({ provider: 'elevenlabs', options: { first_audio_timeout_ms: 2500 } }).timeouts, { firstAudioMs: 2500, idleMs: 10_000 });
  });
});

const liveKey = process.env.ELEVENLABS_API_KEY;
test(
  'ElevenLabs live: a sentence at 8 kHz is real speech',
  { skip: liveKey ? false : 'ELEVENLABS_API_KEY is not set: the live ElevenLabs test needs a real key and network access', timeout: 30_000 },
  async () => {
    const live = createElevenLabsTts({ provider: 'elevenlabs', api_key: liveKey as string });
    const { samples } = await collect(live.synthesize({ text: 'Hello, this is Outcall calling to confirm your appointment.', sampleRate: 8000 }));
    assert.ok(samples.length / 8000 > 1.5, `${samples.length / 8000} s`);
    assert.ok(rms(samples) > 300);
  },
);
