/**
 * conversation.filler for a slow reply, not only a slow tool: a model whose first words take longer
 * than afterMs gets the filler said first (then its answer), a quick one gets none, the opening line
 * never does, and without the option there is none at all (the documented default). Virtual time.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { LlmChatRequest, LlmEvent, LlmProvider } from '../../src/providers/llm/types.js';
import { LlmAgentBrain } from '../../src/voice/llm-brain.js';
import { VoiceSession, type VoiceSessionOptions } from '../../src/voice/session.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { FakeLeg } from './helpers/fake-leg.js';
import { FakeStt, FakeVad, ToneTts } from './helpers/fakes.js';

/** A model that answers `text` after `delayMs` of virtual time (its first token's delay). */
class SlowLlm implements LlmProvider {
  readonly name = 'slow';
  readonly capabilities = { streaming: true, toolCalls: true } as const;
  readonly asked: number[] = [];
  constructor(
    private readonly clock: VirtualClock,
    private readonly delayMs: number,
    private readonly text: string,
  ) {}
  async *chat(req: LlmChatRequest): AsyncIterable<LlmEvent> {
    this.asked.push(this.clock.now());
    await new Promise<void>((resolve) => this.clock.setTimer(this.delayMs, resolve));
    if (req.signal?.aborted) return;
    yield { type: 'text_delta', text: this.text };
    yield { type: 'done', finishReason: 'stop' };
  }
}

function harness(delayMs: number, filler: VoiceSessionOptions['filler'], greeting?: string) {
  const leg = new FakeLeg();
  const clock = new VirtualClock();
  const tts = new ToneTts();
  const vad = new FakeVad();
  const stt = new FakeStt();
  const llm = new SlowLlm(clock, delayMs, 'Your order ships tomorrow.');
  const brain = new LlmAgentBrain({ llm, systemPrompt: 'p', ...(greeting ? { greeting } : {}) });
  const synthAt: Array<[string, number]> = [];
  const synth = tts.synthesize.bind(tts);
  tts.synthesize = (req) => {
    synthAt.push([req.text, clock.now()]);
    return synth(req);
  };
  const session = new VoiceSession({
    leg, tts, vad, stt, brain, clock,
    options: { firstSpeaker: greeting ? 'agent' : 'callee', bargeIn: { minSpeechMs: 200 }, inactivityTimeoutMs: 60_000, maxDurationMs: 600_000, ...(filler ? { filler } : {}) },
  });
  const step = async (n = 1) => {
    for (let i = 0; i < n; i++) {
      leg.play(20);
      session.pushAudio(new Int16Array(160));
      await clock.advanceAsync(20);
    }
  };
  const until = async (what: string, pred: () => boolean, maxSteps = 3000) => {
    for (let i = 0; i < maxSteps && !pred(); i++) await step();
    assert.ok(pred(), `timed out waiting for ${what}`);
  };
  /** The callee says something: the reply is asked for at the returned time. */
  const speak = async (text: string) => {
    vad.speechStart();
    await step(10);
    vad.speechEnd();
    stt.final(text);
    await until('the model is asked', () => llm.asked.length > 0);
    return llm.asked[0] as number;
  };
  const replied = () => session.transcript.some((t) => t.speaker === 'agent' && t.text.includes('ships tomorrow'));
  return { leg, clock, tts, session, llm, synthAt, step, until, speak, replied };
}

const FILLER = { afterMs: 800, phrases: ['Let me see.'] };

test('a model slower than afterMs: the filler is said afterMs after the reply was asked for, then the answer, in one turn', async () => {
  const h = harness(2000, FILLER);
  h.leg.answer(8000);
  const askedAt = await h.speak('where is my order');
  await h.until('the reply', h.replied);
  assert.deepEqual(h.tts.requests, ['Let me see.', 'Your order ships tomorrow.']);
  const fillerAt = h.synthAt.find(([t]) => t === 'Let me see.')?.[1] ?? NaN;
  assert.equal(fillerAt - askedAt, 800, 'the filler comes exactly afterMs after the reply was asked for');
  const answerAt = h.synthAt.find(([t]) => t.includes('ships'))?.[1] ?? NaN;
  assert.equal(answerAt - askedAt, 2000, 'the answer is not held back by the filler');
  assert.equal(h.session.transcript.at(-1)?.text, 'Let me see. Your order ships tomorrow.');
});

test('a model quicker than afterMs gets no filler; without the option a slow one gets none either', async () => {
  const quick = harness(700, FILLER);
  quick.leg.answer(8000);
  await quick.speak('where is my order');
  await quick.until('the reply', quick.replied);
  await quick.step(100);
  assert.deepEqual(quick.tts.requests, ['Your order ships tomorrow.']);

  const off = harness(3000, undefined);
  off.leg.answer(8000);
  await off.speak('where is my order');
  await off.until('the reply', off.replied);
  assert.deepEqual(off.tts.requests, ['Your order ships tomorrow.'], 'no filler unless configured');
});

test('the opening line is not a reply: no filler before the greeting, nor after it', async () => {
  const h = harness(3000, FILLER, 'Hello, this is Ada.');
  h.leg.answer(8000);
  await h.step(200);
  assert.deepEqual(h.tts.requests, ['Hello, this is Ada.']);
});

/** Calls a tool at once, then (asked again with its result) answers after `delayMs`. */
class ToolThenSlowLlm implements LlmProvider {
  readonly name = 'tool-then-slow';
  readonly capabilities = { streaming: true, toolCalls: true } as const;
  #n = 0;
  constructor(
    private readonly clock: VirtualClock,
    private readonly delayMs: number,
  ) {}
  async *chat(req: LlmChatRequest): AsyncIterable<LlmEvent> {
    if (this.#n++ === 0) {
      yield { type: 'tool_call', id: 'c1', name: 'lookup', arguments: {} };
      yield { type: 'done', finishReason: 'tool_calls' };
      return;
    }
    await new Promise<void>((resolve) => this.clock.setTimer(this.delayMs, resolve));
    if (req.signal?.aborted) return;
    yield { type: 'text_delta', text: 'Your order ships tomorrow.' };
    yield { type: 'done', finishReason: 'stop' };
  }
}

test('a quick tool, then a slow model: the filler counts again from the tool result', async () => {
  const leg = new FakeLeg();
  const clock = new VirtualClock();
  const tts = new ToneTts();
  const vad = new FakeVad();
  const stt = new FakeStt();
  const toolDone: number[] = [];
  const runTool = () => new Promise<unknown>((resolve) => clock.setTimer(300, () => {
    toolDone.push(clock.now());
    resolve({ ok: true });
  }));
  const brain = new LlmAgentBrain({ llm: new ToolThenSlowLlm(clock, 2500), systemPrompt: 'p', runTool });
  const synthAt: Array<[string, number]> = [];
  const synth = tts.synthesize.bind(tts);
  tts.synthesize = (req) => {
    synthAt.push([req.text, clock.now()]);
    return synth(req);
  };
  const session = new VoiceSession({ leg, tts, vad, stt, brain, clock, options: { firstSpeaker: 'callee', bargeIn: { minSpeechMs: 200 }, inactivityTimeoutMs: 60_000, maxDurationMs: 600_000, filler: FILLER } });
  leg.answer(8000);
  const step = async () => {
    leg.play(20);
    session.pushAudio(new Int16Array(160));
    await clock.advanceAsync(20);
  };
  vad.speechStart();
  for (let i = 0; i < 10; i++) await step();
  vad.speechEnd();
  stt.final('where is my order');
  for (let i = 0; i < 400 && !session.transcript.some((t) => t.text.includes('ships')); i++) await step();
  assert.deepEqual(tts.requests, ['Let me see.', 'Your order ships tomorrow.']);
  const fillerAt = synthAt.find(([t]) => t === 'Let me see.')?.[1] ?? NaN;
  assert.equal(fillerAt - (toolDone[0] ?? NaN), 800, 'afterMs after the tool answered (the quick tool itself got none)');
});
