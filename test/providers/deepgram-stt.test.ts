import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collectEvents, keyWordsHeard, sttConformance } from './conformance/stt.js';
import { atRate, concat, fliteSpeech, silence, toFrames } from './conformance/audio.js';
import { ProviderError } from '../../src/providers/errors.js';
import { ProviderRateLimitedError } from '../../src/providers/llm/http-errors.js';
import { checkDeepgramSttSettings, createDeepgramStt } from '../../src/providers/stt/deepgram.js';
import type { ResolvedProviderSettings } from '../../src/providers/settings.js';
import type { SttEvent } from '../../src/providers/stt/types.js';
import { deepgramErrorBody, startDeepgramServer } from '../helpers/deepgram-protocol-server.js';
import { skipReason } from '../helpers/require-tool.js';
import { abortClosesSocketTest, assertProviderError as providerErrorOf, until, upgradeNeverAnsweredTest } from '../helpers/stt-assert.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import type { Fault } from '../helpers/ws-vendor-server.js';

const KEY = 'dg-test-0123456789abcdefSECRET';
const skip = skipReason('pocketsphinx_continuous') || skipReason('flite');
const GUARD = 30_000;

// Top-level: the conformance suite builds its provider when registered, and needs the server's port.
const { server, timings } = await startDeepgramServer({ apiKey: KEY });
after(() => server.close());

const settings = (o: Partial<ResolvedProviderSettings> = {}): ResolvedProviderSettings => ({ provider: 'deepgram', api_key: KEY, base_url: server.baseUrl, ...o });
const expectError = (events: SttEvent[], code: string, retryable: boolean) => providerErrorOf(events, code, retryable, KEY);

sttConformance('deepgram (local protocol server)', () => createDeepgramStt(settings()), { skip, sampleRate: 16000, unsupportedRate: 44100, hangGuardMs: GUARD });

const frame = (rate: number, value = 0) => new Int16Array(rate / 50).fill(value);

describe('deepgram stt: what goes on the wire', () => {
  test('query, auth header, keyterm on nova-3; audio pushed before the socket opened arrives in order', async () => {
    server.next({ kind: 'accept', openDelayMs: 150 });
    const stt = createDeepgramStt(settings({ language: 'en-GB', options: { keywords: 'Outcall, appointment', utterance_end_ms: 1000, endpointing_ms: 450 } }));
    const s = stt.start({ sampleRate: 16000 });
    for (let i = 1; i <= 10; i++) s.push(frame(16000, i)); // synchronous, before the upgrade is answered
    s.end();
    const events = await collectEvents(s, GUARD);
    assert.deepEqual(events.map((e) => e.type), ['closed']);
    const sess = server.last;
    assert.equal(sess.path, '/v1/listen');
    assert.equal(sess.headers.authorization, `Token ${KEY}`);
    const q = Object.fromEntries([...sess.query.keys()].map((k) => [k, sess.query.getAll(k).join('|')]));
    assert.deepEqual(q, {
      encoding: 'linear16', sample_rate: '16000', channels: '1', model: 'nova-3', language: 'en-GB', interim_results: 'true',
      endpointing: '450', smart_format: 'true', punctuate: 'true', utterance_end_ms: '1000', keyterm: 'Outcall|appointment',
    });
    assert.deepEqual(sess.audio.map((b) => b.readInt16LE(0)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(sess.audioBytes, 10 * 320 * 2);
    assert.deepEqual(sess.texts, [{ type: 'CloseStream' }], 'CloseStream after the audio');
  });

  test('older models get keywords, not keyterm; an http(s) base_url becomes ws(s)', async () => {
    const stt = createDeepgramStt(settings({ model: 'nova-2-phonecall', base_url: server.baseUrl.replace('ws://', 'http://'), options: { keywords: 'Outcall' } }));
    const s = stt.start({ sampleRate: 8000 });
    s.end();
    assert.deepEqual((await collectEvents(s, GUARD)).map((e) => e.type), ['closed']);
    assert.deepEqual(server.last.query.getAll('keywords'), ['Outcall']);
    assert.equal(server.last.query.get('keyterm'), null);
    assert.equal(server.last.query.get('model'), 'nova-2-phonecall');
  });

  test('an 8000 Hz stream is accepted and sent as sample_rate=8000', { skip }, async () => {
    const rate = 8000;
    const audio = concat(silence(400, rate), atRate(await fliteSpeech('please confirm my appointment on tuesday'), rate), silence(1200, rate));
    const s = createDeepgramStt(settings()).start({ sampleRate: rate });
    const frames = toFrames(audio, rate);
    for (const f of frames) s.push(f);
    s.end();
    const events = await collectEvents(s, GUARD);
    assert.equal(server.last.query.get('sample_rate'), '8000');
    assert.equal(server.last.audioBytes, frames.length * 160 * 2);
    assert.deepEqual(events.filter((e) => e.type === 'error'), []);
    const text = events.flatMap((e) => (e.type === 'final' ? [e.text] : [])).join(' ');
    // Upsampled narrowband is hard for pocketsphinx's 16 kHz model: report what it heard, require only a clean stream.
    console.log(`# deepgram local server at 8 kHz heard: "${text}" (key words: ${keyWordsHeard(text).join(', ') || 'none'})`);
  });

  test('interim Results become partials before the final', { skip }, async () => {
    const s = createDeepgramStt(settings()).start({ sampleRate: 16000 });
    for (const f of toFrames(concat(silence(300, 16000), await fliteSpeech('please confirm my appointment on tuesday'), silence(1200, 16000)), 16000)) s.push(f);
    s.end();
    const events = await collectEvents(s, GUARD);
    const firstFinal = events.findIndex((e) => e.type === 'final');
    assert.ok(firstFinal > 0 && events.slice(0, firstFinal).some((e) => e.type === 'partial'), JSON.stringify(events));
    console.log(`# deepgram local server: settle after CloseStream ${timings.settleMs.map((m) => m.toFixed(0)).join(', ')} ms`);
  });
});

describe('deepgram stt: failures', () => {
  const run = async (fault: Fault | undefined, frames = 20, end = false) => {
    const s = createDeepgramStt(settings()).start({ sampleRate: 16000 });
    for (let i = 0; i < frames; i++) s.push(frame(16000));
    if (end) s.end();
    return collectEvents(s, GUARD);
  };

  test('401 at the upgrade: provider_auth_failed with Deepgram\'s err_msg', async () => {
    server.next({ kind: 'reject', status: 401, body: deepgramErrorBody('INVALID_AUTH', `Invalid credentials for ${KEY}.`), headers: { 'dg-error': 'Invalid credentials.' } });
    const err = expectError(await run(undefined), 'provider_auth_failed', false);
    assert.match(err.message, /HTTP 401: Invalid credentials for \[redacted\]\..*INVALID_AUTH/);
  });

  test('429 at the upgrade: rate limited, retryable, with retry-after', async () => {
    server.next({ kind: 'reject', status: 429, body: deepgramErrorBody('TOO_MANY_REQUESTS', 'Too many concurrent requests'), headers: { 'retry-after': '7' } });
    const err = expectError(await run(undefined), 'provider_rate_limited', true);
    assert.ok(err instanceof ProviderRateLimitedError);
    assert.equal(err.retryAfterSeconds, 7);
    assert.match(err.message, /Too many concurrent requests/);
  });

  test('503 at the upgrade: provider_unavailable', async () => {
    server.next({ kind: 'reject', status: 503, body: deepgramErrorBody('SERVICE_UNAVAILABLE', 'try later') });
    expectError(await run(undefined), 'provider_unavailable', true);
  });

  test('close 1008 (DATA-0000): provider_bad_request', async () => {
    server.next({ kind: 'accept', fault: { kind: 'close', afterAudio: 5, code: 1008, reason: 'DATA-0000: could not decode audio' } });
    const err = expectError(await run(undefined), 'provider_bad_request', false);
    assert.match(err.message, /1008 DATA-0000/);
  });

  test('close 1011 NET-0001: provider_timeout', async () => {
    server.next({ kind: 'accept', fault: { kind: 'close', afterAudio: 5, code: 1011, reason: 'NET-0001: no audio received' } });
    expectError(await run(undefined), 'provider_timeout', true);
  });

  test('a vendor Error message then a close: provider_failed carrying its description', async () => {
    server.next({ kind: 'accept', fault: { kind: 'close', afterAudio: 5, code: 1011, reason: 'NET-0000', message: { type: 'Error', variant: 'NET-0000', description: 'internal server error', message: 'retry' } } });
    const err = expectError(await run(undefined), 'provider_failed', true);
    assert.match(err.message, /NET-0000: internal server error/);
  });

  test('the connection dropped mid-stream: provider_failed, retryable', async () => {
    server.next({ kind: 'accept', fault: { kind: 'drop', afterAudio: 5 } });
    expectError(await run(undefined), 'provider_failed', true);
  });

  test('a malformed frame: an error event, not a crash', async () => {
    server.next({ kind: 'accept', fault: { kind: 'malformed', afterAudio: 5 } });
    const err = expectError(await run(undefined), 'provider_failed', true);
    assert.match(err.message, /bad message/);
  });

  test('a clean close before end(): provider_failed (the call is still talking)', async () => {
    server.next({ kind: 'accept', fault: { kind: 'close', afterAudio: 5, code: 1000, reason: '' } });
    expectError(await run(undefined), 'provider_failed', true);
  });

  upgradeNeverAnsweredTest({
    server,
    start: (clock, timeoutMs) => createDeepgramStt(settings({ options: { connect_timeout_ms: timeoutMs } }), { clock }).start({ sampleRate: 16000 }),
    frame: () => frame(16000),
    timeoutMs: 2500,
    guardMs: GUARD,
    key: KEY,
  });

  test('nothing listening: provider_unavailable', async () => {
    const s = createDeepgramStt(settings({ base_url: 'ws://127.0.0.1:9/v1' })).start({ sampleRate: 16000 });
    expectError(await collectEvents(s, GUARD), 'provider_unavailable', true);
  });

  test('no final after end(): provider_timeout after end_timeout_ms (virtual clock)', async () => {
    server.next({ kind: 'accept', mute: true });
    const clock = new VirtualClock();
    const s = createDeepgramStt(settings({ options: { end_timeout_ms: 4000 } }), { clock }).start({ sampleRate: 16000 });
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

  abortClosesSocketTest('deepgram', { start: (signal) => createDeepgramStt(settings()).start({ sampleRate: 16000, signal }), server, frame: () => frame(16000, 100), minMessages: 10, guardMs: GUARD });

  test('settings: missing key, bad options', () => {
    assert.throws(() => createDeepgramStt({ provider: 'deepgram' }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_auth_failed' && /DEEPGRAM_API_KEY/.test(e.message));
    const bads: Array<Record<string, string | number | boolean>> = [{ endpointing_ms: 'fast' }, { endpointing_ms: 5 }, { utterance_end_ms: 200 }, { keywords: 3 }, { smart_format: 'yes' }];
    for (const options of bads) {
      assert.throws(() => checkDeepgramSttSettings({ provider: 'deepgram', options }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request', JSON.stringify(options));
    }
    assert.throws(() => checkDeepgramSttSettings({ provider: 'deepgram', base_url: 'ftp://x' }), /base_url/);
    const d = checkDeepgramSttSettings({ provider: 'deepgram' });
    assert.deepEqual([d.baseUrl, d.model, d.language, d.endpointingMs, d.connectTimeoutMs], ['wss://api.deepgram.com/v1', 'nova-3', 'en-US', 300, 3000]);
  });
});

const liveKey = process.env.DEEPGRAM_API_KEY;
test('deepgram stt LIVE: 8 kHz phone audio is recognized', { skip: liveKey ? skip : 'DEEPGRAM_API_KEY is not set: the live Deepgram test needs a real key and network access' }, async () => {
  const rate = 8000;
  const s = createDeepgramStt({ provider: 'deepgram', api_key: liveKey as string }).start({ sampleRate: rate });
  const audio = concat(silence(300, rate), atRate(await fliteSpeech('please confirm my appointment on tuesday'), rate), silence(1500, rate));
  for (const f of toFrames(audio, rate)) s.push(f);
  s.end();
  const events = await collectEvents(s, GUARD);
  assert.deepEqual(events.filter((e) => e.type === 'error'), []);
  const text = events.flatMap((e) => (e.type === 'final' ? [e.text] : [])).join(' ');
  assert.ok(keyWordsHeard(text).length >= 3, `heard "${text}"`);
});
