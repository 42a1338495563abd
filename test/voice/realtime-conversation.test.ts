/**
 * The conversation settings a speech-to-speech agent acts on, against the local Realtime protocol
 * server on a FakeLeg (virtual playout and timer time): barge_in.min_speech_ms (the server's own
 * interruption is off; the session cuts once the speech lasted that long), the apology said in a
 * local voice when the model fails, filler while a reply is slow, and end_call as the agent declared it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAiRealtimeServer, type RecordedConnection } from '../helpers/openai-realtime-server.js';
import { waitFor } from '../helpers/wait.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { calleeFrames, connectedAfter, play, pushFrames, startSession, type Rig } from './realtime-helpers.js';
import { ToneTts } from './helpers/fakes.js';

const skip = toolAvailable('espeak-ng') ? false : 'espeak-ng is not installed (the server speaks with it)';
let server: OpenAiRealtimeServer;
before(async () => {
  server = await OpenAiRealtimeServer.start();
});
after(async () => {
  await server.close();
});

const LONG = 'Thanks for waiting. Your blue bicycle, order forty four seventy one, is packed and will leave our warehouse tomorrow morning before nine.';


const connected = (n: number): Promise<RecordedConnection> => connectedAfter(server, n);

/** The callee answered, spoke, and the scripted reply is playing on the leg. */
async function replyPlaying(r: Rig): Promise<void> {
  r.leg.answer(8000);
  await pushFrames(r, calleeFrames(8000, 600, 300, 700));
  await waitFor('the reply starts', () => r.leg.written.length > 0 || undefined, 10_000);
  play(r, 200);
}

const truncated = (r: Rig, from: number) => r.session.sent.slice(from).some((e) => e.type === 'conversation.item.truncate');

describe('speech-to-speech conversation settings (local Realtime server)', { skip }, () => {
  test('min_speech_ms: the server does not interrupt; speech shorter than it does not cut the reply, longer speech cuts it once it lasted that long', async () => {
    server.reply({ kind: 'say', text: LONG, paceMs: 60 });
    const n = server.connections.length;
    const r = startSession(server, { options: { firstSpeaker: 'callee', bargeIn: { minSpeechMs: 1500 } } });
    const conn = await connected(n);
    assert.equal(conn.session.audio.input.turn_detection.interrupt_response, false, "barge-in is the session's, not the server's");
    await replyPlaying(r);
    // A 400 ms "mm-hm" while the agent talks: heard by the server, but it never cuts the reply.
    const before = r.session.sent.length;
    await pushFrames(r, calleeFrames(8000, 400, 0, 800));
    await waitFor('the server ended that speech', () => r.events.filter((e) => e.type === 'callee_speech_ended').length >= 2 || undefined, 10_000);
    play(r, 2000);
    assert.equal(truncated(r, before), false, 'no truncate for speech shorter than min_speech_ms');
    assert.equal(r.events.some((e) => e.type === 'agent_turn_interrupted'), false);
    // Then the callee keeps talking: nothing is cut until the speech has lasted min_speech_ms.
    await pushFrames(r, calleeFrames(8000, 700, 0, 0));
    await waitFor('the server heard it start', () => r.events.filter((e) => e.type === 'callee_speech_started').length >= 3 || undefined, 10_000);
    play(r, 300);
    assert.equal(truncated(r, before), false, 'still talking for less than min_speech_ms: not cut yet');
    await pushFrames(r, calleeFrames(8000, 400, 0, 0));
    play(r, 1200);
    await waitFor('the cut', () => truncated(r, before) || undefined, 10_000);
    assert.ok(r.session.sent.slice(before).some((e) => e.type === 'response.cancel' || e.type === 'conversation.item.truncate'));
    assert.ok(r.events.some((e) => e.type === 'agent_turn_interrupted'));
    r.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  });

  test('the model fails mid-call: the apology line is said in the local voice, heard in full, then hang-up (error_llm)', async () => {
    server.reply({ kind: 'fail', message: 'the model fell over' });
    const tts = new ToneTts();
    const n = server.connections.length;
    const r = startSession(server, { options: { firstSpeaker: 'callee', apologyLine: 'Sorry, we will call you back.' }, localTts: tts });
    await connected(n);
    r.leg.answer(8000);
    await pushFrames(r, calleeFrames(8000, 600, 300, 700));
    await waitFor('the failure', () => r.events.find((e) => e.type === 'error'), 10_000);
    assert.deepEqual(r.leg.calls, [], 'not hung up before the apology');
    for (let i = 0; i < 100 && r.leg.calls.length === 0; i++) {
      play(r, 100);
      await new Promise((res) => setTimeout(res, 5));
    }
    assert.deepEqual(tts.requests, ['Sorry, we will call you back.']);
    assert.deepEqual(r.leg.calls, ['hangup']);
    // 6 words of tone = 600 ms on the leg before the hang-up.
    assert.ok(r.leg.written.length * 20 >= 600, `${r.leg.written.length * 20} ms of apology written`);
    const last = r.session.transcript.at(-1);
    assert.deepEqual([last?.speaker, last?.text, last?.interrupted], ['agent', 'Sorry, we will call you back.', false]);
    assert.equal(r.events.find((e) => e.type === 'end_requested')?.type === 'end_requested' && r.events.find((e) => e.type === 'end_requested'), r.events.find((e) => e.type === 'end_requested'));
    const end = r.events.find((e) => e.type === 'end_requested');
    assert.ok(end?.type === 'end_requested' && end.reason === 'error_llm');
  });

  test('filler: a reply slower than afterMs gets the filler in the local voice first; a quick one, or none configured, gets none', async () => {
    server.reply({ kind: 'say', text: 'Your order ships tomorrow.', firstDeltaDelayMs: 1500 });
    const tts = new ToneTts();
    const n = server.connections.length;
    const r = startSession(server, { options: { firstSpeaker: 'callee', filler: { afterMs: 500, phrases: ['Let me see.'] } }, localTts: tts });
    await connected(n);
    r.leg.answer(8000);
    await pushFrames(r, calleeFrames(8000, 600, 300, 700));
    await waitFor('the callee turn ended', () => r.events.find((e) => e.type === 'callee_speech_ended'), 10_000);
    play(r, 400);
    assert.deepEqual(tts.requests, [], 'not before afterMs');
    play(r, 200);
    await waitFor('the filler', () => tts.requests.length > 0 || undefined, 5000);
    assert.deepEqual(tts.requests, ['Let me see.']);
    for (let i = 0; i < 200 && !r.session.transcript.some((t) => t.text === 'Your order ships tomorrow.'); i++) {
      play(r, 100);
      await new Promise((res) => setTimeout(res, 10));
    }
    const agent = r.session.transcript.filter((t) => t.speaker === 'agent').map((t) => t.text);
    assert.deepEqual(agent, ['Let me see.', 'Your order ships tomorrow.'], 'the filler, then the answer after it');
    r.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });

    server.reply({ kind: 'say', text: 'Your order ships tomorrow.', firstDeltaDelayMs: 1500 });
    const none = new ToneTts();
    const n2 = server.connections.length;
    const r2 = startSession(server, { options: { firstSpeaker: 'callee' }, localTts: none });
    await connected(n2);
    r2.leg.answer(8000);
    await pushFrames(r2, calleeFrames(8000, 600, 300, 700));
    for (let i = 0; i < 200 && !r2.session.transcript.some((t) => t.speaker === 'agent'); i++) {
      play(r2, 100);
      await new Promise((res) => setTimeout(res, 10));
    }
    assert.deepEqual(none.requests, [], 'no filler unless configured');
    r2.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  });

  test('end_call as declared: its name and description are what the model sees; disabled, it is not offered', async () => {
    const n = server.connections.length;
    startSession(server, { endCall: { name: 'hang_up', description: 'Hang up when the delivery is confirmed.', parameters: { type: 'object', properties: { goodbye: { type: 'string' } } } } });
    const c1 = await connected(n);
    const tools1 = c1.session.tools as Array<{ name: string; description: string }>;
    assert.deepEqual(tools1.map((t) => t.name), ['lookup_order', 'hang_up']);
    assert.equal(tools1[1]?.description, 'Hang up when the delivery is confirmed.');
    const n2 = server.connections.length;
    startSession(server, { endCall: null });
    const c2 = await connected(n2);
    assert.deepEqual((c2.session.tools as Array<{ name: string }>).map((t) => t.name), ['lookup_order'], 'no end_call when disabled');
  });
});
