import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Flow } from '../../src/voice/flow/index.js';
import type { TranscriptTurn, VoiceEvent } from '../../src/voice/events.js';
import { MediaRuntime, type PrepareVoice, type VoiceCall } from '../../src/worker/media/media-runtime.js';
import type { AnswerCommand, DialCommand, WorkerEvent } from '../../src/worker/protocol.js';
import { dialCommand } from './dial-command.js';
import { brainFor, sessionOptionsFor, voicePreparer } from '../../src/worker/media/voice-call.js';
import { SpeechRegistry } from '../../src/providers/registry.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { FakeLeg } from '../voice/helpers/fake-leg.js';
import { FakeStt, FakeVad, ToneTts } from '../voice/helpers/fakes.js';
import type { AgentRow } from '../../src/store/agent-rows.js';
import type { Leg } from '../../src/voice/leg.js';
import type { VoiceCallSpec } from '../../src/voice/spec.js';
import { conversationFor, greetingOnlyVoiceSpecFor, voiceSpecFor } from '../../src/agents/voice-spec.js';

/** The voice tests' leg, which reports its own end after a hangup or cancel as a real CallLeg does. */
class AudioLeg extends FakeLeg {
  hangupEndsCall = true;
  override async hangup(): Promise<void> {
    await super.hangup();
    // A real leg reports its own end after the BYE.
    if (this.hangupEndsCall) this.emit({ type: 'ended', sipStatusCode: 200, reason: 'local hangup', by: 'local', outcome: 'completed' });
  }
  override async cancel(): Promise<void> {
    await super.cancel();
    this.emit({ type: 'ended', sipStatusCode: 487, reason: 'canceled', by: 'local', outcome: 'canceled' });
  }
}

const flow: Flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Hello {{name}}, shall we meet on Tuesday?', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 5000, next: 'decide', on_timeout: 'bye' },
    decide: { type: 'branch', cases: [{ keywords: ['yes'], next: 'great' }], default: 'bye' },
    great: { type: 'say', text: 'Great, see you then.', next: 'bye' },
    bye: { type: 'end' },
  },
};

const cmd = dialCommand;

const voiceCmd = (over: Partial<DialCommand> = {}) =>
  cmd({ voice: { flow, systemPrompt: '', dynamicVariables: { name: 'Ana' } }, ...over });

/** A scripted stand-in for the session: the test decides what it does with the leg. */
function fakeVoice() {
  const made: Array<{ cmd: DialCommand | AnswerCommand; leg: Leg; onEvent: (e: VoiceEvent) => void; frames: Int16Array[]; transcript: TranscriptTurn[] }> = [];
  const prepare: PrepareVoice = (c) => (leg, onEvent) => {
    const v = { cmd: c, leg, onEvent, frames: [] as Int16Array[], transcript: [] as TranscriptTurn[] };
    made.push(v);
    const call: VoiceCall = { pushAudio: (f) => v.frames.push(f), transcript: v.transcript };
    return call;
  };
  return { made, prepare };
}

function runtime(prepareVoice?: PrepareVoice) {
  const events: WorkerEvent[] = [];
  const legs: AudioLeg[] = [];
  const rt = new MediaRuntime({
    tts: new ToneTts(),
    emit: (e) => events.push(e),
    dialLeg: async () => {
      const l = new AudioLeg();
      legs.push(l);
      return l;
    },
    ...(prepareVoice ? { prepareVoice } : {}),
  });
  return { rt, events, legs };
}

const tick = () => new Promise((r) => setImmediate(r));

test('a dial with voice runs the voice agent: session made before answer, callee audio fed, no greeting, no runtime hang-up', async () => {
  const v = fakeVoice();
  const { rt, events, legs } = runtime(v.prepare);
  rt.handle(voiceCmd());
  await tick();
  const leg = legs[0];
  assert.ok(leg);
  assert.equal(v.made.length, 1, 'session attached to the dialed leg before answer');
  assert.equal(v.made[0]?.leg, leg);
  leg.answer(16000);
  await tick();
  leg.hear(new Int16Array(320));
  leg.hear(new Int16Array(320));
  assert.equal(v.made[0]?.frames.length, 2);
  // The runtime neither plays its greeting nor hangs up: the session owns the call.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(leg.written.length, 0);
  assert.deepEqual(leg.calls, []);
  // The session decides to end: its reason and transcript become the call's.
  v.made[0]?.transcript.push({ speaker: 'agent', text: 'Bye.', startMs: 0, endMs: 1, interrupted: false });
  v.made[0]?.onEvent({ type: 'end_requested', reason: 'inactivity_timeout', atMs: 1 });
  rt.handle({ type: 'cancel', callId: 'c1' }); // a late cancel must not hang up a second time
  await leg.hangup();
  const ended = events.find((e) => e.type === 'ended');
  assert.ok(ended?.type === 'ended');
  assert.equal(ended.endReason, 'inactivity_timeout');
  assert.deepEqual(ended.transcript?.map((t) => t.text), ['Bye.']);
  assert.deepEqual(leg.calls, ['hangup']);
  assert.equal(rt.activeCalls, 0);
});

test('a provider switch reported during a call is kept, in order, with its time from answer, and logged', async () => {
  const v = fakeVoice();
  const { rt, events, legs } = runtime(v.prepare);
  rt.handle(voiceCmd());
  await tick();
  legs[0]?.answer(16000);
  await tick();
  const f1 = { kind: 'llm' as const, from: 'anthropic', to: 'openai', code: 'provider_unavailable', message: 'overloaded' };
  const f2 = { kind: 'tts' as const, from: 'elevenlabs', to: 'espeak-ng', code: 'provider_timeout', message: 'no audio in 5000 ms' };
  v.made[0]?.onEvent({ type: 'provider_fallback', fallback: f1 });
  await new Promise((r) => setTimeout(r, 30));
  v.made[0]?.onEvent({ type: 'provider_fallback', fallback: f2 });
  legs[0]?.emit({ type: 'ended', sipStatusCode: 200, reason: 'remote BYE', by: 'remote', outcome: 'completed' });
  await tick();
  const ended = events.find((e) => e.type === 'ended');
  assert.ok(ended?.type === 'ended');
  const got = ended.timings?.providerFallbacks ?? [];
  assert.deepEqual(got.map(({ atMs: _at, ...f }) => f), [f1, f2]);
  assert.ok((got[1]?.atMs ?? 0) >= 25 && (got[0]?.atMs ?? -1) >= 0 && (got[0]?.atMs ?? 99) < (got[1]?.atMs ?? 0), JSON.stringify(got));
  assert.ok(events.some((e) => e.type === 'log' && /llm provider anthropic failed \(provider_unavailable: overloaded\); openai takes over/.test(e.message)));
});

test('a voice call the callee hangs up ends callee_hangup with the transcript so far; a cancel before answer ends canceled_by_api, no transcript', async () => {
  const v = fakeVoice();
  const { rt, events, legs } = runtime(v.prepare);
  rt.handle(voiceCmd());
  rt.handle(voiceCmd({ callId: 'c2' }));
  await tick();
  legs[0]?.answer(16000);
  legs[0]?.emit({ type: 'ended', sipStatusCode: 200, reason: 'remote BYE', by: 'remote', outcome: 'completed' });
  rt.handle({ type: 'cancel', callId: 'c2' });
  await tick();
  const ends = events.filter((e) => e.type === 'ended');
  assert.deepEqual(ends.map((e) => e.type === 'ended' && [e.callId, e.endReason, e.transcript?.length]), [
    ['c1', 'callee_hangup', 0],
    ['c2', 'canceled_by_api', undefined],
  ]);
  assert.deepEqual(legs[1]?.calls, ['cancel']);
});

test('without prepareVoice, or without voice in the command, the call stays greeting-only (its transcript: the greeting it played)', async () => {
  const v = fakeVoice();
  const { rt, events, legs } = runtime(v.prepare);
  rt.handle(cmd());
  await tick();
  assert.equal(v.made.length, 0);
  const leg = legs[0];
  assert.ok(leg);
  leg.answer(8000);
  for (let i = 0; i < 200 && leg.written.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(leg.written.length > 0, 'greeting played');
  leg.queued = 0;
  leg.emit({ type: 'drained' });
  for (let i = 0; i < 200 && !events.some((e) => e.type === 'ended'); i++) await new Promise((r) => setTimeout(r, 5));
  const ended = events.find((e) => e.type === 'ended');
  assert.ok(ended?.type === 'ended');
  assert.equal(ended.endReason, 'agent_hangup');
  assert.deepEqual(ended.transcript?.map((t) => [t.speaker, t.text, t.interrupted]), [['agent', 'Hello', false]]);
  assert.ok(events.some((e) => e.type === 'greeting-started'));
});

test('a voice agent that cannot start fails the call before dialing', async () => {
  const { rt, events, legs } = runtime(voicePreparer({ engines: { tts: new ToneTts(), vad: new FakeVad(), stt: new FakeStt() }, clock: new VirtualClock() }));
  rt.handle(voiceCmd({ voice: { flow: { start: 'nowhere', nodes: {} }, systemPrompt: '', dynamicVariables: {} } }));
  await tick();
  assert.equal(legs.length, 0);
  const ended = events.find((e) => e.type === 'ended');
  assert.ok(ended?.type === 'ended');
  assert.equal(ended.status, 'failed');
  assert.equal(ended.endReason, 'dial_error');
  assert.equal(ended.transcript, undefined);
});

test('the real VoiceSession through the runtime: flow greeting, "yes", reply, agent hang-up; transcript in ended', async () => {
  const clock = new VirtualClock();
  const vad = new FakeVad();
  const stt = new FakeStt();
  const { rt, events, legs } = runtime(voicePreparer({ engines: { tts: new ToneTts(), vad, stt }, clock }));
  rt.handle(voiceCmd());
  await tick();
  const leg = legs[0];
  assert.ok(leg);
  // The phone rang for a minute: the session clock is far from its origin at the answer.
  await clock.advanceAsync(60_000);
  leg.answer(16000);
  const step = async () => {
    leg.play(20);
    leg.hear(new Int16Array(320));
    await clock.advanceAsync(20);
  };
  const until = async (what: string, pred: () => boolean) => {
    for (let i = 0; i < 3000 && !pred(); i++) await step();
    assert.ok(pred(), `timed out waiting for ${what}`);
  };
  await until('greeting-started', () => events.some((e) => e.type === 'greeting-started'));
  await until('greeting played', () => leg.queued === 0);
  for (let i = 0; i < 5; i++) await step();
  vad.speechStart();
  for (let i = 0; i < 10; i++) await step();
  vad.speechEnd();
  stt.final('yes please');
  await until('ended', () => events.some((e) => e.type === 'ended'));
  const ended = events.find((e) => e.type === 'ended');
  assert.ok(ended?.type === 'ended');
  assert.equal(ended.endReason, 'agent_hangup');
  assert.equal(ended.status, 'completed');
  assert.deepEqual(ended.transcript?.map((t) => [t.speaker, t.text.trim()]), [
    ['agent', 'Hello Ana, shall we meet on Tuesday?'],
    ['callee', 'yes please'],
    ['agent', 'Great, see you then.'],
  ]);
  assert.deepEqual(leg.calls, ['hangup'], 'hung up once, by the session');
  // Each line was also reported live, before the end, with the same content as the stored one.
  const live = events.filter((e) => e.type === 'turn');
  assert.deepEqual(live.map((e) => e.type === 'turn' && e.turn), ended.transcript);
  assert.ok(events.indexOf(live.at(-1)!) < events.indexOf(ended));
  // Times count from the answer: the first line starts within the first second, not at clock origin + uptime.
  assert.ok(ended.transcript![0]!.startMs < 1000, `greeting starts ${ended.transcript![0]!.startMs} ms after answer`);
  assert.ok(events.some((e) => e.type === 'latency'), 'the reply reported its latency');
});

test("the callee's last sentence, settled by the recognizer only after they hung up, is in the ended event's transcript", async () => {
  const clock = new VirtualClock();
  const vad = new FakeVad();
  const stt = new FakeStt();
  const { rt, events, legs } = runtime(voicePreparer({ engines: { tts: new ToneTts(), vad, stt }, clock }));
  rt.handle(voiceCmd());
  await tick();
  const leg = legs[0];
  assert.ok(leg);
  leg.answer(16000);
  const step = async () => {
    leg.play(20);
    leg.hear(new Int16Array(320));
    await clock.advanceAsync(20);
  };
  for (let i = 0; i < 3000 && !events.some((e) => e.type === 'greeting-started'); i++) await step();
  vad.speechStart();
  for (let i = 0; i < 10; i++) await step();
  vad.speechEnd();
  stt.finalOnEnd('no thanks not interested');
  leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  for (let i = 0; i < 50 && !events.some((e) => e.type === 'ended'); i++) await tick();
  const ended = events.find((e) => e.type === 'ended');
  assert.ok(ended?.type === 'ended');
  assert.equal(ended.endReason, 'callee_hangup');
  assert.deepEqual(ended.transcript?.at(-1) && [ended.transcript.at(-1)?.speaker, ended.transcript.at(-1)?.text], ['callee', 'no thanks not interested']);
  assert.equal(rt.activeCalls, 0);
});

test('brainFor: flow wins; llm without flow; neither throws', () => {
  assert.equal(brainFor({ flow, systemPrompt: '', dynamicVariables: { name: 'x' } }).ownsTimeouts, true);
  assert.equal(brainFor({ llm: { provider: 'ollama', model: 'm' }, systemPrompt: 'p', dynamicVariables: {} }).ownsTimeouts, false);
  assert.throws(() => brainFor({ systemPrompt: '', dynamicVariables: {} }));
});

test('voiceSpecFor: greeting-only agents get none; flow and llm (with the key) travel to the worker', () => {
  const base = {
    system_prompt: 'Be brief.', greeting: 'Hi {{name}}', language: 'en-US', voice: null, tts: null, stt: null, llm: null, flow: null,
  } as unknown as AgentRow;
  const call = { callContext: 'VIP', dynamicVariables: { name: 'Ana' } };
  assert.equal(voiceSpecFor(base, call, {}), undefined);
  const withFlow = voiceSpecFor({ ...base, flow } as AgentRow, call, {});
  assert.deepEqual(withFlow?.flow, flow);
  assert.equal(withFlow?.greeting, 'Hi Ana');
  const withLlm = voiceSpecFor({ ...base, llm: { provider: 'openai', model: 'gpt', has_api_key: true } } as AgentRow, call, { llm: 'sk-1' });
  assert.deepEqual(withLlm?.llm, { provider: 'openai', model: 'gpt', api_key: 'sk-1' });
  assert.equal(withLlm?.callContext, 'VIP');
  assert.equal(withLlm?.systemPrompt, 'Be brief.');
});

test('greetingOnlyVoiceSpecFor: a greeting-only agent detecting machines runs its greeting as a one-line flow, never cut by the callee; none for agents that converse or have nothing to say', () => {
  const base = {
    system_prompt: '', greeting: 'Hi {{name}}, your visit is at ten.', language: 'en-US', voice: 'kal', tts: null, stt: null, llm: null, flow: null, speech_to_speech: null,
    tools: [{ type: 'end_call' }], conversation: { vad: 'energy', first_speaker: 'callee' },
  } as unknown as AgentRow;
  const call = { callContext: null, dynamicVariables: { name: 'Ana' } };
  const spec = greetingOnlyVoiceSpecFor(base, call, {});
  assert.ok(spec);
  const brain = brainFor(spec);
  assert.deepEqual(brain.opening?.(undefined), [{ type: 'text', text: 'Hi Ana, your visit is at ten. ' }, { type: 'flush' }], 'the greeting, variables filled');
  assert.deepEqual(spec.conversation, { firstSpeaker: 'agent', bargeIn: { enabled: false } }, 'it speaks first and is never cut by the callee');
  assert.deepEqual(spec.speech, { vad: 'energy', language: 'en-US' }, "the agent's own VAD; the worker's default engines otherwise");
  assert.equal(spec.voice, 'kal');
  assert.equal(spec.tools, undefined, 'no tools are offered');
  assert.equal(greetingOnlyVoiceSpecFor({ ...base, flow } as AgentRow, call, {}), undefined, 'a flow agent has its own spec');
  assert.equal(greetingOnlyVoiceSpecFor({ ...base, greeting: '  ' } as AgentRow, call, {}), undefined, 'nothing to say');
});

test('an engine the worker does not run fails the call before dialing, with the matching end reason and the reason in words', async () => {
  const registry = new SpeechRegistry();
  const cases: Array<[VoiceCallSpec['speech'], string, RegExp]> = [
    [{ tts: { provider: 'polly' } }, 'error_tts', /tts provider "polly" is not supported; supported: espeak-ng, flite/],
    [{ tts: { provider: 'flite', voice: 'en-us' } }, 'error_tts', /flite has no voice "en-us"/],
    [{ stt: { provider: 'whisper' } }, 'error_stt', /stt provider "whisper"/],
    [{ vad: 'webrtc' }, 'error_stt', /vad provider "webrtc"/],
  ];
  for (const [speech, endReason, reason] of cases) {
    const { rt, events, legs } = runtime(voicePreparer({ engines: (spec) => registry.engines(spec.speech ?? {}), clock: new VirtualClock() }));
    rt.handle(voiceCmd({ voice: { flow, systemPrompt: '', dynamicVariables: { name: 'Ana' }, ...(speech ? { speech } : {}) } }));
    await tick();
    assert.equal(legs.length, 0, 'nothing rang');
    const ended = events.find((e) => e.type === 'ended');
    assert.ok(ended?.type === 'ended');
    assert.deepEqual([ended.status, ended.endReason], ['failed', endReason]);
    assert.match(ended.reason, reason);
  }
});

test("voiceSpecFor carries the agent's engines and conversation (lines filled); sessionOptionsFor puts them over the defaults", () => {
  const agent = {
    system_prompt: '', greeting: '', language: 'en-US', voice: 'kal', llm: null, flow,
    tts: { provider: 'flite', has_api_key: false }, stt: { provider: 'pocketsphinx', options: { end_silence_ms: 400 }, has_api_key: false },
    conversation: {
      first_speaker: 'callee', barge_in: { min_words: 2 }, inactivity_timeout_s: 7, inactivity_prompt: 'Still there, {{name}}?',
      filler: { after_ms: 900, phrases: ['One moment.'] }, vad: 'energy',
    },
  } as unknown as AgentRow;
  const spec = voiceSpecFor(agent, { callContext: null, dynamicVariables: { name: 'Ana' } }, {});
  // The recognizer hears in the agent's language unless its settings name another.
  assert.deepEqual(spec?.speech, { tts: { provider: 'flite', voice: 'kal' }, stt: { language: 'en-US', provider: 'pocketsphinx', options: { end_silence_ms: 400 } }, vad: 'energy', language: 'en-US' });
  assert.deepEqual(spec?.conversation, {
    firstSpeaker: 'callee', bargeIn: { minWords: 2 }, inactivityTimeoutMs: 7000, inactivityPrompt: 'Still there, Ana?', filler: { afterMs: 900, phrases: ['One moment.'] },
  });
  const o = sessionOptionsFor(spec?.conversation, { inactivityTimeoutMs: 20_000, apologyLine: 'Worker apology.' });
  assert.equal(o.firstSpeaker, 'callee');
  assert.deepEqual(o.bargeIn, { enabled: true, minSpeechMs: 300, minWords: 2 });
  assert.equal(o.inactivityTimeoutMs, 7000, "the agent's setting wins over the worker's default");
  assert.equal(o.apologyLine, 'Worker apology.', "the worker's default stays where the agent says nothing");
  assert.deepEqual(o.filler, { afterMs: 900, phrases: ['One moment.'] });
  const none = sessionOptionsFor(undefined);
  assert.deepEqual([none.firstSpeaker, none.bargeIn, none.inactivityTimeoutMs, none.filler], ['agent', { enabled: true, minSpeechMs: 300, minWords: 0 }, 10_000, undefined]);
  assert.equal(sessionOptionsFor(conversationFor({ filler: null }, {}), { filler: { afterMs: 1, phrases: ['x'] } }).filler, undefined, 'filler: null turns it off');
  // An agent with no speech settings travels with only the call's language (the worker's default engines speak it).
  const plain = voiceSpecFor({ ...agent, tts: null, stt: null, voice: null, conversation: null } as AgentRow, { callContext: null, dynamicVariables: {} }, {});
  assert.deepEqual(plain?.speech, { language: 'en-US' });
  assert.equal(plain?.conversation, undefined);
});

test("a greeting-only agent speaks with its own TTS, made at the offered codec's rate; one this worker cannot build fails the call before dialing (error_tts)", async () => {
  const events: WorkerEvent[] = [];
  const legs: AudioLeg[] = [];
  const own = new ToneTts();
  const asked: unknown[] = [];
  const rt = new MediaRuntime({
    tts: new ToneTts(),
    greetingTts: (chain) => {
      asked.push(chain);
      if (chain?.provider === 'nope') throw new Error('tts provider "nope" is not supported');
      return own;
    },
    emit: (e) => events.push(e),
    dialLeg: async () => {
      const l = new AudioLeg();
      legs.push(l);
      return l;
    },
  });
  rt.handle(cmd({ greeting: { text: 'Hello from our own voice', tts: { provider: 'elevenlabs', api_key: 'k' } }, codecs: ['PCMU'] }));
  await tick();
  assert.deepEqual(asked, [{ provider: 'elevenlabs', api_key: 'k' }]);
  assert.deepEqual(own.requests, ['Hello from our own voice'], 'synthesized by the agent\'s engine while ringing');
  legs[0]?.answer(8000);
  await waitUntil(() => (legs[0]?.written.length ?? 0) > 0);
  assert.equal(legs[0]?.written[0]?.length, 160);
  rt.handle(cmd({ callId: 'c2', greeting: { text: 'Hi', tts: { provider: 'nope' } } }));
  await tick();
  assert.equal(legs.length, 1, 'nothing dialed for the call whose TTS cannot run');
  const ended = events.find((e) => e.type === 'ended' && e.callId === 'c2');
  assert.ok(ended?.type === 'ended');
  assert.equal(ended.endReason, 'error_tts');
  assert.match(ended.reason, /greeting TTS could not start: tts provider "nope"/);
});

async function waitUntil(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(pred(), 'condition reached');
}
