import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ProviderError } from '../../src/providers/errors.js';
import { ScriptedLlm } from '../../src/providers/llm/scripted.js';
import type { AgentBrain } from '../../src/voice/brain.js';
import { LlmAgentBrain } from '../../src/voice/llm-brain.js';
import { VoiceSession, type VoiceSessionOptions } from '../../src/voice/session.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { FakeLeg } from './helpers/fake-leg.js';
import { FakeStt, FakeVad, ToneTts } from './helpers/fakes.js';

const GREETING = 'Hello, this is Ada from the clinic.';

function harness(brain: AgentBrain, opts: Partial<VoiceSessionOptions> = {}, vadRates?: number[], tts = new ToneTts()) {
  const leg = new FakeLeg();
  const clock = new VirtualClock();
  const vad = new FakeVad(vadRates);
  const stt = new FakeStt();
  // pickupHelloWindowMs 0: these tests barge in right after the answer (the pickup hello: session-conversation.test.ts).
  const options: VoiceSessionOptions = { firstSpeaker: 'agent', bargeIn: { minSpeechMs: 200 }, inactivityTimeoutMs: 5000, maxDurationMs: 600_000, pickupHelloWindowMs: 0, ...opts };
  const session = new VoiceSession({ leg, tts, vad, stt, brain, clock, options });
  /** One 20 ms period of real time: the leg plays a frame, the callee sends one, timers run. */
  const step = async (n = 1) => {
    for (let i = 0; i < n; i++) {
      leg.play(20);
      session.pushAudio(new Int16Array(160));
      await clock.advanceAsync(20);
    }
  };
  const until = async (what: string, pred: () => boolean, maxSteps = 2000) => {
    for (let i = 0; i < maxSteps && !pred(); i++) await step();
    assert.ok(pred(), `timed out waiting for ${what}`);
  };
  return { leg, clock, vad, stt, tts, session, step, until };
}

function llmBrain(llm: ScriptedLlm) {
  return new LlmAgentBrain({ llm, systemPrompt: 'You are Ada.', callContext: { name: 'Sam' }, greeting: GREETING });
}

/** The callee says `text`: speech for `ms`, then the recognizer's final `finalLagMs` after speech ends. */
async function say(h: ReturnType<typeof harness>, text: string, ms = 300, finalLagMs = 40) {
  h.vad.speechStart();
  await h.step(ms / 20);
  h.vad.speechEnd();
  await h.step(finalLagMs / 20);
  h.stt.final(text);
  await h.step();
}

test('greeting, then a callee turn, then the reply, in order, with the conversation sent to the LLM', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Great, ', 'see you ', 'then. Bye for now.'] });
  const h = harness(llmBrain(llm));
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  assert.deepEqual(h.session.transcript[0]?.text, GREETING);
  const greetingFrames = h.leg.written.length;
  assert.equal(greetingFrames, 7 * 5, 'one 100 ms tone per word of the greeting');
  await say(h, 'yes please');
  await h.until('reply', () => h.session.transcript.length === 3);
  const t = h.session.transcript;
  assert.deepEqual(t.map((x) => [x.speaker, x.text, x.interrupted]), [
    ['agent', GREETING, false],
    ['callee', 'yes please', false],
    ['agent', 'Great, see you then. Bye for now.', false],
  ]);
  for (let i = 1; i < t.length; i++) assert.ok(t[i]!.startMs >= t[i - 1]!.endMs, `turn ${i} starts after the previous ends`);
  assert.deepEqual(h.tts.requests, [GREETING, 'Great, see you then.', 'Bye for now.'], 'the reply is spoken sentence by sentence');
  assert.deepEqual(llm.requests[0]?.messages.map((m) => m.role), ['system', 'system', 'assistant', 'user']);
  assert.ok(llm.requests[0]?.tools?.some((x) => x.name === 'end_call'));
  assert.equal(h.leg.calls.length, 0, 'no hang-up');
});

test("the TTS is readied at the leg's rate each time the callee starts talking, before the reply is asked for", async () => {
  const llm = new ScriptedLlm().reply({ text: ['Sure.'] }).reply({ text: ['Fine.'] });
  const h = harness(llmBrain(llm));
  h.leg.answer(16000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  assert.deepEqual(h.tts.prepared, [], 'not for the greeting');
  h.vad.speechStart();
  await h.step();
  assert.deepEqual(h.tts.prepared, [16000], 'at speech start');
  assert.equal(llm.requests.length, 0, 'before any reply is asked for');
  await h.step(10);
  h.vad.speechEnd();
  await h.step(2);
  h.stt.final('book me in');
  await h.until('reply', () => h.session.transcript.length === 3);
  await say(h, 'thanks');
  assert.deepEqual(h.tts.prepared, [16000, 16000]);
});

test('latency metrics are present and ordered for a reply', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Sure thing.'] });
  const h = harness(llmBrain(llm));
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  await say(h, 'book me in', 300, 60);
  await h.until('reply', () => h.session.latencies.length === 1);
  const l = h.session.latencies[0]!;
  assert.equal(l.sttFinalMs, 60, 'the final came 60 ms after the callee stopped');
  assert.ok(l.llmFirstTokenMs !== undefined && l.ttsFirstAudioMs !== undefined && l.endToEndMs !== undefined);
  assert.ok(l.sttFinalMs <= l.llmFirstTokenMs && l.llmFirstTokenMs <= l.ttsFirstAudioMs && l.ttsFirstAudioMs <= l.endToEndMs);
  assert.ok(h.session.events.some((e) => e.type === 'turn_latency'));
});

test('barge-in: speech shorter than minSpeechMs does not interrupt; longer cancels LLM and TTS and keeps the heard prefix', async () => {
  const llm = new ScriptedLlm().reply({ endless: true });
  const brain = llmBrain(llm);
  const h = harness(brain, { bargeIn: { minSpeechMs: 200 } });
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  await say(h, 'tell me more');
  await h.until('reply audio', () => h.session.events.some((e) => e.type === 'agent_first_audio' && e.turnId === 2));
  await h.step(30); // 600 ms of the reply plays
  h.vad.speechStart();
  await h.step(5); // 100 ms of speech: a cough, not a barge-in
  assert.equal(h.session.events.some((e) => e.type === 'agent_turn_interrupted'), false);
  await h.step(6); // now over 200 ms
  const cut = h.session.events.find((e) => e.type === 'agent_turn_interrupted');
  assert.ok(cut && cut.type === 'agent_turn_interrupted');
  await llm.cancelled(0); // the LLM request was aborted (never resolves otherwise: the test would hang)
  const written = h.leg.written.length;
  await h.step(50);
  assert.ok(h.leg.written.length - written <= 3, 'at most the lead already in the leg plays after the cut');
  const last = h.session.transcript.at(-1)!;
  assert.equal(last.speaker, 'agent');
  assert.equal(last.interrupted, true);
  assert.match(last.text, /^word0 word1 word2/);
  assert.equal(last.text, cut.heardText);
  const heardWords = last.text.split(' ').length;
  assert.ok(heardWords < 20, `only what was heard (${heardWords} words), not the endless text`);
  // The model's history holds only what the callee heard, so its next reply does not assume more.
  assert.deepEqual(brain.messages.at(-1), { role: 'assistant', content: last.text });
});

test('end_call: the goodbye plays in full before the leg is hung up', async () => {
  const llm = new ScriptedLlm().reply({ toolCalls: [{ id: 'c1', name: 'end_call', arguments: { goodbye: 'Thanks, goodbye now.' } }] });
  const h = harness(llmBrain(llm));
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  await say(h, 'no thanks');
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'));
  assert.ok(h.tts.requests.includes('Thanks, goodbye now.'));
  assert.equal(h.leg.queuedAtHangup, 0, 'nothing left unplayed at hang-up');
  assert.equal(h.leg.log.at(-1), 'hangup');
  assert.equal(h.session.transcript.at(-1)?.text, 'Thanks, goodbye now.');
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'agent_hangup');
});

test('inactivity: one prompt, then hang up with inactivity_timeout', async () => {
  const h = harness(llmBrain(new ScriptedLlm()), { inactivityTimeoutMs: 3000, inactivityPrompt: 'Are you still there?' });
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  await h.step(100); // 2 s: not yet
  assert.equal(h.tts.requests.length, 1);
  await h.until('prompt', () => h.tts.requests.length === 2, 100);
  assert.equal(h.tts.requests[1], 'Are you still there?');
  assert.equal(h.leg.calls.length, 0, 'the prompt comes before any hang-up');
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'), 400);
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'inactivity_timeout');
  assert.equal(h.leg.queuedAtHangup, 0);
});

test('LLM error: an apology is spoken, then the call ends with error_llm', async () => {
  const llm = new ScriptedLlm().reply({ error: new ProviderError('provider_unavailable', 'model down', true) });
  const h = harness(llmBrain(llm), { apologyLine: 'Sorry, I have to go.' });
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  await say(h, 'hello?');
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'));
  const err = h.session.events.find((e) => e.type === 'error');
  assert.deepEqual(err?.type === 'error' && [err.source, err.code, err.endReason], ['llm', 'provider_unavailable', 'error_llm']);
  assert.equal(h.tts.requests.at(-1), 'Sorry, I have to go.');
  assert.equal(h.leg.queuedAtHangup, 0, 'the apology was played, no dead air then a click');
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'error_llm');
});

test('TTS error with TTS still failing: hang up with error_tts instead of dead air', async () => {
  // Failing from the start: the greeting is synthesized while the phone rings, before answer.
  const failing = new ToneTts();
  failing.failWhen = () => true;
  const h = harness(llmBrain(new ScriptedLlm()), {}, undefined, failing);
  h.leg.answer(8000);
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'), 50);
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'error_tts');
  assert.equal(h.tts.requests.length, 2, 'the greeting, then one apology attempt');
});

test('max duration: a wrap-up line, then max_duration_reached', async () => {
  const h = harness(llmBrain(new ScriptedLlm()), { maxDurationMs: 5000, inactivityTimeoutMs: 60_000, wrapUpLine: 'We are out of time.' });
  h.leg.answer(8000);
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'), 400);
  assert.equal(h.tts.requests.at(-1), 'We are out of time.');
  assert.ok(h.clock.now() >= 5000);
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'max_duration_reached');
});

test('the agent does not talk over itself: a short answer during the greeting is replied to after it', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Wonderful.'] });
  const h = harness(llmBrain(llm), { bargeIn: { minSpeechMs: 200 } });
  h.leg.answer(8000);
  await h.until('greeting audio', () => h.session.events.some((e) => e.type === 'agent_first_audio'));
  h.vad.speechStart();
  await h.step(5); // 100 ms: too short to barge in
  h.vad.speechEnd();
  h.stt.final('okay');
  await h.step();
  assert.equal(h.session.events.filter((e) => e.type === 'agent_turn_started').length, 1, 'no second turn while the greeting plays');
  await h.until('reply', () => h.session.transcript.filter((t) => t.speaker === 'agent').length === 2);
  const types = h.session.events.map((e) => e.type);
  assert.ok(types.indexOf('agent_turn_finished') < types.lastIndexOf('agent_turn_started'));
  const agent = h.session.transcript.filter((t) => t.speaker === 'agent');
  assert.deepEqual(agent.map((t) => [t.text, t.interrupted]), [[GREETING, false], ['Wonderful.', false]]);
});

test('firstSpeaker callee: silence until the callee speaks, then the model answers them', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Hi, Ada here.'] });
  const h = harness(new LlmAgentBrain({ llm, systemPrompt: 'You are Ada.' }), { firstSpeaker: 'callee' });
  h.leg.answer(8000);
  await h.step(20);
  assert.equal(h.leg.written.length, 0);
  await say(h, 'hello who is this');
  await h.until('reply', () => h.session.transcript.length === 2);
  assert.deepEqual(llm.requests[0]?.messages.map((m) => m.role), ['system', 'user']);
  assert.equal(h.session.transcript[1]?.text, 'Hi, Ada here.');
});

test('callee hangs up mid-reply: the LLM is cancelled and the session ends with callee_hangup', async () => {
  const llm = new ScriptedLlm().reply({ endless: true });
  const h = harness(llmBrain(llm));
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  await say(h, 'go on');
  await h.until('reply audio', () => h.session.events.some((e) => e.type === 'agent_first_audio' && e.turnId === 2));
  h.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  await llm.cancelled(0);
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'callee_hangup');
  assert.deepEqual(h.leg.calls, [], 'we do not hang up a leg that is already gone');
  const written = h.leg.written.length;
  await h.step(20);
  assert.equal(h.leg.written.length, written, 'nothing is written after the end');
});

test('STT error: apology, then error_stt', async () => {
  const h = harness(llmBrain(new ScriptedLlm()), { apologyLine: 'Sorry, I cannot hear you.' });
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  h.stt.fail(new ProviderError('provider_failed', 'socket closed', true));
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'));
  assert.equal(h.tts.requests.at(-1), 'Sorry, I cannot hear you.');
  assert.equal(h.leg.queuedAtHangup, 0);
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'error_stt');
});

test('DTMF reaches the LLM as a user message', async () => {
  const llm = new ScriptedLlm().reply({ text: ['You pressed one.'] });
  const h = harness(llmBrain(llm));
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  h.leg.emit({ type: 'dtmf', digit: '1', durationMs: 100 });
  await h.until('reply', () => h.session.transcript.length === 2);
  assert.deepEqual(llm.requests[0]?.messages.at(-1), { role: 'user', content: '[the callee pressed 1]' });
});

test('max duration during a reply: the reply is cut (heard part kept), the wrap-up plays, then the end', async () => {
  const llm = new ScriptedLlm().reply({ endless: true });
  const h = harness(llmBrain(llm), { maxDurationMs: 3000, wrapUpLine: 'We are out of time.' });
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  await say(h, 'go on');
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'), 400);
  await llm.cancelled(0);
  const agent = h.session.transcript.filter((t) => t.speaker === 'agent');
  assert.equal(agent.length, 3);
  assert.equal(agent[1]?.interrupted, true);
  assert.match(agent[1]?.text ?? '', /^word0 word1/);
  assert.deepEqual([agent[2]?.text, agent[2]?.interrupted], ['We are out of time.', false]);
  assert.equal(h.leg.queuedAtHangup, 0);
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'max_duration_reached');
});

test('a 16 kHz-only VAD on an 8 kHz leg is fed resampled 20 ms frames, and barge-in still works', async () => {
  const llm = new ScriptedLlm();
  const h = harness(llmBrain(llm), { bargeIn: { minSpeechMs: 200 } }, [16000]);
  h.leg.answer(8000);
  await h.until('greeting audio', () => h.session.events.some((e) => e.type === 'agent_first_audio'));
  h.vad.speechStart();
  await h.until('barge-in', () => h.session.events.some((e) => e.type === 'agent_turn_interrupted'), 20);
  assert.ok(h.vad.frameLengths.length > 0);
  assert.ok(h.vad.frameLengths.every((n) => n === 320), 'every VAD frame is 20 ms at 16 kHz');
  assert.equal(h.session.transcript[0]?.interrupted, true);
});
