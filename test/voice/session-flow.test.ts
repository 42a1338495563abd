import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { FlowAgentBrain, type ToolRunner } from '../../src/voice/brain.js';
import { FlowBrain, type Flow } from '../../src/voice/flow/index.js';
import { VoiceSession } from '../../src/voice/session.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { FakeLeg } from './helpers/fake-leg.js';
import { FakeStt, FakeVad, ToneTts } from './helpers/fakes.js';

const flow: Flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Hi {{first_name}}, can you make Tuesday?', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 4000, next: 'decide', on_timeout: 'bye_silent' },
    decide: { type: 'branch', cases: [{ keywords: ['yes'], next: 'book' }], default: 'bye' },
    book: { type: 'tool', tool: 'book', arguments: { who: '{{first_name}}' }, on_success: 'booked', on_failure: 'bye' },
    booked: { type: 'say', text: 'You are booked.', next: 'bye' },
    bye: { type: 'end', text: 'Goodbye!' },
    bye_silent: { type: 'end', reason: 'inactivity_timeout' },
  },
};

function harness(runTool: ToolRunner) {
  const leg = new FakeLeg();
  const clock = new VirtualClock();
  const vad = new FakeVad();
  const stt = new FakeStt();
  const tts = new ToneTts();
  const brain = new FlowAgentBrain(new FlowBrain(flow, { first_name: 'Ana' }, { toolNames: ['book'] }), runTool);
  const session = new VoiceSession({
    leg, tts, vad, stt, brain, clock,
    options: { firstSpeaker: 'agent', bargeIn: { minSpeechMs: 200 }, inactivityTimeoutMs: 60_000, maxDurationMs: 600_000, pickupHelloWindowMs: 0 },
  });
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

test('flow: greeting, a yes, the tool call, the goodbye, then hang-up; tool call in the transcript', async () => {
  const calls: unknown[] = [];
  const h = harness(async (name, args) => {
    calls.push([name, args]);
    return { booked: true };
  });
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  assert.equal(h.session.transcript[0]?.text, 'Hi Ana, can you make Tuesday?');
  h.vad.speechStart();
  await h.step(10);
  h.vad.speechEnd();
  h.stt.final('yes please');
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'));
  assert.deepEqual(calls, [['book', { who: 'Ana' }]]);
  const last = h.session.transcript.at(-1);
  assert.equal(last?.text, 'You are booked. Goodbye!');
  assert.deepEqual(last?.toolCalls?.map((t) => [t.name, t.ok]), [['book', true]]);
  assert.equal(h.leg.queuedAtHangup, 0);
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'agent_hangup');
});

test("flow: the listen timeout counts from the end of the prompt and ends with the flow's reason", async () => {
  const h = harness(async () => ({}));
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  const finished = h.session.events.find((e) => e.type === 'agent_turn_finished');
  const heardAt = finished?.type === 'agent_turn_finished' ? finished.atMs : Number.NaN;
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'), 400);
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'inactivity_timeout');
  const endAt = h.session.events.find((e) => e.type === 'end_requested')?.atMs ?? Number.NaN;
  assert.equal(endAt - heardAt, 4000, 'exactly the listen timeout after the prompt finished playing');
});

test("flow: an opening cut for a screening assistant and said again at the pickup keeps its listen node's timeout", async () => {
  const h = harness(async () => ({}));
  const host = h.session.machineHost();
  h.leg.answer(8000);
  await h.step(5);
  host.holdForScreening();
  await h.until('opening cut', () => h.session.transcript.some((t) => t.speaker === 'agent' && t.interrupted));
  host.answerScreening('This is the clinic calling Ana.');
  await h.until('response said', () => h.session.transcript.some((t) => t.text === 'This is the clinic calling Ana.'));
  host.pickedUp();
  await h.until('opened again', () => h.session.transcript.some((t) => t.speaker === 'agent' && !t.interrupted && t.text === 'Hi Ana, can you make Tuesday?'));
  const finished = h.session.events.filter((e) => e.type === 'agent_turn_finished').at(-1);
  const heardAt = finished?.type === 'agent_turn_finished' ? finished.atMs : Number.NaN;
  // Without the listen node's wait the call would stay open, silent, until max_duration.
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'), 400);
  const ended = h.session.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'inactivity_timeout');
  const endAt = h.session.events.find((e) => e.type === 'end_requested')?.atMs ?? Number.NaN;
  assert.equal(endAt - heardAt, 4000, 'the listen timeout after the opening said again');
});

test('flow: a tool that throws takes the failure branch instead of crashing the call', async () => {
  const h = harness(async () => {
    throw new Error('calendar down');
  });
  h.leg.answer(8000);
  await h.until('greeting', () => h.session.transcript.length === 1);
  h.vad.speechStart();
  await h.step(10);
  h.vad.speechEnd();
  h.stt.final('yes');
  await h.until('ended', () => h.session.events.some((e) => e.type === 'ended'));
  const done = h.session.events.find((e) => e.type === 'tool_call_finished');
  assert.deepEqual(done?.type === 'tool_call_finished' && [done.ok, done.result], [false, { error: 'calendar down' }]);
  assert.equal(h.session.transcript.at(-1)?.text, 'Goodbye!');
});
