/**
 * Filler speech while a tool runs, in virtual time: said once per tool call after `afterMs` of
 * silence with the tool still out (the silence counts from the end of what the agent was saying),
 * never when the tool is quick, and it never holds back the answer.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { FlowAgentBrain, type ToolRunner } from '../../src/voice/brain.js';
import { FlowBrain, type Flow } from '../../src/voice/flow/index.js';
import { VoiceSession, type VoiceSessionOptions } from '../../src/voice/session.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { FakeLeg } from './helpers/fake-leg.js';
import { FakeStt, FakeVad, ToneTts } from './helpers/fakes.js';

/** Two tool calls in a row: the filler rotates through the phrases, once per call. */
const flow: Flow = {
  start: 'intro',
  nodes: {
    intro: { type: 'say', text: 'Let me check.', next: 'first' },
    first: { type: 'tool', tool: 'lookup', on_success: 'second', on_failure: 'bye' },
    second: { type: 'tool', tool: 'lookup', on_success: 'found', on_failure: 'bye' },
    found: { type: 'say', text: 'You are booked.', next: 'bye' },
    bye: { type: 'end', text: 'Goodbye.' },
  },
};

function harness(toolMs: number[], filler: VoiceSessionOptions['filler'], f: Flow = flow) {
  const leg = new FakeLeg();
  const clock = new VirtualClock();
  const tts = new ToneTts();
  const starts: number[] = [];
  // A tool that answers after toolMs[i] of virtual time.
  const runTool: ToolRunner = (_name, _args, signal) =>
    new Promise((resolve, reject) => {
      starts.push(clock.now());
      const t = clock.setTimer(toolMs[starts.length - 1] ?? 0, () => resolve({ ok: 1 }));
      signal.addEventListener('abort', () => {
        clock.clearTimer(t);
        reject(new Error('aborted'));
      });
    });
  const vad = new FakeVad();
  const session = new VoiceSession({
    leg, tts, vad, stt: new FakeStt(), clock,
    brain: new FlowAgentBrain(new FlowBrain(f, {}, { toolNames: ['lookup'] }), runTool),
    options: { firstSpeaker: 'agent', bargeIn: { minSpeechMs: 200 }, inactivityTimeoutMs: 60_000, maxDurationMs: 600_000, pickupHelloWindowMs: 0, ...(filler ? { filler } : {}) },
  });
  // When each text was sent to TTS, and when the leg's queue ran dry (the agent fell silent).
  const synthAt: Array<[string, number]> = [];
  const synth = tts.synthesize.bind(tts);
  tts.synthesize = (req) => {
    synthAt.push([req.text, clock.now()]);
    return synth(req);
  };
  const drained: number[] = [];
  const emit = leg.emit.bind(leg);
  leg.emit = (e) => {
    if (e.type === 'drained') drained.push(clock.now());
    emit(e);
  };
  const until = async (what: string, pred: () => boolean, maxSteps = 3000) => {
    for (let i = 0; i < maxSteps && !pred(); i++) {
      leg.play(20);
      session.pushAudio(new Int16Array(160));
      await clock.advanceAsync(20);
    }
    assert.ok(pred(), `timed out waiting for ${what}`);
  };
  const ended = () => session.events.some((e) => e.type === 'ended');
  const at = (type: string) => session.events.filter((e) => e.type === type).map((e) => ('atMs' in e ? e.atMs : NaN));
  return { leg, clock, tts, vad, session, until, ended, at, starts, synthAt, drained };
}

const FILLER = { afterMs: 1500, phrases: ['One moment please.', 'Still checking.'] };

test('a slow tool: the filler comes afterMs after the agent fell silent, once per tool call, phrases in turn; the answer follows', async () => {
  const h = harness([4000, 4000], FILLER);
  h.leg.answer(8000);
  await h.until('ended', h.ended);
  // "Let me check." is 3 words = 300 ms of tone: it has played out long before the tool answers.
  assert.deepEqual(h.tts.requests, ['Let me check.', 'One moment please.', 'Still checking.', 'You are booked.', 'Goodbye.']);
  const [t1 = NaN, t2 = NaN] = h.starts;
  const finished = h.at('tool_call_finished');
  assert.deepEqual(finished.map((f, i) => f - (h.starts[i] ?? NaN)), [4000, 4000], 'the filler did not delay the results');
  assert.equal(t2, finished[0], 'the second tool starts as soon as the first answers');
  // Each filler comes when its timer fires: afterMs after the intro went quiet (first tool), and
  // afterMs after the second tool started (the agent was silent then).
  const fillers = h.synthAt.filter(([t]) => t !== 'Let me check.' && t !== 'You are booked.' && t !== 'Goodbye.').map(([, at]) => at);
  const introQuiet = h.drained.filter((d) => d < (fillers[0] ?? NaN)).at(-1) ?? NaN;
  assert.deepEqual(fillers, [introQuiet + 1500, t2 + 1500]);
  const turn = h.session.transcript.at(-1);
  assert.equal(turn?.text, 'Let me check. One moment please. Still checking. You are booked. Goodbye.');
  assert.deepEqual(turn?.toolCalls?.map((t) => t.ok), [true, true]);
  assert.ok(t1 < 400, 'the first tool started while the intro was still playing');
});

test('the filler clock starts when the announcement has played, not at the tool start', async () => {
  const long: Flow = {
    start: 'intro',
    nodes: {
      // 20 words = 2000 ms of audio, longer than afterMs on its own.
      intro: { type: 'say', text: 'one two three four five six seven eight nine ten one two three four five six seven eight nine ten', next: 'first' },
      first: { type: 'tool', tool: 'lookup', on_success: 'bye', on_failure: 'bye' },
      bye: { type: 'end' },
    },
  };
  const h = harness([3000], { afterMs: 1500, phrases: ['One moment please.'] }, long);
  h.leg.answer(8000);
  await h.until('ended', h.ended);
  // The tool ran 3000 ms from its start (just after answer); the intro played ~2000 ms; 1500 ms of
  // silence after it would be past the answer, so no filler at all.
  assert.deepEqual(h.tts.requests.filter((t) => t === 'One moment please.'), [], 'no filler while the agent was talking, nor after the answer came');
  const h2 = harness([5000], { afterMs: 1500, phrases: ['One moment please.'] }, long);
  h2.leg.answer(8000);
  await h2.until('ended', h2.ended);
  const fillerAt2 = h2.synthAt.filter(([t]) => t === 'One moment please.').map(([, at]) => at);
  const drained = h2.drained;
  assert.equal(fillerAt2.length, 1, 'one filler');
  const quietAt = drained.filter((t) => t < (fillerAt2[0] ?? NaN)).at(-1) ?? NaN;
  assert.ok(quietAt >= 2000, `the intro (2000 ms of audio) played out at ${quietAt} ms`);
  assert.equal((fillerAt2[0] ?? NaN) - quietAt, 1500, 'the filler came exactly afterMs after the agent fell silent');
});

test('a quick tool gets no filler; without the option there is none either', async () => {
  const quick = harness([1000, 1499], FILLER);
  quick.leg.answer(8000);
  await quick.until('ended', quick.ended);
  assert.deepEqual(quick.tts.requests, ['Let me check.', 'You are booked.', 'Goodbye.']);
  const off = harness([4000, 4000], undefined);
  off.leg.answer(8000);
  await off.until('ended', off.ended);
  assert.deepEqual(off.tts.requests, ['Let me check.', 'You are booked.', 'Goodbye.']);
});

test('an answer that arrives while the filler plays is spoken after it, not over it', async () => {
  const one: Flow = {
    start: 'first',
    nodes: { first: { type: 'tool', tool: 'lookup', on_success: 'found', on_failure: 'found' }, found: { type: 'end', text: 'You are booked.' } },
  };
  // The filler (3 words = 300 ms) starts at 1500 ms; the tool answers at 1600 ms, mid-filler.
  const h = harness([1600], { afterMs: 1500, phrases: ['One moment please.'] }, one);
  h.leg.answer(8000);
  await h.until('ended', h.ended);
  assert.deepEqual(h.tts.requests, ['One moment please.', 'You are booked.']);
  const firstAudio = h.at('agent_first_audio');
  assert.equal(firstAudio.length, 1);
  assert.equal(h.session.transcript.at(-1)?.text, 'One moment please. You are booked.');
  assert.equal(h.leg.queuedAtHangup, 0);
  // 300 ms filler + 200 ms answer, back to back from ~1500 ms: the answer did not wait for anything else.
  const end = h.at('end_requested')[0] ?? NaN;
  assert.ok(end >= 2000 && end <= 2100, `hung up at ${end} ms`);
});

test('a barge-in while the tool runs cancels its filler', async () => {
  const h = harness([10_000, 10_000], FILLER);
  h.leg.answer(8000);
  await h.until('the tool call', () => h.starts.length === 1);
  await h.until('the intro played out', () => h.drained.length > 0);
  h.vad.speechStart();
  await h.until('the turn is cut', () => h.session.events.some((e) => e.type === 'agent_turn_interrupted'));
  await h.clock.advanceAsync(5000);
  assert.deepEqual(h.tts.requests, ['Let me check.'], 'no filler after the turn was cut');
  assert.equal(h.session.transcript.at(-1)?.interrupted, true);
});
