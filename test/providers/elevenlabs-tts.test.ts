import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { collect, ttsConformance } from '../../src/providers/conformance/tts.js';
import { ProviderError } from '../../src/providers/errors.js';
import { ProviderRateLimitedError } from '../../src/providers/llm/http-errors.js';
import type { ProviderOptionValue, ResolvedProviderSettings } from '../../src/providers/settings.js';
import { ELEVENLABS_DEFAULT_VOICE, checkElevenLabsTtsSettings, createElevenLabsTts } from '../../src/providers/tts/elevenlabs.js';
import { ElevenLabsProtocolServer } from '../helpers/elevenlabs-protocol-server.js';
import { skipReason } from '../helpers/require-tool.js';
import { rejectsWith, sharedCloudTtsTests, rms } from '../helpers/tts-assert.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'xi-test-0123456789abcdefSECRET';
const skip = skipReason('espeak-ng');
const server = await ElevenLabsProtocolServer.start(KEY);
after(() => server.close());

const settings = (extra: Partial<ResolvedProviderSettings> = {}): ResolvedProviderSettings => ({ provider: 'elevenlabs', api_key: KEY, base_url: server.baseUrl, ...extra });
const tts = (extra: Partial<ResolvedProviderSettings> = {}, clock?: VirtualClock) => createElevenLabsTts(settings(extra), clock ? { clock } : {});

ttsConformance('elevenlabs (local protocol server)', () => tts(), { skip, unknownVoice: 'nosuch' });

describe('ElevenLabs stream-input protocol', { skip, timeout: 60_000 }, () => {
  test('8 kHz asks for pcm_8000 and 16 kHz for pcm_16000: no resampling hop; the documented messages, key only in the header', async () => {
    const n = server.sessions.length;
    const narrow = await collect(tts().synthesize({ text: 'Hello there.', sampleRate: 8000 }));
    const wide = await collect(tts().synthesize({ text: 'Hello there.', sampleRate: 16000 }));
    const [a, b] = server.sessions.slice(n);
    assert.equal(a?.path, `/v1/text-to-speech/${ELEVENLABS_DEFAULT_VOICE}/stream-input`);
    assert.equal(a?.query.get('output_format'), 'pcm_8000');
    assert.equal(b?.query.get('output_format'), 'pcm_16000');
    assert.equal(a?.query.get('model_id'), 'eleven_flash_v2_5');
    assert.equal(a?.query.get('auto_mode'), 'true');
    assert.equal(a?.headers['xi-api-key'], KEY);
    assert.deepEqual(a?.messages, [{ text: ' ' }, { text: 'Hello there. ', flush: true }, { text: '' }]);
    for (const s of [a, b]) {
      assert.ok(!JSON.stringify(s?.messages).includes(KEY) && !s?.query.toString().includes(KEY), 'the key is never in the URL or a message');
    }
    // What came back is the vendor's own rate: exactly twice the samples at 16 kHz (no resampler tail).
    assert.ok(rms(narrow.samples) > 500 && rms(wide.samples) > 500);
    const ratio = wide.samples.length / narrow.samples.length;
    assert.ok(Math.abs(ratio - 2) < 0.01, `ratio ${ratio}`);
  });

  test('48 kHz asks for pcm_24000 and resamples; ulaw_8000 when chosen is decoded to the same speech', async () => {
    const n = server.sessions.length;
    await collect(tts().synthesize({ text: 'One.', sampleRate: 48000 }));
    assert.equal(server.sessions[n]?.query.get('output_format'), 'pcm_24000');
    const pcm = await collect(tts().synthesize({ text: 'Good morning.', sampleRate: 8000 }));
    const ulaw = await collect(tts({ options: { narrowband_format: 'ulaw_8000' } }).synthesize({ text: 'Good morning.', sampleRate: 8000 }));
    assert.equal(server.sessions.at(-1)?.query.get('output_format'), 'ulaw_8000');
    assert.equal(ulaw.samples.length, pcm.samples.length);
    // G.711 keeps the waveform within a few percent: the decoded audio is the same speech.
    assert.ok(Math.abs(rms(ulaw.samples) - rms(pcm.samples)) / rms(pcm.samples) < 0.05);
  });

  test('voice, model, language and voice settings from the agent reach the vendor', async () => {
    const n = server.sessions.length;
    await collect(
      tts({ voice: '21m00Tcm4TlvDq8ikWAM', model: 'eleven_turbo_v2_5', language: 'en-US', options: { stability: 0.4, speed: 1.1, auto_mode: false } }).synthesize({ text: 'Hi.', sampleRate: 8000 }),
    );
    const s = server.sessions[n];
    assert.equal(s?.voice, '21m00Tcm4TlvDq8ikWAM');
    assert.equal(s?.query.get('model_id'), 'eleven_turbo_v2_5');
    assert.equal(s?.query.get('language_code'), 'en');
    assert.equal(s?.query.get('auto_mode'), null);
    assert.deepEqual(s?.messages[0], { text: ' ', voice_settings: { stability: 0.4, speed: 1.1 } });
  });

  test('a wrong key: the upgrade is refused 401 -> provider_auth_failed, not retryable', async () => {
    await rejectsWith(collect(tts({ api_key: 'xi-wrong-key-0000' }).synthesize({ text: 'Hi.', sampleRate: 8000 })), 'provider_auth_failed', false, KEY, (e) => {
      assert.match(e.message, /401.*invalid_api_key: Invalid API key/);
    });
  });

  test('429 with retry-after -> rate limited, retryable, with the wait; quota_exceeded (sent as 401) is not retryable', async () => {
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
  });

  test('no first audio within first_audio_timeout_ms -> provider_timeout, and the socket is closed', async () => {
    const clock = new VirtualClock();
    server.next({ kind: 'silent' });
    const n = server.sessions.length;
    const p = collect(tts({ options: { first_audio_timeout_ms: 3000 } }, clock).synthesize({ text: 'Hi.', sampleRate: 8000 }));
    const s = await waitFor('the client to send its text', () => ((server.sessions[n]?.messages.length ?? 0) >= 3 ? server.sessions[n] : undefined), 5000, 5);
    clock.advance(2999);
    assert.equal(clock.pending, 1, 'not yet');
    clock.advance(1);
    await rejectsWith(p, 'provider_timeout', true, KEY, (e) => assert.match(e.message, /no first audio within 3000 ms/));
    await s.closedEarly;
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

  sharedCloudTtsTests('elevenlabs', { tts: () => tts(), next: (script) => server.next(script), recorded: () => server.sessions });
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
