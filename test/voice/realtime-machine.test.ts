/**
 * What answering-machine handling asks of a speech-to-speech session (its MachineHost), against the
 * local Realtime protocol server on a FakeLeg: gate_greeting keeps the model quiet until the gate
 * opens, though its server turn detection answers the callee's hello by itself; a screened call says
 * only the screening response to the assistant, then opens again for the person at the pickup. And
 * the end of such a call: the callee's last words, still being said or transcribed when they hang up,
 * stay in the transcript.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAiRealtimeServer, type RecordedConnection } from '../helpers/openai-realtime-server.js';
import { waitFor } from '../helpers/wait.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { calleeFrames, connectedAfter, play, pushFrames, startSession, type Rig } from './realtime-helpers.js';

const skip = toolAvailable('espeak-ng') ? false : 'espeak-ng is not installed (the server speaks with it)';
let server: OpenAiRealtimeServer;
before(async () => {
  server = await OpenAiRealtimeServer.start();
});
after(async () => {
  await server.close();
});

const GREETING = 'Hi, this is Outcall calling about your order.';

const connected = (n: number): Promise<RecordedConnection> => connectedAfter(server, n);

/** Plays the leg until the agent's turns in the transcript number `n` (the last one finished). */
async function untilAgentTurns(r: Rig, n: number): Promise<void> {
  try {
    await waitFor(`${n} agent turns`, () => {
      play(r, 100);
      return r.session.transcript.filter((t) => t.speaker === 'agent').length >= n || undefined;
    }, 15_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; transcript ${JSON.stringify(r.session.transcript)}; sent ${r.session.sent.map((e) => e.type).join(' ')}`);
  }
}

/** What the server was asked to say, verbatim, in order (response.create instructions). */
const asked = (c: RecordedConnection): string[] =>
  c.events.filter((e) => e.event.type === 'response.create').map((e) => String(e.event.response?.instructions ?? '(the model opens)'));

describe('speech-to-speech sessions under answering-machine handling (local Realtime server)', { skip }, () => {
  test('the callee hangs up while still saying their last words: the session commits them, waits for the transcription, and it is the last line', async () => {
    const n = server.connections.length;
    const r = startSession(server, { options: { firstSpeaker: 'callee' } });
    const conn = await connected(n);
    r.leg.answer(8000);
    server.hear('thanks that is all goodbye');
    // 700 ms of speech and no silence after it: the server's turn detection never ends the turn.
    await pushFrames(r, calleeFrames(8000, 700, 200, 0));
    await waitFor('speech started', () => r.events.find((e) => e.type === 'callee_speech_started'), 5000);
    r.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
    await r.session.transcriptSettled();
    assert.ok(conn.events.some((e) => e.event.type === 'input_audio_buffer.commit'), 'the open turn was committed');
    const last = r.session.transcript.at(-1);
    assert.deepEqual([last?.speaker, last?.text], ['callee', 'thanks that is all goodbye'], JSON.stringify(r.session.transcript));
    await waitFor('the socket closed', () => conn.closed || undefined, 5000);
  });

  test('gate_greeting: the model answering the hello by itself is cut before a sound; the greeting is said when the gate opens', async () => {
    server.reply({ kind: 'say', text: 'Hello there, how can I help you today?' });
    const n = server.connections.length;
    const r = startSession(server, { options: { gateOpening: true } });
    const conn = await connected(n);
    const host = r.session.machineHost();
    assert.deepEqual(asked(conn), [], 'no opening asked for while it rings: the gate is shut');
    r.leg.answer(8000);
    // The callee's hello: the server's turn detection ends it and makes a response by itself.
    await pushFrames(r, calleeFrames(8000, 500, 200, 700));
    await waitFor('the auto response cancelled', () => r.session.sent.find((e) => e.type === 'response.cancel'), 10_000);
    await new Promise((res) => setTimeout(res, 300));
    play(r, 400);
    assert.equal(r.leg.written.length, 0, 'nothing reached the leg before the gate opened');
    assert.equal(r.session.transcript.filter((t) => t.speaker === 'agent' && t.text !== '').length, 0, r.session.transcript.map((t) => t.text).join(' | '));
    host.openGate();
    await waitFor('the greeting asked for', () => asked(conn).find((x) => x.includes(GREETING)), 10_000);
    await untilAgentTurns(r, 1);
    assert.ok(r.leg.written.length > 0, 'the greeting reached the leg');
    assert.equal(r.session.transcript.filter((t) => t.speaker === 'agent' && t.text !== '').at(-1)?.text, GREETING);
    r.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  });

  test('screening: the greeting is cut, the response is said, the model answering the assistant is cut, and the greeting is said again at the pickup', async () => {
    const n = server.connections.length;
    const r = startSession(server);
    const conn = await connected(n);
    const host = r.session.machineHost();
    r.leg.answer(8000);
    await waitFor('the greeting starts', () => r.leg.written.length > 0 || undefined, 10_000);
    await new Promise((res) => setTimeout(res, 300));
    play(r, 1200);
    const sentBefore = r.session.sent.length;
    host.holdForScreening();
    const trunc = r.session.sent.slice(sentBefore).find((e) => e.type === 'conversation.item.truncate');
    const endMs = Number(trunc?.audio_end_ms);
    assert.ok(endMs > 0 && endMs <= 1300, `the model is told where its greeting was cut: ${JSON.stringify(trunc)}`);
    host.answerScreening('This is Outcall, calling Ana about her order.');
    await waitFor('the response asked for', () => asked(conn).find((x) => x.includes('This is Outcall, calling Ana about her order.')), 10_000);
    await untilAgentTurns(r, 2);
    const written = r.leg.written.length;
    // The assistant speaks ("stay on the line"): the model answers it by itself; that must not be heard.
    server.reply({ kind: 'say', text: 'Sure, I will wait for them.' });
    const cancelsBefore = r.session.sent.filter((e) => e.type === 'response.cancel').length;
    await pushFrames(r, calleeFrames(8000, 800, 200, 700));
    await waitFor('the auto response cancelled', () => r.session.sent.filter((e) => e.type === 'response.cancel').length > cancelsBefore || undefined, 10_000);
    await new Promise((res) => setTimeout(res, 300));
    play(r, 400);
    assert.equal(r.leg.written.length, written, 'nothing said to the assistant after the response');
    host.pickedUp();
    await waitFor('the greeting asked for again', () => asked(conn).filter((x) => x.includes(GREETING)).length >= 2 || undefined, 10_000);
    await untilAgentTurns(r, 3);
    const agent = r.session.transcript.filter((t) => t.speaker === 'agent' && t.text !== '');
    assert.deepEqual(agent.map((t) => [t.text === GREETING ? 'greeting' : t.text, t.interrupted]).slice(-2), [
      ['This is Outcall, calling Ana about her order.', false],
      ['greeting', false],
    ]);
    assert.equal(agent[0]?.interrupted, true, 'the first greeting was cut for the assistant');
    assert.ok(!agent.some((t) => t.text.includes('I will wait')), 'the model\'s answer to the assistant is not in the transcript');
    r.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  });
});
