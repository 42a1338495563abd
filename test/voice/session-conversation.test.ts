import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ScriptedLlm } from '../../src/providers/llm/scripted.js';
import type { TtsProvider, TtsRequest } from '../../src/providers/tts/types.js';
import type { SttProvider } from '../../src/providers/stt/types.js';
import { FlowAgentBrain, type AgentBrain } from '../../src/voice/brain.js';
import { FlowBrain, type Flow } from '../../src/voice/flow/index.js';
import { LlmAgentBrain } from '../../src/voice/llm-brain.js';
import { spokenChunks } from '../../src/voice/primed-tts.js';
import { offerRate } from '../../src/telephony/offer-rate.js';
import { sttRateFor, VoiceSession, type VoiceSessionOptions } from '../../src/voice/session.js';
import type { Clock } from '../../src/time/clock.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { FakeLeg } from './helpers/fake-leg.js';
import { FakeStt, FakeVad, ToneTts } from './helpers/fakes.js';

const GREETING = 'Hello, this is Ada from the clinic. Do you have a minute?';

function harness(brain: AgentBrain, opts: Partial<VoiceSessionOptions> = {}, engines: { tts?: TtsProvider; stt?: SttProvider; clock?: VirtualClock } = {}) {
  const leg = new FakeLeg();
  const clock = engines.clock ?? new VirtualClock();
  const vad = new FakeVad();
  const stt = new FakeStt();
  const tts = engines.tts ?? new ToneTts();
  // pickupHelloWindowMs 0: these tests barge in right after the answer; the pickup-hello tests set it.
  const options: VoiceSessionOptions = { firstSpeaker: 'agent', bargeIn: { minSpeechMs: 200 }, inactivityTimeoutMs: 5000, maxDurationMs: 600_000, pickupHelloWindowMs: 0, ...opts };
  const session = new VoiceSession({ leg, tts, vad, stt: engines.stt ?? stt, brain, clock, options });
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
  const has = (type: string) => session.events.some((e) => e.type === type);
  /** The callee speaks for `ms` (the VAD hears it), then the recognizer gives `text`. */
  const says = async (text: string, ms = 400) => {
    vad.speechStart();
    await step(ms / 20);
    vad.speechEnd();
    stt.final(text);
  };
  return { leg, clock, vad, stt, tts, session, step, until, has, says };
}

const llmBrain = (llm = new ScriptedLlm()) => new LlmAgentBrain({ llm, systemPrompt: 'You are Ada.', greeting: GREETING });

test('a callee who hangs up right after a sentence keeps it in the transcript: the recognizer settles it after the end, and transcriptSettled waits for it', async () => {
  const llm = new ScriptedLlm();
  const h = harness(llmBrain(llm));
  h.leg.answer(8000);
  await h.until('greeting said', () => h.session.transcript.some((t) => t.speaker === 'agent'));
  // Their sentence; the VAD heard it end, the recognizer has not given its final yet: they hang up.
  h.vad.speechStart();
  await h.step(20);
  h.vad.speechEnd();
  h.stt.finalOnEnd('thanks that is all goodbye');
  await h.step(2);
  h.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  await h.session.transcriptSettled();
  const last = h.session.transcript.at(-1);
  assert.deepEqual([last?.speaker, last?.text], ['callee', 'thanks that is all goodbye'], JSON.stringify(h.session.transcript));
  assert.equal(llm.requests.length, 0, 'a call that is over asks the model nothing');
  assert.equal(h.session.events.filter((e) => e.type === 'ended').length, 1);

  // Still speaking when they hang up (no speech end from the VAD): the words are the last line all the same.
  const h2 = harness(llmBrain(new ScriptedLlm()));
  h2.leg.answer(8000);
  await h2.until('greeting said', () => h2.session.transcript.some((t) => t.speaker === 'agent'));
  h2.vad.speechStart();
  await h2.step(20);
  h2.stt.finalOnEnd('call me tomorrow');
  h2.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  await h2.session.transcriptSettled();
  assert.equal(h2.session.transcript.at(-1)?.text, 'call me tomorrow');
});

test('barge_in.enabled false: long speech over the agent does not cut it; the answer is replied to after it', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Noted.'] });
  const h = harness(llmBrain(llm), { bargeIn: { minSpeechMs: 200, enabled: false } });
  h.leg.answer(8000);
  await h.until('greeting audio', () => h.has('agent_first_audio'));
  h.vad.speechStart();
  await h.step(40); // 800 ms of speech: four times what would interrupt
  assert.equal(h.has('agent_turn_interrupted'), false);
  h.vad.speechEnd();
  h.stt.final('wait a second please');
  await h.until('reply', () => h.session.transcript.filter((t) => t.speaker === 'agent').length === 2);
  const inOrder = [...h.session.transcript].sort((a, b) => a.startMs - b.startMs);
  assert.deepEqual(inOrder.map((t) => [t.speaker, t.text, t.interrupted]), [
    ['agent', GREETING, false],
    ['callee', 'wait a second please', false],
    ['agent', 'Noted.', false],
  ]);
});

test('barge_in.min_words: speech alone does not cut the agent; a partial with enough words does', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Of course.'] });
  const h = harness(llmBrain(llm), { bargeIn: { minSpeechMs: 200, minWords: 3 } });
  h.leg.answer(8000);
  await h.until('greeting audio', () => h.has('agent_first_audio'));
  h.vad.speechStart();
  await h.step(20); // 400 ms: long enough, but no words yet
  assert.equal(h.has('agent_turn_interrupted'), false);
  h.stt.partial('mm hm');
  await h.step(2);
  assert.equal(h.has('agent_turn_interrupted'), false, 'two words are a backchannel, not a barge-in');
  h.stt.partial('sorry can you');
  await h.step();
  assert.ok(h.has('agent_turn_interrupted'), 'three words cut the agent off');
  assert.equal(h.session.transcript[0]?.interrupted, true);
});

test('barge_in.min_words with a recognizer that has no partials: the final cuts in, and its words are answered at once', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Sure, I will call later.'] });
  const h = harness(llmBrain(llm), { bargeIn: { minSpeechMs: 200, minWords: 2 } });
  h.leg.answer(8000);
  await h.until('greeting audio', () => h.has('agent_first_audio'));
  h.vad.speechStart();
  await h.step(20);
  h.vad.speechEnd();
  await h.step();
  assert.equal(h.has('agent_turn_interrupted'), false, 'no words yet');
  h.stt.final('call later');
  await h.until('reply', () => h.session.transcript.filter((t) => t.speaker === 'agent').length === 2, 300);
  assert.deepEqual(h.session.transcript.map((t) => [t.speaker, t.interrupted]), [
    ['agent', true],
    ['callee', false],
    ['agent', false],
  ]);
  assert.equal(h.session.transcript[1]?.text, 'call later', 'the words that cut in are the next turn, not lost');
});

const flow: Flow = {
  start: 'hi',
  nodes: {
    hi: { type: 'say', text: 'Hi, this is the clinic. Is this Sam?', next: 'check' },
    check: { type: 'branch', cases: [{ dtmf: '1', next: 'bye' }], default: 'ask' },
    ask: { type: 'say', text: 'I am calling about Tuesday.', next: 'listen' },
    listen: { type: 'listen', timeout_ms: 4000, next: 'bye', on_timeout: 'bye' },
    bye: { type: 'end', text: 'Goodbye.' },
  },
};

test('first_speaker callee with a flow: silence until the callee speaks, then the flow opens', async () => {
  const h = harness(new FlowAgentBrain(new FlowBrain(flow), async () => ({})), { firstSpeaker: 'callee' });
  h.leg.answer(8000);
  await h.step(50);
  assert.equal(h.leg.written.length, 0, 'the agent waits');
  assert.equal((h.tts as ToneTts).requests.length, 0, 'nothing is synthesized for a callee-first call before it is needed');
  h.vad.speechStart();
  await h.step(10);
  h.vad.speechEnd();
  h.stt.final('hello');
  await h.until('opening', () => h.has('agent_turn_finished'));
  assert.deepEqual(h.session.transcript.map((t) => [t.speaker, t.text]), [
    ['callee', 'hello'],
    ['agent', 'Hi, this is the clinic. Is this Sam? I am calling about Tuesday.'],
  ]);
});

test('first_speaker callee, callee silent: the inactivity prompt, then inactivity_timeout (flow or not)', async () => {
  for (const brain of [new FlowAgentBrain(new FlowBrain(flow), async () => ({})), llmBrain()]) {
    const h = harness(brain, { firstSpeaker: 'callee', inactivityTimeoutMs: 3000, inactivityPrompt: 'Hello, can you hear me?' });
    h.leg.answer(8000);
    await h.until('ended', () => h.has('ended'), 600);
    assert.deepEqual((h.tts as ToneTts).requests, ['Hello, can you hear me?']);
    const ended = h.session.events.at(-1);
    assert.deepEqual(ended?.type === 'ended' && ended.reason, 'inactivity_timeout');
    assert.ok(h.clock.now() >= 6000);
  }
});

test('a 16 kHz-only recognizer on a narrowband leg: a spoken apology, then error_stt with a clear message (no upsampled garbage)', async () => {
  // (pocketsphinx hears 8 kHz legs with its own model now, so only a 16 kHz-only fake shows this.)
  for (const stt of [new FakeStt([16000])]) {
    const h = harness(llmBrain(), { apologyLine: 'Sorry, this line is too poor for me to hear you. Goodbye.' }, { stt });
    h.leg.emit({ type: 'answered', codec: 'PCMU', sampleRate: 8000 });
    await h.until('ended', () => h.has('ended'), 500);
    const err = h.session.events.find((e) => e.type === 'error');
    assert.ok(err?.type === 'error');
    assert.deepEqual([err.source, err.code, err.endReason], ['stt', 'unsupported_audio', 'error_stt']);
    assert.match(err.message, /16000 Hz.*PCMU at 8000 Hz \(narrowband\).*wideband codec/);
    assert.deepEqual(h.session.transcript.map((t) => t.text), ['Sorry, this line is too poor for me to hear you. Goodbye.'], 'no greeting, only the apology');
    assert.equal(h.leg.queuedAtHangup, 0, 'the apology was heard in full');
    const ended = h.session.events.at(-1);
    assert.deepEqual(ended?.type === 'ended' && ended.reason, 'error_stt');
  }
  // Its pushed frames never reach a recognizer that was never started.
  const fake = new FakeStt([16000]);
  const h = harness(llmBrain(), {}, { stt: fake });
  h.leg.answer(8000);
  await h.step(10);
  assert.equal(fake.pushed, 0);
});

test('sttRateFor: the leg rate, else the best lower rate; never upsampled', () => {
  assert.equal(sttRateFor(16000, [16000]), 16000);
  assert.equal(sttRateFor(48000, [8000, 16000]), 16000);
  assert.equal(sttRateFor(8000, [16000]), undefined);
  assert.equal(sttRateFor(8000, [8000, 16000]), 8000);
  assert.equal(sttRateFor(8000, []), 8000);
});

/** A TTS that takes `delayMs` of (virtual) time before its first audio, like a slow engine or a cloud vendor. */
class SlowTts implements TtsProvider {
  readonly name = 'slow';
  readonly capabilities = { streaming: true, nativeSampleRates: [16000] };
  readonly requests: Array<{ text: string; atMs: number; rate?: number }> = [];
  readonly aborted: string[] = [];
  constructor(
    private readonly clock: Clock,
    private readonly delayMs: number,
  ) {}
  async *synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    this.requests.push({ text: req.text, atMs: this.clock.now(), rate: req.sampleRate });
    req.signal?.addEventListener('abort', () => this.aborted.push(req.text), { once: true });
    await new Promise<void>((r) => this.clock.setTimer(this.delayMs, r));
    if (req.signal?.aborted) return;
    for (const _ of req.text.split(/\s+/)) yield new Int16Array(req.sampleRate / 10).fill(2000);
  }
}

test('the greeting is made while the phone rings: the first frame is written at answer time even with a slow TTS, never before', async () => {
  const clock = new VirtualClock();
  const tts = new SlowTts(clock, 1500);
  const h = harness(llmBrain(), {}, { tts, clock });
  // Ringing for 3 s; the engine needs 1.5 s.
  for (let i = 0; i < 150; i++) await h.step();
  assert.equal(h.leg.written.length, 0, 'no audio before answer (no early media)');
  assert.deepEqual(tts.requests.map((r) => [r.text, r.atMs, r.rate]), [['Hello, this is Ada from the clinic.', 0, 16000], ['Do you have a minute?', 0, 16000]]);
  const answeredAt = clock.now();
  h.leg.answer(8000);
  await new Promise((r) => setImmediate(r)); // promise callbacks only: the virtual clock does not move
  assert.equal(clock.now(), answeredAt);
  assert.ok(h.leg.written.length > 0, 'first frame written at the instant of answer');
  assert.equal(h.leg.written[0]?.length, 160, 'at the leg rate (made at 16 kHz, resampled to 8 kHz)');
  const first = h.session.events.find((e) => e.type === 'agent_first_audio');
  assert.equal(first?.type === 'agent_first_audio' && first.atMs, answeredAt);
  await h.until('greeting recorded', () => h.session.transcript.length === 1);
  assert.deepEqual(h.session.transcript.map((t) => [t.speaker, t.text, t.startMs]), [['agent', GREETING, 0]], 'the transcript is what it always was (the greeting starts at the answer)');
  assert.equal(tts.requests.length, 2, 'the engine was not asked again at answer');
});

test('expectedSampleRate: a narrowband-first offer gets its opening made at 8 kHz (no resampling hop); a wideband answer still gets 16 kHz frames', async () => {
  for (const [answer, frame] of [[8000, 160], [16000, 320]] as const) {
    const clock = new VirtualClock();
    const tts = new SlowTts(clock, 100);
    const h = harness(llmBrain(), { expectedSampleRate: 8000 }, { tts, clock });
    for (let i = 0; i < 10; i++) await h.step();
    assert.deepEqual(tts.requests.map((r) => r.rate), [8000, 8000], 'made at the expected rate while ringing');
    h.leg.answer(answer);
    await h.until('first frame', () => h.leg.written.length > 0);
    assert.equal(h.leg.written[0]?.length, frame, `frames at the answered rate ${answer}`);
  }
  assert.equal(offerRate(['PCMU', 'L16/16000']), 8000);
  assert.equal(offerRate(['G722', 'PCMU']), 16000);
  assert.equal(offerRate(['L16/16000']), 16000);
  assert.equal(offerRate(undefined), 8000, 'the default offer is PCMU first');
});

test('without an opening known in advance the same slow TTS delays the first frame (the control)', async () => {
  const clock = new VirtualClock();
  const tts = new SlowTts(clock, 1500);
  const h = harness(new LlmAgentBrain({ llm: new ScriptedLlm().reply({ text: ['Hello there.'] }), systemPrompt: 'p' }), {}, { tts, clock });
  for (let i = 0; i < 150; i++) await h.step();
  assert.equal(tts.requests.length, 0);
  const answeredAt = clock.now();
  h.leg.answer(8000);
  await h.until('first audio', () => h.has('agent_first_audio'));
  const first = h.session.events.find((e) => e.type === 'agent_first_audio');
  assert.ok(first?.type === 'agent_first_audio' && first.atMs >= answeredAt + 1500, 'synthesis started only at answer');
});

test("a flow's opening (say nodes up to the first listen, through a branch's default) is made before answer and spoken from it", async () => {
  const brain = new FlowAgentBrain(new FlowBrain(flow), async () => ({}));
  assert.deepEqual(spokenChunks(brain.opening()), ['Hi, this is the clinic.', 'Is this Sam?', 'I am calling about Tuesday.']);
  const clock = new VirtualClock();
  const tts = new SlowTts(clock, 1000);
  const h = harness(brain, {}, { tts, clock });
  await h.step(100);
  assert.equal(tts.requests.length, 3);
  h.leg.answer(16000);
  await new Promise((r) => setImmediate(r));
  assert.ok(h.leg.written.length > 0, 'first frame at answer');
  assert.equal(h.leg.written[0]?.length, 320);
  await h.until('opening played', () => h.has('agent_turn_finished'));
  assert.equal(h.session.transcript[0]?.text, 'Hi, this is the clinic. Is this Sam? I am calling about Tuesday.');
  assert.equal(h.session.transcript[0]?.startMs, 0, 'the opening starts at the answer');
  assert.equal(tts.requests.length, 3, 'every chunk came from the audio made while ringing');
});

test('a hang-up before answer kills the pre-synthesis; a barge-in during the greeting drops the rest of it', async () => {
  const clock = new VirtualClock();
  const tts = new SlowTts(clock, 10_000);
  const h = harness(llmBrain(), {}, { tts, clock });
  h.leg.emit({ type: 'ended', sipStatusCode: 486, reason: 'busy', by: 'remote', outcome: 'busy' });
  assert.deepEqual(tts.aborted, ['Hello, this is Ada from the clinic.', 'Do you have a minute?'], 'synthesis stopped at once');
  await h.step(600);
  assert.equal(h.leg.written.length, 0);
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'callee_hangup');

  const h2 = harness(llmBrain(new ScriptedLlm().reply({ text: ['Okay.'] })));
  h2.leg.answer(8000);
  await h2.until('greeting audio', () => h2.has('agent_first_audio'));
  h2.vad.speechStart();
  await h2.until('barge-in', () => h2.has('agent_turn_interrupted'), 30);
  h2.vad.speechEnd();
  h2.stt.final('who is this');
  await h2.until('reply', () => h2.session.transcript.filter((t) => t.speaker === 'agent').length === 2);
  assert.equal(h2.session.transcript.at(-1)?.text, 'Okay.');
});

test('a sentence the recognizer splits in two, its second half late: one callee turn, one reply', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Great.'] });
  const h = harness(llmBrain(llm));
  h.leg.answer(8000);
  await h.until('greeting done', () => h.session.transcript.some((t) => t.speaker === 'agent'));
  h.vad.speechStart();
  await h.step(10);
  h.stt.final('yes'); // ends at the comma
  await h.step(40); // "I have a minute" goes on for 800 ms
  h.vad.speechEnd();
  await h.step(10); // 200 ms with the words for the end of the speech still in the recognizer
  assert.deepEqual(h.session.transcript.filter((t) => t.speaker === 'callee'), [], 'no turn on "yes" alone');
  h.stt.final('i have a minute');
  await h.until('reply', () => h.session.transcript.filter((t) => t.speaker === 'agent').length === 2);
  assert.deepEqual(h.session.transcript.slice(1).map((t) => [t.speaker, t.text]), [['callee', 'yes i have a minute'], ['agent', 'Great.']]);
  assert.deepEqual(llm.requests.at(-1)?.messages.at(-1), { role: 'user', content: 'yes i have a minute' });
});

test('when the words for the end of the speech never come, the words held are the turn after the settle wait', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Great.'] });
  const h = harness(llmBrain(llm));
  h.leg.answer(8000);
  await h.until('greeting done', () => h.session.transcript.some((t) => t.speaker === 'agent'));
  h.vad.speechStart();
  await h.step(10);
  h.stt.final('yes');
  await h.step(40); // a cough the recognizer drops
  h.vad.speechEnd();
  await h.step(50); // 1000 ms: still waiting
  assert.deepEqual(h.session.transcript.filter((t) => t.speaker === 'callee'), []);
  await h.until('the held words as a turn', () => h.session.transcript.some((t) => t.speaker === 'callee'), 20);
  assert.deepEqual(h.session.transcript.filter((t) => t.speaker === 'callee').map((t) => t.text), ['yes']);
  await h.until('reply', () => h.session.transcript.filter((t) => t.speaker === 'agent').length === 2);
});

test('a pickup "Hello?" over the opening does not cut it off and gets no answer of its own; it stays in the transcript', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Great.'] });
  const h = harness(llmBrain(llm), { pickupHelloWindowMs: 2000 });
  h.leg.answer(8000);
  await h.until('greeting audio', () => h.has('agent_first_audio'));
  h.vad.speechStart(); // they say hello as they pick up
  await h.step(40); // 800 ms: four times what barges in otherwise
  assert.equal(h.has('agent_turn_interrupted'), false, 'no words yet: the opening goes on');
  h.vad.speechEnd();
  h.stt.final('hello');
  await h.until('the opening to finish', () => h.session.transcript.some((t) => t.speaker === 'agent'));
  assert.equal(h.has('agent_turn_interrupted'), false, 'a hello does not cut it off');
  await h.step(50);
  assert.deepEqual(h.session.transcript.map((t) => [t.speaker, t.text, t.interrupted]), [
    ['callee', 'hello', false],
    ['agent', GREETING, false],
  ]);
  assert.equal(llm.requests.length, 0, 'their hello is no question for the model');
  // Their next words are a turn as usual.
  h.vad.speechStart();
  await h.step(20);
  h.vad.speechEnd();
  h.stt.final('yes I have a minute');
  await h.until('reply', () => h.session.transcript.filter((t) => t.speaker === 'agent').length === 2);
  assert.deepEqual(llm.requests.at(-1)?.messages.at(-1), { role: 'user', content: 'yes I have a minute' });
});

for (const heard of ['oh oh', 'whoa']) test(`a pickup hello heard without its start ("${heard}") is a pickup hello too`, async () => {
  const llm = new ScriptedLlm().reply({ text: ['Great.'] });
  const h = harness(llmBrain(llm), { pickupHelloWindowMs: 2000 });
  h.leg.answer(8000);
  await h.until('greeting audio', () => h.has('agent_first_audio'));
  h.vad.speechStart();
  await h.step(30);
  h.vad.speechEnd();
  h.stt.final(heard);
  await h.until('the opening to finish', () => h.session.transcript.some((t) => t.speaker === 'agent'));
  assert.equal(h.has('agent_turn_interrupted'), false, 'the opening goes on');
  await h.step(50);
  assert.deepEqual(h.session.transcript.map((t) => [t.speaker, t.text, t.interrupted]), [
    ['callee', heard, false],
    ['agent', GREETING, false],
  ]);
  assert.equal(llm.requests.length, 0, 'no answer of its own');
});

test('at the pickup, words that are more than a hello cut the opening off, and so does speech longer than a hello', async () => {
  const h = harness(llmBrain(new ScriptedLlm().reply({ text: ['It is Ada.'] })), { pickupHelloWindowMs: 2000 });
  h.leg.answer(8000);
  await h.until('greeting audio', () => h.has('agent_first_audio'));
  h.vad.speechStart();
  await h.step(20);
  h.stt.partial('who is');
  await h.step();
  assert.ok(h.has('agent_turn_interrupted'), 'words that are no hello barge in');

  const LONG = `${GREETING} I am calling about the appointment you booked for next Tuesday morning at ten.`; // 3 s of tone
  const h2 = harness(new LlmAgentBrain({ llm: new ScriptedLlm().reply({ text: ['Sorry.'] }), systemPrompt: 'You are Ada.', greeting: LONG }), { pickupHelloWindowMs: 2000 });
  h2.leg.answer(8000);
  await h2.until('greeting audio', () => h2.has('agent_first_audio'));
  h2.vad.speechStart();
  await h2.step(60); // 1.2 s without words: could still be a long hello
  assert.equal(h2.has('agent_turn_interrupted'), false);
  await h2.step(20); // past 1.5 s: not a hello any more
  assert.ok(h2.has('agent_turn_interrupted'));
});

test('early words that are not a hello are answered as usual; a hello after the first answer is a turn too', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Sure.'] }).reply({ text: ['Yes, still here.'] });
  const h = harness(llmBrain(llm), { pickupHelloWindowMs: 2000 });
  h.leg.answer(8000);
  await h.until('greeting audio', () => h.has('agent_first_audio'));
  h.vad.speechStart();
  await h.step(20);
  h.vad.speechEnd();
  h.stt.final('who gave you my number');
  await h.until('reply', () => llm.requests.length === 1);
  assert.deepEqual(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'who gave you my number' });
  await h.until('reply spoken', () => h.session.transcript.filter((t) => t.speaker === 'agent').length === 2);
  h.vad.speechStart();
  await h.step(20);
  h.vad.speechEnd();
  h.stt.final('hello');
  await h.until('second reply', () => llm.requests.length === 2);
});

test('while who answered is being decided, the callee\'s words wait: answered on a person\'s verdict, dropped on a machine\'s', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Great.'] });
  const h = harness(llmBrain(llm));
  const host = h.session.machineHost();
  h.leg.answer(8000);
  host.awaitVerdict();
  await h.until('greeting done', () => h.session.transcript.some((t) => t.speaker === 'agent'));
  h.vad.speechStart();
  await h.step(20);
  h.vad.speechEnd();
  h.stt.final('yes I have a minute');
  await h.step(50);
  assert.equal(llm.requests.length, 0, 'no reply before the verdict');
  assert.deepEqual(h.session.transcript.at(-1)?.text, 'yes I have a minute', 'the words are in the transcript meanwhile');
  host.verdictReached(false);
  await h.until('reply', () => h.session.transcript.filter((t) => t.speaker === 'agent').length === 2);
  assert.deepEqual(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'yes I have a minute' });

  const llm2 = new ScriptedLlm();
  const h2 = harness(llmBrain(llm2));
  const host2 = h2.session.machineHost();
  h2.leg.answer(8000);
  host2.awaitVerdict();
  await h2.until('greeting done', () => h2.session.transcript.some((t) => t.speaker === 'agent'));
  h2.vad.speechStart();
  await h2.step(20);
  h2.vad.speechEnd();
  h2.stt.final('you have reached Sam');
  await h2.step(10);
  host2.holdForMachine();
  host2.verdictReached(true);
  await h2.step(50);
  assert.equal(llm2.requests.length, 0, "a machine's words get no reply");
});

test('screening: the agent stops for the assistant, says its screening response, ignores the assistant, then opens again for the person and answers them', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Great, it is about your cleaning on Tuesday.'] });
  const h = harness(llmBrain(llm));
  const host = h.session.machineHost();
  h.leg.answer(8000);
  host.awaitVerdict();
  await h.step(5);
  host.holdForScreening();
  await h.until('greeting cut', () => h.session.transcript.some((t) => t.speaker === 'agent' && t.interrupted));
  host.answerScreening('This is Ada from the clinic, about your appointment.');
  await h.until('response said', () => h.session.transcript.some((t) => t.speaker === 'agent' && t.text.startsWith('This is Ada from the clinic, about')));
  await h.says('stay on the line while I see if this person is available');
  await h.step(50);
  assert.equal(llm.requests.length, 0, "the assistant's words get no reply");
  // The person picks up: their words are heard while they still speak; that speech must not barge in
  // on the opening it is owed.
  h.vad.speechStart();
  await h.step(20);
  host.pickedUp();
  await h.step(40);
  h.vad.speechEnd();
  h.stt.final('hello yes this is Sam');
  await h.until('opened again', () => h.session.transcript.filter((t) => t.speaker === 'agent' && t.text === GREETING).length === 1);
  assert.equal(h.session.transcript.find((t) => t.speaker === 'agent' && t.text === GREETING)?.interrupted, false, 'the opening played whole');
  await h.step(50);
  assert.equal(llm.requests.length, 0, 'the hello that was the pickup is not an answer to the opening');
  assert.ok(h.session.transcript.some((t) => t.speaker === 'callee' && t.text === 'hello yes this is Sam'), 'it is in the transcript');
  await h.says('yes I have a minute');
  await h.until('reply', () => llm.requests.length === 1);
  assert.deepEqual(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'yes I have a minute' });
});

test('gate_greeting: the opening waits for openGate (nothing is said before it), then the brain opens as usual', async () => {
  const llm = new ScriptedLlm();
  const h = harness(llmBrain(llm), { gateOpening: true });
  const host = h.session.machineHost();
  h.leg.answer(8000);
  host.awaitVerdict();
  await h.step(100);
  assert.equal(h.session.events.some((e) => e.type === 'agent_turn_started'), false, 'nothing said while who answered is decided');
  host.openGate();
  host.verdictReached(false);
  await h.until('greeting said', () => h.session.transcript.some((t) => t.speaker === 'agent' && t.text === GREETING));
  host.openGate();
  await h.step(100);
  assert.equal(h.session.transcript.filter((t) => t.speaker === 'agent').length, 1, 'a second openGate says nothing more');
});

test('gate_greeting with a screening assistant: the brain opens for the first time when the person picks up', async () => {
  const llm = new ScriptedLlm();
  const h = harness(llmBrain(llm), { gateOpening: true });
  const host = h.session.machineHost();
  h.leg.answer(8000);
  host.awaitVerdict();
  await h.step(20);
  host.holdForScreening();
  host.answerScreening(undefined);
  await h.until('response said', () => h.session.transcript.some((t) => t.speaker === 'agent' && t.text === GREETING));
  host.pickedUp();
  await h.until('opened', () => h.session.transcript.filter((t) => t.speaker === 'agent' && t.text === GREETING).length === 2);
  assert.equal(llm.requests.length, 0, 'the greeting is the opening: no model call');
});

test('a machine verdict taken back: the agent, silent for the beep, opens again for the person and converses', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Wonderful.'] });
  const h = harness(llmBrain(llm));
  const host = h.session.machineHost();
  h.leg.answer(8000);
  host.awaitVerdict();
  await h.step(5);
  host.holdForMachine();
  host.prepareLine?.('Please call us back.');
  host.verdictReached(true);
  await h.until('greeting cut', () => h.session.transcript.some((t) => t.speaker === 'agent' && t.interrupted));
  await h.says('hello doctor lees office how can i help you');
  await h.step(20);
  host.pickedUp();
  await h.until('opened again', () => h.session.transcript.some((t) => t.speaker === 'agent' && !t.interrupted && t.text === GREETING));
  await h.says('sure go ahead');
  await h.until('reply', () => llm.requests.length === 1);
  assert.deepEqual(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'sure go ahead' });
});

test('gate_greeting: what the callee says before the opening (their hello, misheard or not) is transcript only: the opening answers it', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Great.'] });
  const h = harness(llmBrain(llm), { gateOpening: true });
  const host = h.session.machineHost();
  h.leg.answer(8000);
  host.awaitVerdict();
  await h.says('oh');
  await h.step(30);
  host.openGate();
  host.verdictReached(false);
  await h.until('greeting said', () => h.session.transcript.some((t) => t.speaker === 'agent' && t.text === GREETING));
  await h.step(100);
  assert.equal(llm.requests.length, 0, 'the hello is not answered after the greeting');
  assert.equal(h.session.transcript[0]?.text, 'oh', 'it is in the transcript');
  await h.says('yes I have a minute');
  await h.until('reply', () => llm.requests.length === 1);
  assert.deepEqual(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'yes I have a minute' });
});

test('gate_greeting: a hello the VAD missed (still loading at the answer) is still transcript only, by the recognizer\'s own times', async () => {
  const llm = new ScriptedLlm().reply({ text: ['Great.'] });
  const h = harness(llmBrain(llm), { gateOpening: true });
  const host = h.session.machineHost();
  h.leg.answer(8000);
  host.awaitVerdict();
  await h.step(10);
  host.openGate();
  host.verdictReached(false);
  await h.step(20);
  // The recognizer's final for words that began before the opening was released, no VAD event for
  // them: by the clock they are after it.
  h.stt.final('hello');
  await h.until('greeting said', () => h.session.transcript.some((t) => t.speaker === 'agent' && t.text === GREETING));
  await h.step(100);
  assert.equal(llm.requests.length, 0, 'not answered');
  assert.ok(h.session.transcript.some((t) => t.speaker === 'callee' && t.text === 'hello'));
});

test('gate_greeting: an openGate while the agent waits out a machine keeps the opening held; a pickup then starts the brain (once)', async () => {
  const llm = new ScriptedLlm();
  const h = harness(llmBrain(llm), { gateOpening: true });
  const host = h.session.machineHost();
  h.leg.answer(8000);
  host.awaitVerdict();
  await h.step(10);
  host.holdForMachine();
  host.verdictReached(true);
  host.openGate();
  await h.step(50);
  assert.equal(h.session.transcript.some((t) => t.speaker === 'agent'), false, 'nothing said to the machine');
  host.pickedUp();
  await h.until('opened', () => h.session.transcript.some((t) => t.speaker === 'agent' && t.text === GREETING));
  await h.step(100);
  assert.equal(h.session.transcript.filter((t) => t.speaker === 'agent').length, 1, 'one opening');
  llm.reply({ text: ['Great.'] });
  await h.says('yes I have a minute');
  await h.until('reply', () => llm.requests.length === 1);
  const messages = llm.requests[0]?.messages ?? [];
  assert.equal(messages.filter((m) => m.role === 'assistant' && m.content === GREETING).length, 1, 'the brain itself opened (its greeting is in the model\'s history), not a line said for it');
});
