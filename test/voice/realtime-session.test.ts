/**
 * RealtimeSession against the local Realtime protocol server (real WebSocket, real espeak-ng audio,
 * real energy VAD on the server side) on a FakeLeg with virtual playout time: what the session
 * sends, when audio reaches the leg, barge-in truncation, tool calls, ending.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAiRealtimeServer, type RecordedConnection } from '../helpers/openai-realtime-server.js';
import { waitFor } from '../helpers/wait.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { calleeFrames, KEY, play, pushFrames, startSession } from './realtime-helpers.js';
import { FakeLeg } from './helpers/fake-leg.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { ProviderError } from '../../src/providers/errors.js';
import { checkOpenAiRealtimeSettings, realtimeConfigFrom } from '../../src/voice/realtime/config.js';
import { RealtimeSession } from '../../src/voice/realtime/session.js';
import { sessionUpdate } from '../../src/voice/realtime/events.js';
import type { VoiceEvent } from '../../src/voice/events.js';

const skip = toolAvailable('espeak-ng') ? false : 'espeak-ng is not installed (the server speaks with it)';
let server: OpenAiRealtimeServer;
before(async () => {
  server = await OpenAiRealtimeServer.start();
});
after(async () => {
  await server.close();
});

const sentTypes = (c: RecordedConnection): string[] => c.events.map((e) => String(e.event.type));

describe('RealtimeSession (local Realtime server)', { skip }, () => {
  test('connects while ringing with Bearer auth and configures the session (GA shape, G.711 for a PCMU offer)', async () => {
    const r = startSession(server, { settings: { options: { silence_duration_ms: 600, prefix_padding_ms: 200, vad_threshold: 0.6 }, voice: 'cedar' } });
    const conn = await waitFor('a connection', () => server.connections.find((c) => c.events.some((e) => e.event.type === 'session.update') && !c.closed));
    assert.equal(conn.headers.authorization, `Bearer ${KEY}`);
    assert.match(conn.url, /^\/v1\/realtime\?model=gpt-realtime$/);
    assert.equal(conn.headers['openai-beta'], undefined, 'the GA interface: no beta header');
    const s = conn.events.find((e) => e.event.type === 'session.update')!.event.session;
    assert.equal(s.type, 'realtime');
    assert.match(s.instructions, /You confirm deliveries\.[\s\S]*"name":"Ana"/);
    assert.deepEqual(s.output_modalities, ['audio']);
    assert.deepEqual(s.audio.input.format, { type: 'audio/pcmu' });
    assert.deepEqual(s.audio.output.format, { type: 'audio/pcmu' });
    assert.equal(s.audio.output.voice, 'cedar');
    assert.deepEqual(s.audio.input.turn_detection, { type: 'server_vad', threshold: 0.6, silence_duration_ms: 600, prefix_padding_ms: 200, create_response: true, interrupt_response: false });
    assert.equal(s.audio.input.transcription.model, 'gpt-4o-mini-transcribe');
    assert.deepEqual(s.tools.map((t: { type: string; name: string }) => `${t.type}:${t.name}`), ['function:lookup_order', 'function:end_call']);
    assert.ok(s.tools[0].parameters.properties.order);
    r.leg.emit({ type: 'ended', sipStatusCode: 487, reason: 'canceled', by: 'local', outcome: 'canceled' });
    await waitFor('the socket closed', () => conn.closed || undefined);
  });

  test('the greeting is asked for while ringing but reaches the leg only after the answer; transcript and timing from the answer', async () => {
    const r = startSession(server);
    const conn = await waitFor('response.create while ringing', () => server.connections.find((c) => !c.closed && sentTypes(c).includes('response.create')));
    const create = conn.events.find((e) => e.event.type === 'response.create')!.event;
    assert.match(create.response.instructions, /"Hi, this is Outcall calling about your order\."$/);
    await new Promise((res) => setTimeout(res, 400)); // the server has streamed the whole greeting by now
    assert.equal(r.leg.written.length, 0, 'nothing written before the answer');
    r.clock.advance(5000);
    r.leg.answer(8000);
    assert.ok(r.leg.written.length > 0, 'the greeting starts at the answer (it was made while ringing)');
    assert.equal(r.leg.written[0]!.length, 160, '8 kHz frames: G.711 straight through, no resampling');
    assert.ok(r.events.some((e) => e.type === 'agent_first_audio'));
    for (let i = 0; i < 300 && !r.events.some((e) => e.type === 'agent_turn_finished'); i++) play(r, 100);
    const turn = r.session.transcript[0]!;
    assert.deepEqual({ speaker: turn.speaker, text: turn.text, interrupted: turn.interrupted, startMs: turn.startMs }, {
      speaker: 'agent', text: 'Hi, this is Outcall calling about your order.', interrupted: false, startMs: 0,
    });
    assert.ok(turn.endMs > 1500, `the greeting lasted ${turn.endMs} ms of leg time`);
    r.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
    assert.equal(r.events.at(-1)?.type, 'ended');
  });

  test('barge-in: playout cleared, truncate carries exactly the ms written to the leg, response cancelled, turn interrupted with heard words', async () => {
    server.reply({ kind: 'say', text: 'Thanks for waiting. Your blue bicycle, order forty four seventy one, is packed and will leave our warehouse tomorrow morning.', paceMs: 60 });
    const r = startSession(server, { options: { firstSpeaker: 'callee' } });
    await waitFor('connected', () => server.connections.find((c) => !c.closed && sentTypes(c).includes('session.update')));
    r.leg.answer(8000);
    // The callee says something; the server's VAD ends the turn and the scripted reply starts.
    await pushFrames(r, calleeFrames(8000, 600, 300, 700));
    await waitFor('the reply starts', () => r.leg.written.length > 0 || undefined, 10_000);
    await new Promise((res) => setTimeout(res, 200));
    play(r, 600);
    const writtenBefore = r.leg.written.length * 20;
    const before = r.session.sent.length;
    await pushFrames(r, calleeFrames(8000, 400, 0, 0));
    await waitFor('truncate', () => r.session.sent.slice(before).find((e) => e.type === 'conversation.item.truncate'), 10_000);
    // Reply audio that arrived while the callee spoke was still written until the cut (the leg's
    // queue had room): what the callee hears is everything written up to the truncate.
    const writtenMs = r.leg.written.length * 20;
    assert.ok(writtenMs >= writtenBefore, `${writtenMs} ms written by the cut, ${writtenBefore} ms before the callee spoke`);
    const sent = r.session.sent.slice(before);
    const trunc = sent.find((e) => e.type === 'conversation.item.truncate')!;
    assert.equal(trunc.audio_end_ms, writtenMs, 'audio_end_ms = the reply audio written to the leg (what the callee hears)');
    assert.equal(trunc.content_index, 0);
    assert.ok(sent.some((e) => e.type === 'response.cancel'), 'the response in flight is cancelled');
    assert.equal(r.leg.written.length * 20, writtenMs, 'nothing more was written after the cut');
    const conn = server.last!;
    await waitFor('the server saw the truncate', () => conn.events.find((e) => e.event.type === 'conversation.item.truncate'));
    assert.equal(r.leg.written.length * 20, writtenMs, 'still nothing more written');
    assert.equal(conn.events.find((e) => e.event.type === 'conversation.item.truncate')!.event.item_id, trunc.item_id);
    const cut = r.events.find((e) => e.type === 'agent_turn_interrupted');
    assert.ok(cut && cut.type === 'agent_turn_interrupted');
    assert.equal(cut.playedMs, writtenMs);
    const agent = r.session.transcript.find((t) => t.speaker === 'agent')!;
    assert.equal(agent.interrupted, true);
    assert.ok(agent.text.length > 0 && agent.text.split(' ').length < 20, `only the heard words: "${agent.text}"`);
    assert.ok('Thanks for waiting. Your blue bicycle,'.startsWith(agent.text.split(' ').slice(0, 3).join(' ')));
    r.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  });

  test('function call: the tool runs, its output goes back as function_call_output, then response.create; transcript keeps the call', async () => {
    server.hear('where is my order 4471');
    server.reply({ kind: 'function_call', name: 'lookup_order', arguments: '{"order":"4471"}', callId: 'call_abc' }, { kind: 'say', text: 'It ships tomorrow.' });
    const r = startSession(server, { options: { firstSpeaker: 'callee' } });
    await waitFor('connected', () => server.connections.find((c) => !c.closed && sentTypes(c).includes('session.update')));
    r.leg.answer(8000);
    await pushFrames(r, calleeFrames(8000, 600, 300, 700));
    await waitFor('the reply after the tool', () => r.leg.written.length > 0 || undefined, 10_000);
    for (let i = 0; i < 100 && !r.session.transcript.some((t) => t.text === 'It ships tomorrow.'); i++) {
      play(r, 100);
      await new Promise((res) => setTimeout(res, 5));
    }
    assert.deepEqual(r.tools, [{ name: 'lookup_order', args: { order: '4471' } }]);
    const conn = server.last!;
    const types = sentTypes(conn);
    const out = conn.events.find((e) => e.event.type === 'conversation.item.create')!.event;
    assert.deepEqual(out.item, { type: 'function_call_output', call_id: 'call_abc', output: JSON.stringify({ ok: true, result: { status: 'ships tomorrow' } }) });
    assert.ok(types.lastIndexOf('response.create') > types.indexOf('conversation.item.create'), 'response.create after the output');
    const rows = r.session.transcript.map((t) => [t.speaker, t.text, t.toolCalls?.map((c) => c.name).join(',') ?? '']);
    assert.deepEqual(rows, [['callee', 'where is my order 4471', ''], ['agent', '', 'lookup_order'], ['agent', 'It ships tomorrow.', '']]);
    const callee = r.session.transcript[0]!;
    assert.ok(callee.startMs >= 0 && callee.startMs < 400 && callee.endMs > 700, `callee times from the server's audio clock: ${callee.startMs}-${callee.endMs}`);
    const lat = r.session.latencies.find((l) => l.endToEndMs !== undefined);
    assert.ok(lat && lat.ttsFirstAudioMs !== undefined, 'a latency with the server share and the end to end');
    r.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  });

  test('end_call: the goodbye is spoken by the model, heard in full, then hang-up with agent_hangup', async () => {
    server.reply({ kind: 'function_call', name: 'end_call', arguments: '{"goodbye":"Thank you, goodbye."}' });
    const r = startSession(server, { options: { firstSpeaker: 'callee' } });
    await waitFor('connected', () => server.connections.find((c) => !c.closed && sentTypes(c).includes('session.update')));
    r.leg.answer(8000);
    await pushFrames(r, calleeFrames(8000, 600, 300, 700));
    await waitFor('the goodbye', () => r.leg.written.length > 0 || undefined, 10_000);
    for (let i = 0; i < 100 && !r.leg.calls.includes('hangup'); i++) {
      play(r, 100);
      await new Promise((res) => setTimeout(res, 5));
    }
    assert.deepEqual(r.leg.calls, ['hangup']);
    assert.equal(r.leg.queuedAtHangup, 0, 'the goodbye played out before BYE');
    assert.equal(r.session.transcript.at(-1)?.text, 'Thank you, goodbye.');
    const ends = r.events.filter((e) => e.type === 'end_requested' || e.type === 'ended').map((e) => ('reason' in e ? e.reason : ''));
    assert.deepEqual(ends, ['agent_hangup', 'agent_hangup']);
  });

  test('a wideband leg switches the session to 24 kHz PCM and resamples both ways', async () => {
    const r = startSession(server, { codecs: ['PCMU'] });
    await waitFor('greeting asked', () => server.connections.find((c) => !c.closed && sentTypes(c).includes('response.create')));
    await new Promise((res) => setTimeout(res, 300));
    r.leg.emit({ type: 'answered', codec: 'L16/16000', sampleRate: 16000 });
    const conn = server.last!;
    await waitFor('format update', () => conn.events.filter((e) => e.event.type === 'session.update').length >= 2 || undefined);
    assert.deepEqual(conn.session.audio.input.format, { type: 'audio/pcm', rate: 24000 });
    assert.ok(r.leg.written.length > 0 && r.leg.written[0]!.length === 320, 'the G.711 greeting made while ringing still plays, at 16 kHz');
    await pushFrames(r, calleeFrames(16000, 100, 100));
    await waitFor('appended audio', () => (conn.appendedMs >= 190 ? true : undefined));
    r.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  });
});

describe('RealtimeSession errors', { skip }, () => {
  test('401 at connect, while ringing: the call is cancelled (never answered) with error_llm and the vendor message, no key', async () => {
    server.failNextUpgrade({ status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}.`, type: 'invalid_request_error', code: 'invalid_api_key' } } });
    const r = startSession(server);
    await waitFor('ended', () => r.events.find((e) => e.type === 'ended'));
    const err = r.events.find((e) => e.type === 'error');
    assert.ok(err && err.type === 'error');
    assert.equal(err.code, 'provider_auth_failed');
    assert.equal(err.endReason, 'error_llm');
    assert.match(err.message, /HTTP 401: Incorrect API key/);
    assert.ok(!err.message.includes(KEY), 'the key is redacted');
    assert.deepEqual(r.leg.calls, ['cancel']);
  });

  test('429 at connect is provider_rate_limited with the retry-after', async () => {
    server.failNextUpgrade({ status: 429, body: { error: { message: 'Rate limit reached', type: 'rate_limit_exceeded' } }, headers: { 'retry-after': '7' } });
    const r = startSession(server);
    const err = await waitFor('error', () => r.events.find((e) => e.type === 'error'));
    assert.ok(err.type === 'error' && err.code === 'provider_rate_limited' && /retry after 7 s/.test(err.message), JSON.stringify(err));
  });

  test('an error event mid-call ends it with error_llm; a benign one (cancel with no response) does not', async () => {
    const r = startSession(server, { options: { firstSpeaker: 'callee' } });
    await waitFor('connected', () => server.connections.find((c) => !c.closed && sentTypes(c).includes('session.update')));
    r.leg.answer(8000);
    server.reply({ kind: 'error', type: 'server_error', message: 'The server had an error' });
    await pushFrames(r, calleeFrames(8000, 600, 300, 700));
    const err = await waitFor('error', () => r.events.find((e) => e.type === 'error'), 10_000);
    assert.ok(err.type === 'error' && err.code === 'provider_failed' && /The server had an error/.test(err.message));
    assert.deepEqual(r.leg.calls, ['hangup']);
    assert.equal(r.events.find((e) => e.type === 'end_requested' && e.reason === 'error_llm')?.type, 'end_requested');
  });

  test('a socket dropped mid-response ends the call with error_llm (provider_failed)', async () => {
    server.reply({ kind: 'drop', text: 'This reply will not finish because the line drops.', afterDeltas: 3 });
    const r = startSession(server, { options: { firstSpeaker: 'callee' } });
    await waitFor('connected', () => server.connections.find((c) => !c.closed && sentTypes(c).includes('session.update')));
    r.leg.answer(8000);
    await pushFrames(r, calleeFrames(8000, 600, 300, 700));
    const err = await waitFor('error', () => r.events.find((e) => e.type === 'error'), 10_000);
    assert.ok(err.type === 'error' && err.code === 'provider_failed', JSON.stringify(err));
    assert.deepEqual(r.leg.calls, ['hangup']);
  });

  test('connection refused is provider_unavailable', async () => {
    const r = startSession(server, { settings: { base_url: 'ws://127.0.0.1:9/v1' } });
    const err = await waitFor('error', () => r.events.find((e) => e.type === 'error'));
    assert.ok(err.type === 'error' && err.code === 'provider_unavailable', JSON.stringify(err));
  });
});

describe('Realtime settings', () => {
  test('defaults for a phone call, URL from base_url (https becomes wss), options validated', () => {
    const c = realtimeConfigFrom({ provider: 'openai', api_key: KEY });
    assert.equal(c.url, 'wss://api.openai.com/v1/realtime?model=gpt-realtime');
    assert.equal(c.voice, 'marin');
    assert.deepEqual(c.turnDetection, { type: 'server_vad', silence_duration_ms: 500 });
    assert.equal(realtimeConfigFrom({ provider: 'openai', api_key: KEY, base_url: 'https://proxy.example/v1/', model: 'gpt-realtime-mini' }).url, 'wss://proxy.example/v1/realtime?model=gpt-realtime-mini');
    assert.deepEqual(realtimeConfigFrom({ provider: 'openai', api_key: KEY, options: { vad: 'semantic_vad', eagerness: 'low' } }).turnDetection, { type: 'semantic_vad', eagerness: 'low' });
    for (const options of <Array<Record<string, string | number>>>[{ vad: 'push_to_talk' }, { vad_threshold: 2 }, { silence_duration_ms: 'long' }, { eagerness: 'eager', vad: 'semantic_vad' }]) {
      assert.throws(() => checkOpenAiRealtimeSettings({ provider: 'openai', options }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request', JSON.stringify(options));
    }
    assert.throws(() => realtimeConfigFrom({ provider: 'openai' }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_auth_failed');
    assert.throws(() => checkOpenAiRealtimeSettings({ provider: 'anthropic' }), /use openai/);
  });

  test("max_tokens becomes the session's max_output_tokens (1..4096); a temperature is refused, not silently dropped", () => {
    const capped = realtimeConfigFrom({ provider: 'openai', api_key: KEY, max_tokens: 300 });
    assert.equal(capped.maxOutputTokens, 300);
    const ev = sessionUpdate(capped, { instructions: 'x', tools: [], format: { type: 'audio/pcmu' }, interruptResponse: true });
    assert.equal((ev.session as Record<string, unknown>).max_output_tokens, 300);
    const open = sessionUpdate(realtimeConfigFrom({ provider: 'openai', api_key: KEY }), { instructions: 'x', tools: [], format: { type: 'audio/pcmu' }, interruptResponse: true });
    assert.equal('max_output_tokens' in (open.session as Record<string, unknown>), false, 'the vendor default (inf) when the agent sets none');
    for (const max_tokens of [0, 4097, 2.5]) {
      assert.throws(() => checkOpenAiRealtimeSettings({ provider: 'openai', max_tokens }), /max_tokens must be a whole number in 1\.\.4096/, String(max_tokens));
    }
    assert.throws(() => checkOpenAiRealtimeSettings({ provider: 'openai', temperature: 0.8 }), /takes no temperature/);
  });
});

const liveKey = process.env.OPENAI_API_KEY;
describe('RealtimeSession against OpenAI (live)', { skip: liveKey ? false : 'OPENAI_API_KEY is not set: the live OpenAI Realtime test needs a real key and network access' }, () => {
  test('the greeting made while ringing plays after the answer as G.711', async () => {
    const leg = new FakeLeg();
    const clock = new VirtualClock();
    const events: VoiceEvent[] = [];
    const session = new RealtimeSession({
      leg, clock, config: realtimeConfigFrom({ provider: 'openai', api_key: liveKey }), instructions: 'You are a polite assistant.', tools: [],
      runTool: async () => ({}), emit: (e) => events.push(e), offeredCodecs: ['PCMU'],
      options: { firstSpeaker: 'agent', greeting: 'Hello, this is a test call.', bargeIn: { minSpeechMs: 200 }, inactivityTimeoutMs: 10_000, maxDurationMs: 60_000 },
    });
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(leg.written.length, 0);
    leg.answer(8000);
    assert.ok(!events.some((e) => e.type === 'error'), JSON.stringify(events.find((e) => e.type === 'error')));
    await waitFor('audio', () => leg.written.length > 0 || undefined, 15_000);
    for (let i = 0; i < 600 && !session.transcript.length; i++) {
      leg.play(20);
      clock.advance(20);
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.match(session.transcript[0]?.text ?? '', /test call/i);
    leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  });
});
