import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { decodeMuLaw, encodeMuLaw } from '../../src/media/g711.js';
import { collectEvents, keyWordsHeard, sttConformance } from './conformance/stt.js';
import { atRate, concat, fliteSpeech, silence, toFrames } from './conformance/audio.js';
import { ProviderError } from '../../src/providers/errors.js';
import { ProviderRateLimitedError } from '../../src/providers/llm/http-errors.js';
import { assemblyAiErrorBody, checkAssemblyAiSttSettings, createAssemblyAiStt } from '../../src/providers/stt/assemblyai.js';
import type { ResolvedProviderSettings } from '../../src/providers/settings.js';
import type { SttEvent, SttStream } from '../../src/providers/stt/types.js';
import { startAssemblyAiServer } from '../helpers/assemblyai-protocol-server.js';
import { skipReason } from '../helpers/require-tool.js';
import { abortClosesSocketTest, assertProviderError as providerErrorOf, until, upgradeNeverAnsweredTest } from '../helpers/stt-assert.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import type { Fault } from '../helpers/ws-vendor-server.js';

const KEY = 'aai-test-0123456789abcdefSECRET';
const skip = skipReason('pocketsphinx_continuous') || skipReason('flite');
const GUARD = 30_000;
const SENTENCE = 'please confirm my appointment on tuesday';

// Top-level: the conformance suite builds its provider when registered, and needs the server's port.
const aai = await startAssemblyAiServer({ apiKey: KEY });
const { server, script, timings } = aai;
after(() => server.close());

const settings = (o: Partial<ResolvedProviderSettings> = {}): ResolvedProviderSettings => ({ provider: 'assemblyai', api_key: KEY, base_url: server.baseUrl, ...o });
const expectError = (events: SttEvent[], code: string, retryable: boolean) => providerErrorOf(events, code, retryable, KEY);

sttConformance('assemblyai (local protocol server)', () => createAssemblyAiStt(settings()), { skip, sampleRate: 16000, unsupportedRate: 44100, hangGuardMs: GUARD });

/** One 20 ms frame whose samples are `value + i` (so order and content can be checked sample by sample). */
const frame = (rate: number, value = 0) => Int16Array.from({ length: rate / 50 }, (_, i) => value + i);
const joined = (frames: Int16Array[]) => concat(...frames);

/** Pushes 20 ms frames at real-time pace, as a call does. */
async function pushPaced(s: SttStream, pcm: Int16Array, rate: number): Promise<void> {
  const t0 = performance.now();
  const frames = toFrames(pcm, rate);
  for (let i = 0; i < frames.length; i++) {
    s.push(frames[i] as Int16Array);
    const due = t0 + (i + 1) * 20 - performance.now();
    if (due > 0) await new Promise((r) => setTimeout(r, due));
  }
}

describe('assemblyai stt: what goes on the wire', () => {
  test('query and auth header; 16 kHz pcm_s16le in 50 ms messages, audio pushed before the socket opened arrives in order and unchanged', async () => {
    server.next({ kind: 'accept', openDelayMs: 150 });
    const stt = createAssemblyAiStt(settings({ options: { keyterms: 'Outcall, Dr. Lee ,appointment', end_of_turn_confidence_threshold: 0.5, max_turn_silence: 1200, min_end_of_turn_silence_when_confident: 300 } }));
    const s = stt.start({ sampleRate: 16000 });
    const pushed = Array.from({ length: 10 }, (_, i) => frame(16000, (i + 1) * 1000));
    for (const f of pushed) s.push(f); // synchronous, before the upgrade is answered
    s.end();
    const events = await collectEvents(s, GUARD);
    assert.deepEqual(events.map((e) => e.type), ['closed']);
    const sess = server.last;
    assert.equal(sess.path, '/v3/ws');
    assert.equal(sess.headers.authorization, KEY, 'the key is the whole Authorization header');
    assert.deepEqual(Object.fromEntries(sess.query), {
      sample_rate: '16000', encoding: 'pcm_s16le', speech_model: 'universal-streaming-english', format_turns: 'false',
      end_of_turn_confidence_threshold: '0.5', min_end_of_turn_silence_when_confident: '300', max_turn_silence: '1200',
      keyterms_prompt: '["Outcall","Dr. Lee","appointment"]',
    });
    assert.ok(!stt.streamUrl(16000).includes(KEY), 'the URL carries no secret');
    // 200 ms in 20 ms frames: four 50 ms messages, sample for sample what was pushed.
    assert.deepEqual(aai.messageMs(sess), [50, 50, 50, 50]);
    assert.deepEqual(aai.received(sess), joined(pushed));
    assert.deepEqual(sess.texts, [{ type: 'ForceEndpoint' }, { type: 'Terminate' }], 'ForceEndpoint and Terminate after the audio');
  });

  test('8 kHz goes as pcm_mulaw with no resampling; the tail is padded with silence to the 50 ms minimum', async () => {
    const s = createAssemblyAiStt(settings()).start({ sampleRate: 8000 });
    const pushed = Array.from({ length: 7 }, (_, i) => frame(8000, (i - 3) * 3000)); // 140 ms, both signs
    for (const f of pushed) s.push(f);
    s.end();
    assert.deepEqual((await collectEvents(s, GUARD)).map((e) => e.type), ['closed']);
    const sess = server.last;
    assert.equal(sess.query.get('encoding'), 'pcm_mulaw');
    assert.equal(sess.query.get('sample_rate'), '8000');
    assert.deepEqual(aai.messageMs(sess), [50, 50, 50], '50 + 50 + a 40 ms tail padded to 50');
    assert.equal(sess.audioBytes, 3 * 400, 'one byte per sample');
    const got = aai.received(sess);
    const sent = joined(pushed);
    // mu-law is lossy: the server must hear exactly what G.711 makes of the pushed samples.
    assert.deepEqual(got.subarray(0, sent.length), decodeMuLaw(encodeMuLaw(sent)));
    assert.ok(got.subarray(sent.length).every((v) => v === 0), 'padding is silence');
  });

  test('chunk_ms sets the message length; an http(s) base_url becomes ws(s); keywords is taken as keyterms', async () => {
    const stt = createAssemblyAiStt(settings({ base_url: server.baseUrl.replace('ws://', 'http://'), options: { chunk_ms: 100, keywords: 'Outcall' } }));
    const s = stt.start({ sampleRate: 16000 });
    for (let i = 0; i < 10; i++) s.push(frame(16000, i));
    s.end();
    assert.deepEqual((await collectEvents(s, GUARD)).map((e) => e.type), ['closed']);
    assert.deepEqual(aai.messageMs(server.last), [100, 100]);
    assert.equal(server.last.query.get('keyterms_prompt'), '["Outcall"]');
  });

  test('the server really enforces 50..1000 ms per message (so the chunking above is what keeps a session alive)', async () => {
    // A raw client sending one 20 ms frame, as an adapter without chunking would.
    const ws = new WebSocket(`${server.baseUrl}/ws?sample_rate=16000&encoding=pcm_s16le&speech_model=universal-streaming-english`, { headers: { Authorization: KEY } });
    const messages: unknown[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    ws.send(Buffer.alloc(640));
    const [code] = (await new Promise((r) => ws.once('close', (c, reason) => r([c, String(reason)])))) as [number, string];
    assert.equal(code, 3007);
    assert.deepEqual(messages.at(-1), { type: 'Error', error_code: 3007, error: 'Input duration violation: 20 ms. Expected between 50 and 1000 ms' });
  });

  test('interim Turns become partials before the final; the final is the end_of_turn text, with word times', { skip }, async () => {
    script.hear(SENTENCE);
    const s = createAssemblyAiStt(settings()).start({ sampleRate: 16000 });
    const lead = 300;
    for (const f of toFrames(concat(silence(lead, 16000), await fliteSpeech(SENTENCE), silence(1200, 16000)), 16000)) s.push(f);
    s.end();
    const events = await collectEvents(s, GUARD);
    assert.deepEqual(events.filter((e) => e.type === 'error'), []);
    const finals = events.filter((e) => e.type === 'final');
    assert.deepEqual(finals.map((f) => f.text), [SENTENCE]);
    const firstFinal = events.findIndex((e) => e.type === 'final');
    const partials = events.slice(0, firstFinal).flatMap((e) => (e.type === 'partial' ? [e.text] : []));
    assert.deepEqual(partials, ['please', 'please confirm', 'please confirm my', 'please confirm my appointment', 'please confirm my appointment on', SENTENCE]);
    const f = finals[0];
    assert.ok(f && f.startMs >= lead - 200 && f.endMs > f.startMs && f.confidence !== undefined, JSON.stringify(f));
    console.log(`# assemblyai local server: settle after Terminate ${timings.settleMs.map((m) => m.toFixed(0)).join(', ')} ms`);
  });

  test('format_turns: the formatted Turn is the final, the unformatted end of turn only a partial', { skip }, async () => {
    script.hear(SENTENCE);
    const s = createAssemblyAiStt(settings({ options: { format_turns: true } })).start({ sampleRate: 16000 });
    for (const f of toFrames(concat(silence(300, 16000), await fliteSpeech(SENTENCE), silence(1200, 16000)), 16000)) s.push(f);
    s.end();
    const events = await collectEvents(s, GUARD);
    assert.equal(server.last.query.get('format_turns'), 'true');
    assert.deepEqual(events.filter((e) => e.type === 'error'), []);
    const texts = (type: 'partial' | 'final') => events.flatMap((e) => (e.type === type ? [e.text] : []));
    assert.deepEqual(texts('final'), ['Please confirm my appointment on tuesday.']);
    assert.equal(texts('partial').at(-1), SENTENCE, 'the unformatted end of turn was shown as a partial');
    assert.ok(events.findIndex((e) => e.type === 'partial' && e.text === SENTENCE) < events.findIndex((e) => e.type === 'final'));
  });

  test('an 8 kHz call is heard (scripted text, boundaries from the real narrowband audio)', { skip }, async () => {
    const scripted = await startAssemblyAiServer({ apiKey: KEY, scripted: true });
    try {
      scripted.script.hear(SENTENCE);
      const rate = 8000;
      const lead = 400;
      const audio = concat(silence(lead, rate), atRate(await fliteSpeech(SENTENCE), rate), silence(1200, rate));
      const s = createAssemblyAiStt(settings({ base_url: scripted.server.baseUrl })).start({ sampleRate: rate });
      for (const f of toFrames(audio, rate)) s.push(f);
      s.end();
      const events = await collectEvents(s, GUARD);
      assert.deepEqual(events.filter((e) => e.type === 'error'), []);
      const finals = events.flatMap((e) => (e.type === 'final' ? [e] : []));
      assert.deepEqual(finals.map((f) => f.text), [SENTENCE]);
      const f = finals[0];
      assert.ok(f && f.startMs >= lead - 200 && f.endMs <= (audio.length * 1000) / rate, JSON.stringify(f));
      assert.equal(scripted.server.last.query.get('encoding'), 'pcm_mulaw');
    } finally {
      await scripted.server.close();
    }
  });
});

describe('assemblyai stt: failures', () => {
  const run = async (o: Partial<ResolvedProviderSettings> = {}, frames = 20, end = false) => {
    const s = createAssemblyAiStt(settings(o)).start({ sampleRate: 16000 });
    for (let i = 0; i < frames; i++) s.push(frame(16000));
    if (end) s.end();
    return collectEvents(s, GUARD);
  };
  const closeAfter = (code: number, reason: string, message?: unknown): Fault => ({ kind: 'close', afterAudio: 2, code, reason, ...(message !== undefined ? { message } : {}) });

  test('401 at the upgrade: provider_auth_failed with the body\'s text, key redacted', async () => {
    server.next({ kind: 'reject', status: 401, body: { error: `Invalid API key ${KEY}` } });
    const err = expectError(await run(), 'provider_auth_failed', false);
    assert.match(err.message, /HTTP 401: Invalid API key \[redacted\]/);
  });

  test('429 at the upgrade: rate limited, retryable, with retry-after', async () => {
    server.next({ kind: 'reject', status: 429, body: { status: 429, title: 'Too Many Requests', detail: 'new session rate exceeded' }, headers: { 'retry-after': '7' } });
    const err = expectError(await run(), 'provider_rate_limited', true);
    assert.ok(err instanceof ProviderRateLimitedError);
    assert.equal(err.retryAfterSeconds, 7);
    assert.match(err.message, /Too Many Requests: new session rate exceeded/);
  });

  test('503 at the upgrade: provider_unavailable', async () => {
    server.next({ kind: 'reject', status: 503, body: 'upstream unavailable' });
    expectError(await run(), 'provider_unavailable', true);
  });

  test('a wrong key: the server closes 1008 Unauthorized Connection: provider_auth_failed, not retryable', async () => {
    const err = expectError(await run({ api_key: 'not-the-key' }), 'provider_auth_failed', false);
    assert.match(err.message, /1008 Unauthorized Connection: Missing Authorization header/);
  });

  test('1008 Too many concurrent sessions: rate limited and retryable, not an auth failure', async () => {
    server.next({ kind: 'accept', fault: closeAfter(1008, 'Unauthorized Connection: Too many concurrent sessions') });
    const err = expectError(await run(), 'provider_rate_limited', true);
    assert.ok(err instanceof ProviderRateLimitedError);
  });

  test('an Error message then close 3009: rate limited, with the Error message\'s text', async () => {
    server.next({ kind: 'accept', fault: closeAfter(3009, 'See Error message for details', { type: 'Error', error_code: 3009, error: 'Unauthorized Connection: Too many concurrent sessions' }) });
    const err = expectError(await run(), 'provider_rate_limited', true);
    assert.match(err.message, /3009 Unauthorized Connection: Too many concurrent sessions/);
  });

  test('Error 3005 (server error): provider_failed, retryable; a key echoed in it is redacted', async () => {
    server.next({ kind: 'accept', fault: closeAfter(3005, 'Session Cancelled: An error occurred', { type: 'Error', error_code: 3005, error: `Session Cancelled: An error occurred for ${KEY}` }) });
    const err = expectError(await run(), 'provider_failed', true);
    assert.match(err.message, /3005 Session Cancelled: An error occurred for \[redacted\]/);
  });

  test('Error 3007 (input duration violation): provider_bad_request, not retryable', async () => {
    const text = 'Input duration violation: 20 ms. Expected between 50 and 1000 ms';
    server.next({ kind: 'accept', fault: closeAfter(3007, text, { type: 'Error', error_code: 3007, error: text }) });
    expectError(await run(), 'provider_bad_request', false);
  });

  test('older docs: close 3005 with an input duration reason and no Error message is a bad request too', async () => {
    server.next({ kind: 'accept', fault: closeAfter(3005, 'Input duration violation: 1200 ms. Expected between 50 and 1000 ms') });
    expectError(await run(), 'provider_bad_request', false);
  });

  test('3008 session expired: provider_failed, retryable (a new session can carry on)', async () => {
    server.next({ kind: 'accept', fault: closeAfter(3008, 'Session Expired: Maximum session duration exceeded') });
    const err = expectError(await run(), 'provider_failed', true);
    assert.match(err.message, /3008 Session Expired/);
  });

  test('Termination before end(): provider_failed (the call is still talking)', async () => {
    server.next({ kind: 'accept', fault: closeAfter(1000, '', { type: 'Termination', audio_duration_seconds: 0, session_duration_seconds: 1 }) });
    const err = expectError(await run(), 'provider_failed', true);
    assert.match(err.message, /terminated the session while audio was still flowing/);
  });

  test('the connection dropped mid-stream: provider_failed, retryable', async () => {
    server.next({ kind: 'accept', fault: { kind: 'drop', afterAudio: 2 } });
    const err = expectError(await run(), 'provider_failed', true);
    assert.match(err.message, /dropped/);
  });

  test('a malformed frame: an error event, not a crash', async () => {
    server.next({ kind: 'accept', fault: { kind: 'malformed', afterAudio: 2, text: '{"type": "Turn", "words": ' } });
    const err = expectError(await run(), 'provider_failed', true);
    assert.match(err.message, /bad message/);
  });

  test('a clean close before end(): provider_failed (the call is still talking)', async () => {
    server.next({ kind: 'accept', fault: closeAfter(1000, '') });
    expectError(await run(), 'provider_failed', true);
  });

  upgradeNeverAnsweredTest({
    server,
    start: (clock, timeoutMs) => createAssemblyAiStt(settings({ options: { connect_timeout_ms: timeoutMs } }), { clock }).start({ sampleRate: 16000 }),
    frame: () => frame(16000),
    timeoutMs: 2500,
    guardMs: GUARD,
    key: KEY,
  });

  test('slow first message: a session whose Begin does not come within connect_timeout_ms is a timeout (virtual clock)', async () => {
    script.behave({ beginDelayMs: 60_000 });
    const before = server.sessions.length;
    const clock = new VirtualClock();
    const s = createAssemblyAiStt(settings({ options: { connect_timeout_ms: 2500 } }), { clock }).start({ sampleRate: 16000 });
    const events: SttEvent[] = [];
    const done = (async () => {
      for await (const e of s) events.push(e);
      return events;
    })();
    for (let i = 0; i < 3; i++) s.push(frame(16000));
    await until(() => server.sessions.length > before && server.last.audioMessages >= 1, 'the socket to open and audio to flow');
    const sess = server.last;
    await clock.advanceAsync(2499);
    assert.deepEqual(events, [], 'open, audio flowing, no Begin yet: still waiting at 2499 ms');
    await clock.advanceAsync(1);
    const err = expectError(await done, 'provider_timeout', true);
    assert.match(err.message, /did not begin within 2500 ms/);
    await sess.closed;
  });

  test('a Begin that is late but within the deadline: the stream works and no audio is lost', async () => {
    script.behave({ beginDelayMs: 300 });
    const s = createAssemblyAiStt(settings({ options: { connect_timeout_ms: 3000 } })).start({ sampleRate: 16000 });
    const pushed = Array.from({ length: 6 }, (_, i) => frame(16000, i * 500));
    for (const f of pushed) s.push(f);
    s.end();
    assert.deepEqual((await collectEvents(s, GUARD)).map((e) => e.type), ['closed']);
    assert.deepEqual(aai.received(server.last), concat(joined(pushed), new Int16Array(480)), '100 ms, then a 20 ms tail padded to 50 ms');
  });

  test('nothing listening: provider_unavailable', async () => {
    const s = createAssemblyAiStt(settings({ base_url: 'ws://127.0.0.1:9/v3' })).start({ sampleRate: 16000 });
    expectError(await collectEvents(s, GUARD), 'provider_unavailable', true);
  });

  test('no Termination after end(): provider_timeout after end_timeout_ms (virtual clock)', async () => {
    script.behave({ ignoreTerminate: true });
    const before = server.sessions.length;
    const clock = new VirtualClock();
    // A long connect deadline: only the end deadline is under test here.
    const s = createAssemblyAiStt(settings({ options: { end_timeout_ms: 4000, connect_timeout_ms: 60_000 } }), { clock }).start({ sampleRate: 16000 });
    for (let i = 0; i < 3; i++) s.push(frame(16000));
    const done = collectEvents(s, GUARD);
    await until(() => server.sessions.length > before && server.last.audioMessages >= 1, 'the audio to reach the server');
    s.end();
    await until(() => server.last.texts.length >= 2, 'Terminate to reach the server');
    await clock.advanceAsync(3999);
    assert.ok(!server.last.isClosed, 'still waiting at 3999 ms');
    await clock.advanceAsync(1);
    const err = expectError(await done, 'provider_timeout', true);
    assert.match(err.message, /4000 ms after the end of the audio/);
  });

  abortClosesSocketTest('assemblyai', { start: (signal) => createAssemblyAiStt(settings()).start({ sampleRate: 16000, signal }), server, frame: () => frame(16000, 100), minMessages: 4, guardMs: GUARD });

  test('settings: missing key, bad options, languages the model does not hear', () => {
    assert.throws(() => createAssemblyAiStt({ provider: 'assemblyai' }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_auth_failed' && /ASSEMBLYAI_API_KEY/.test(e.message));
    const bads: Array<Record<string, string | number | boolean>> = [
      { end_of_turn_confidence_threshold: 1.5 }, { end_of_turn_confidence_threshold: 'high' }, { max_turn_silence: -1 }, { max_turn_silence: 20_000 },
      { min_end_of_turn_silence_when_confident: 'soon' }, { chunk_ms: 20 }, { chunk_ms: 1001 }, { chunk_ms: 62.5 }, { keyterms: 3 }, { format_turns: 'yes' },
      { vad_threshold: 2 }, { connect_timeout_ms: 0 },
    ];
    for (const options of bads) {
      assert.throws(() => checkAssemblyAiSttSettings({ provider: 'assemblyai', options }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request', JSON.stringify(options));
    }
    assert.throws(() => checkAssemblyAiSttSettings({ provider: 'assemblyai', base_url: 'ftp://x' }), /base_url/);
    assert.throws(() => checkAssemblyAiSttSettings({ provider: 'assemblyai', language: 'de-DE' }), /universal-streaming-english does not hear 'de-DE'/);
    assert.doesNotThrow(() => checkAssemblyAiSttSettings({ provider: 'assemblyai', model: 'universal-streaming-multilingual', language: 'de-DE' }));
    assert.doesNotThrow(() => checkAssemblyAiSttSettings({ provider: 'assemblyai', model: 'some-future-model', language: 'ja-JP' }), 'models we do not know are not second-guessed');
    // The call's language is checked at start, synchronously.
    const stt = createAssemblyAiStt(settings());
    assert.throws(() => stt.start({ sampleRate: 16000, language: 'fr-FR' }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request');
    const d = checkAssemblyAiSttSettings({ provider: 'assemblyai' });
    assert.deepEqual([d.baseUrl, d.model, d.formatTurns, d.chunkMs, d.connectTimeoutMs, d.endTimeoutMs, d.keyterms], ['wss://streaming.assemblyai.com/v3', 'universal-streaming-english', false, 50, 3000, 5000, []]);
    assert.equal(createAssemblyAiStt({ provider: 'assemblyai', api_key: 'k' }).streamUrl(8000), 'wss://streaming.assemblyai.com/v3/ws?sample_rate=8000&encoding=pcm_mulaw&speech_model=universal-streaming-english&format_turns=false');
  });

  test('error bodies: {"error"} and {"title","detail"} shapes become a message; other text passes through', () => {
    assert.equal(assemblyAiErrorBody('{"error":"Invalid API key"}'), '{"error":{"message":"Invalid API key"}}');
    assert.equal(assemblyAiErrorBody('{"status":429,"title":"Too Many Requests","detail":"slow down"}'), '{"error":{"message":"Too Many Requests: slow down"}}');
    assert.equal(assemblyAiErrorBody('gateway timeout'), 'gateway timeout');
  });
});

const liveKey = process.env.ASSEMBLYAI_API_KEY;
test('assemblyai stt LIVE: 8 kHz phone audio is recognized', { skip: liveKey ? skipReason('flite') : 'ASSEMBLYAI_API_KEY is not set: the live AssemblyAI test needs a real key and network access' }, async () => {
  const rate = 8000;
  const s = createAssemblyAiStt({ provider: 'assemblyai', api_key: liveKey as string, options: { connect_timeout_ms: 10_000, end_timeout_ms: 10_000 } }).start({ sampleRate: rate });
  const events: SttEvent[] = [];
  const done = collectEvents(s, 60_000).then((e) => events.push(...e));
  // Real time: AssemblyAI ends a session fed faster than real time ("Audio Transmission Rate Exceeded").
  await pushPaced(s, concat(silence(300, rate), atRate(await fliteSpeech(SENTENCE), rate), silence(1500, rate)), rate);
  s.end();
  await done;
  assert.deepEqual(events.filter((e) => e.type === 'error'), []);
  const text = events.flatMap((e) => (e.type === 'final' ? [e.text] : [])).join(' ');
  assert.ok(keyWordsHeard(text).length >= 3, `heard "${text}"`);
});
