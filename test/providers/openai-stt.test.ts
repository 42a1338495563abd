import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collectEvents, keyWordsHeard, sttConformance } from './conformance/stt.js';
import { atRate, audibleBounds, concat, fliteSpeech, silence, toFrames } from './conformance/audio.js';
import { decodeMuLaw, encodeMuLaw } from '../../src/media/g711.js';
import { ProviderError } from '../../src/providers/errors.js';
import { ProviderRateLimitedError } from '../../src/providers/llm/http-errors.js';
import { checkOpenAiSttSettings, createOpenAiStt } from '../../src/providers/stt/openai.js';
import type { ResolvedProviderSettings } from '../../src/providers/settings.js';
import type { SttEvent } from '../../src/providers/stt/types.js';
import { openAiErrorBody, startOpenAiTranscriptionServer } from '../helpers/openai-transcription-server.js';
import { skipReason } from '../helpers/require-tool.js';
import { abortClosesSocketTest, assertProviderError as providerErrorOf, until, upgradeNeverAnsweredTest } from '../helpers/stt-assert.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import type { Fault, WsVendorServer } from '../helpers/ws-vendor-server.js';

const KEY = 'sk-test-0123456789abcdefSECRET';
const skip = skipReason('pocketsphinx_continuous') || skipReason('flite');
const GUARD = 30_000;
const SENTENCE = 'please confirm my appointment on tuesday';

// Top-level: the conformance suite builds its provider when registered, and needs the server's port.
const { server, timings } = await startOpenAiTranscriptionServer({ apiKey: KEY });
after(() => server.close());

const settings = (o: Partial<ResolvedProviderSettings> = {}, srv: WsVendorServer = server): ResolvedProviderSettings => ({ provider: 'openai', api_key: KEY, base_url: srv.baseUrl, ...o });
const expectError = (events: SttEvent[], code: string, retryable: boolean) => providerErrorOf(events, code, retryable, KEY);

sttConformance('openai realtime transcription (local protocol server)', () => createOpenAiStt(settings()), { skip, sampleRate: 16000, unsupportedRate: 44100, hangGuardMs: GUARD });

const frame = (rate: number, value = 0) => new Int16Array(rate / 50).fill(value);
const types = (texts: unknown[]) => texts.map((t) => (t as { type?: string }).type);

describe('openai stt: what goes on the wire', () => {
  test('16 kHz: Bearer auth, no beta header, GA session.update (pcm 24 kHz, server_vad, language, prompt), audio resampled to 24 kHz', async () => {
    server.next({ kind: 'accept', openDelayMs: 150 });
    const stt = createOpenAiStt(settings({ language: 'en-US', options: { prompt: 'Outcall appointment reminders', silence_duration_ms: 600 } }));
    const s = stt.start({ sampleRate: 16000 });
    for (let i = 0; i < 10; i++) s.push(frame(16000)); // before the upgrade is answered
    s.end();
    assert.deepEqual((await collectEvents(s, GUARD)).map((e) => e.type), ['closed']);
    const sess = server.last;
    assert.equal(sess.path, '/v1/realtime');
    assert.equal(sess.query.get('intent'), 'transcription');
    assert.equal(sess.headers.authorization, `Bearer ${KEY}`);
    assert.equal(sess.headers['openai-beta'], undefined);
    assert.deepEqual(sess.texts[0], {
      type: 'session.update',
      session: {
        type: 'transcription',
        audio: {
          input: {
            format: { type: 'audio/pcm', rate: 24000 },
            transcription: { model: 'gpt-4o-transcribe', language: 'en', prompt: 'Outcall appointment reminders' },
            turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 600 },
          },
        },
      },
    });
    // 200 ms at 24 kHz is 4800 samples; the resampler holds back its filter's delay (a few ms).
    assert.ok(sess.audioBytes > 4500 * 2 && sess.audioBytes <= 4800 * 2, `audio bytes ${sess.audioBytes}`);
    // Silence only: the end marker (a no-op session.update) and no commit of silence.
    assert.deepEqual(types(sess.texts), ['session.update', 'session.update']);
  });

  test('8 kHz: audio/pcmu, no resampling, frames in push order', async () => {
    server.next({ kind: 'accept', openDelayMs: 100 });
    const s = createOpenAiStt(settings()).start({ sampleRate: 8000 });
    for (let i = 1; i <= 8; i++) s.push(frame(8000, i * 100));
    s.end();
    await collectEvents(s, GUARD);
    const sess = server.last;
    const fmt = (sess.texts[0] as { session: { audio: { input: { format: unknown } } } }).session.audio.input.format;
    assert.deepEqual(fmt, { type: 'audio/pcmu' });
    assert.equal(sess.audioBytes, 8 * 160, 'one mu-law byte per sample');
    const expected = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => decodeMuLaw(encodeMuLaw(new Int16Array([i * 100])))[0]);
    assert.deepEqual(sess.audio.map((b) => decodeMuLaw(new Uint8Array(b))[0]), expected);
  });

  test('an 8000 Hz call: accepted, transcribed through mu-law', { skip }, async () => {
    const rate = 8000;
    const s = createOpenAiStt(settings()).start({ sampleRate: rate });
    for (const f of toFrames(concat(silence(400, rate), atRate(await fliteSpeech(SENTENCE), rate), silence(1200, rate)), rate)) s.push(f);
    s.end();
    const events = await collectEvents(s, GUARD);
    assert.deepEqual(events.filter((e) => e.type === 'error'), []);
    const text = events.flatMap((e) => (e.type === 'final' ? [e.text] : [])).join(' ');
    console.log(`# openai local server at 8 kHz heard: "${text}" (key words: ${keyWordsHeard(text).join(', ') || 'none'})`);
  });

  test('final times are the speech itself: prefix padding and the closing silence are taken off the VAD times', { skip }, async () => {
    const rate = 16000;
    const clip = await fliteSpeech(SENTENCE);
    const lead = 700;
    const s = createOpenAiStt(settings({ options: { prefix_padding_ms: 200, silence_duration_ms: 700 } })).start({ sampleRate: rate });
    for (const f of toFrames(concat(silence(lead, rate), clip, silence(1500, rate)), rate)) s.push(f);
    s.end();
    const events = await collectEvents(s, GUARD);
    const finals = events.flatMap((e) => (e.type === 'final' ? [e] : []));
    assert.equal(finals.length, 1, JSON.stringify(events));
    const truth = audibleBounds(clip, rate);
    const f = finals[0] as (typeof finals)[0];
    // The server reported audio_start_ms = onset - 200 and audio_end_ms = end + 700: uncorrected, these would miss by that much.
    assert.ok(Math.abs(f.startMs - (lead + truth.onsetMs)) <= 60, `startMs ${f.startMs} vs onset ${lead + truth.onsetMs}`);
    assert.ok(Math.abs(f.endMs - (lead + truth.endMs)) <= 100, `endMs ${f.endMs} vs end ${lead + truth.endMs}`);
  });

  test('deltas become partials before the final; speech cut off by end() is committed', { skip }, async () => {
    const s = createOpenAiStt(settings()).start({ sampleRate: 16000 });
    for (const f of toFrames(concat(silence(300, 16000), await fliteSpeech(SENTENCE)), 16000)) s.push(f);
    s.end();
    const events = await collectEvents(s, GUARD);
    const firstFinal = events.findIndex((e) => e.type === 'final');
    assert.ok(firstFinal > 0 && events.slice(0, firstFinal).some((e) => e.type === 'partial'), JSON.stringify(events));
    assert.ok(types(server.last.texts).includes('input_audio_buffer.commit'), 'the client committed the speech in progress');
    console.log(`# openai local server: commit to completed ${timings.transcribeMs.map((m) => m.toFixed(0)).join(', ')} ms`);
  });
});

describe('openai stt: failures', () => {
  const run = async (srv: WsVendorServer = server, end = false) => {
    const s = createOpenAiStt(settings({}, srv)).start({ sampleRate: 16000 });
    for (let i = 0; i < 20; i++) s.push(frame(16000));
    if (end) s.end();
    return collectEvents(s, GUARD);
  };
  const accept = (fault: Fault) => server.next({ kind: 'accept', fault });

  test('401 at the upgrade: provider_auth_failed, the echoed key redacted', async () => {
    server.next({ kind: 'reject', status: 401, body: openAiErrorBody(`Incorrect API key provided: ${KEY}.`, 'invalid_request_error', 'invalid_api_key') });
    const err = expectError(await run(), 'provider_auth_failed', false);
    assert.match(err.message, /HTTP 401: Incorrect API key provided: \[redacted\]/);
  });

  test('429 at the upgrade: rate limited with retry-after', async () => {
    server.next({ kind: 'reject', status: 429, body: openAiErrorBody('Rate limit reached', 'requests', 'rate_limit_exceeded'), headers: { 'retry-after': '3' } });
    const err = expectError(await run(), 'provider_rate_limited', true);
    assert.ok(err instanceof ProviderRateLimitedError);
    assert.equal(err.retryAfterSeconds, 3);
  });

  test('500 at the upgrade: provider_unavailable', async () => {
    server.next({ kind: 'reject', status: 500, body: openAiErrorBody('The server had an error', 'server_error', null) });
    expectError(await run(), 'provider_unavailable', true);
  });

  test('an error event then a close: provider_failed with its message', async () => {
    accept({ kind: 'close', afterAudio: 5, code: 1011, reason: 'server error', message: { type: 'error', event_id: 'e1', error: { type: 'server_error', code: null, message: 'The server had an error while processing your request', param: null } } });
    const err = expectError(await run(), 'provider_failed', true);
    assert.match(err.message, /server had an error.*type server_error/);
  });

  test('an unknown model: provider_bad_request naming the param', async () => {
    const { server: strict } = await startOpenAiTranscriptionServer({ rejectModel: 'no-such-model' });
    try {
      const s = createOpenAiStt(settings({ model: 'no-such-model' }, strict)).start({ sampleRate: 16000 });
      s.push(frame(16000));
      const err = expectError(await collectEvents(s, GUARD), 'provider_bad_request', false);
      assert.match(err.message, /no-such-model.*param session\.audio\.input\.transcription\.model/);
    } finally {
      await strict.close();
    }
  });

  test('a failed transcription: provider_failed', { skip }, async () => {
    const { server: failing } = await startOpenAiTranscriptionServer({ failTranscription: true });
    try {
      const s = createOpenAiStt(settings({}, failing)).start({ sampleRate: 16000 });
      for (const f of toFrames(concat(await fliteSpeech(SENTENCE), silence(1000, 16000)), 16000)) s.push(f);
      const err = expectError(await collectEvents(s, GUARD), 'provider_failed', true);
      assert.match(err.message, /transcription failed: Audio file might be corrupted.*audio_unintelligible/);
    } finally {
      await failing.close();
    }
  });

  test('the connection dropped mid-stream: provider_failed, retryable', async () => {
    accept({ kind: 'drop', afterAudio: 5 });
    expectError(await run(), 'provider_failed', true);
  });

  test('a malformed frame: an error event, not a crash', async () => {
    accept({ kind: 'malformed', afterAudio: 5, text: '{"type": "conversation.item' });
    expectError(await run(), 'provider_failed', true);
  });

  upgradeNeverAnsweredTest({
    server,
    start: (clock, timeoutMs) => createOpenAiStt(settings({ options: { connect_timeout_ms: timeoutMs } }), { clock }).start({ sampleRate: 8000 }),
    frame: () => frame(8000),
    timeoutMs: 1500,
    guardMs: GUARD,
    key: KEY,
  });

  test('no final after end(): provider_timeout after end_timeout_ms (virtual clock)', async () => {
    server.next({ kind: 'accept', mute: true });
    const clock = new VirtualClock();
    const s = createOpenAiStt(settings({ options: { end_timeout_ms: 4000 } }), { clock }).start({ sampleRate: 16000 });
    s.push(frame(16000));
    const done = collectEvents(s, GUARD);
    await until(() => server.sessions.length > 0 && server.last.audioMessages >= 1, 'the audio to reach the server');
    s.end();
    await clock.advanceAsync(3999);
    assert.ok(!server.last.isClosed, 'still waiting at 3999 ms');
    await clock.advanceAsync(1);
    const err = expectError(await done, 'provider_timeout', true);
    assert.match(err.message, /4000 ms after the end of the audio/);
  });

  abortClosesSocketTest('openai', { start: (signal) => createOpenAiStt(settings()).start({ sampleRate: 16000, signal }), server, frame: () => frame(16000, 1000), minMessages: 10, guardMs: GUARD });

  test('settings: missing key, bad options, defaults', () => {
    assert.throws(() => createOpenAiStt({ provider: 'openai' }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_auth_failed' && /OPENAI_API_KEY/.test(e.message));
    const bads: Array<Record<string, string | number | boolean>> = [{ prompt: 1 }, { vad_threshold: 1.5 }, { silence_duration_ms: 20 }, { noise_reduction: 'loud' }, { connect_timeout_ms: 0 }];
    for (const options of bads) {
      assert.throws(() => checkOpenAiSttSettings({ provider: 'openai', options }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request', JSON.stringify(options));
    }
    const d = checkOpenAiSttSettings({ provider: 'openai', base_url: 'https://api.openai.com/v1/' });
    assert.deepEqual([d.baseUrl, d.model, d.silenceDurationMs, d.connectTimeoutMs, d.endTimeoutMs], ['wss://api.openai.com/v1', 'gpt-4o-transcribe', 500, 3000, 10_000]);
  });
});

const liveKey = process.env.OPENAI_API_KEY;
test('openai stt LIVE: 8 kHz phone audio is transcribed', { skip: liveKey ? skip : 'OPENAI_API_KEY is not set: the live OpenAI test needs a real key and network access' }, async () => {
  const rate = 8000;
  const s = createOpenAiStt({ provider: 'openai', api_key: liveKey as string, language: 'en-US' }).start({ sampleRate: rate });
  const audio = concat(silence(300, rate), atRate(await fliteSpeech(SENTENCE), rate), silence(1500, rate));
  for (const f of toFrames(audio, rate)) s.push(f);
  s.end();
  const events = await collectEvents(s, GUARD);
  assert.deepEqual(events.filter((e) => e.type === 'error'), []);
  const text = events.flatMap((e) => (e.type === 'final' ? [e.text] : [])).join(' ');
  assert.ok(keyWordsHeard(text).length >= 3, `heard "${text}"`);
});
