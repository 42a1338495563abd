import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { AmdEvent, AmdSettings, MachineDetector } from '../../src/amd/types.js';
import { AnsweringMachinePolicy, watchForMachine, type MachineHost } from '../../src/voice/answering-machine.js';
import * as S from '../fixtures/amd/synth.js';
import type { VoiceEndReason, VoiceEvent } from '../../src/voice/events.js';
import type { MachineSpec } from '../../src/voice/spec.js';
import { FakeLeg } from './helpers/fake-leg.js';
import { FakeStt } from './helpers/fakes.js';
import type { SttProvider, SttStartOptions } from '../../src/providers/stt/types.js';

const SETTINGS: AmdSettings = { mode: 'detect', totalAnalysisMs: 5000, initialSilenceMs: 2500, greetingMaxMs: 1500, afterGreetingSilenceMs: 800, beepTimeoutMs: 30000 };

/** A detector the test scripts: events queued per pushed frame number (1-based) or per words. */
class ScriptedDetector implements MachineDetector {
  frames = 0;
  heardWords: string[] = [];
  done = false;
  /** The line as line() reports it: the test sets it. */
  lineNow = { speaking: false, quietMs: 0 };
  constructor(readonly script: Map<number, AmdEvent[]>, readonly onWords: (text: string) => AmdEvent[] = () => []) {}
  line() {
    return this.lineNow;
  }
  push(): AmdEvent[] {
    return this.script.get(++this.frames) ?? [];
  }
  words(text: string): AmdEvent[] {
    this.heardWords.push(text);
    return this.onWords(text);
  }
}

function host() {
  const calls: string[] = [];
  const events: VoiceEvent[] = [];
  const h: MachineHost & { calls: string[]; events: VoiceEvent[] } = {
    calls,
    events,
    awaitVerdict: () => calls.push('await'),
    verdictReached: (machine: boolean) => calls.push(machine ? 'drop held' : 'release held'),
    holdForMachine: () => calls.push('hold'),
    holdForScreening: () => calls.push('hold for screening'),
    answerScreening: (text: string | undefined) => calls.push(`answer screening "${text ?? '(opening)'}"`),
    pickedUp: () => calls.push('picked up'),
    openGate: () => calls.push('open gate'),
    prepareLine: (text: string) => calls.push(`prepare "${text}"`),
    endWithLine: (text: string, reason: VoiceEndReason) => calls.push(`say "${text}" then ${reason}`),
    hangUp: (reason: VoiceEndReason) => calls.push(`hangup ${reason}`),
    emit: (e: VoiceEvent) => events.push(e),
    over: false,
  };
  return h;
}

const verdict = (answeredBy: Extract<AmdEvent, { type: 'verdict' }>['answeredBy'], atMs = 1000): AmdEvent => ({ type: 'verdict', answeredBy, atMs, cues: ['long_greeting'] });
const frame = new Int16Array(160);

function run(spec: MachineSpec, script: Array<[number, AmdEvent[]]>, frames: number) {
  const h = host();
  const policy = new AnsweringMachinePolicy(spec, new ScriptedDetector(new Map(script)), h);
  for (let i = 0; i < frames; i++) policy.push(frame, 8000);
  return h;
}

test('hangup: a machine verdict hangs up machine_detected and is reported', () => {
  const h = run({ settings: SETTINGS, action: 'hangup' }, [[50, [verdict('machine_start')]]], 100);
  assert.deepEqual(h.calls, ['await', 'hangup machine_detected']);
  assert.deepEqual(h.events, [{ type: 'machine_detection', answeredBy: 'machine_start', atMs: 1000, cues: ['long_greeting'] }]);
});

test('leave_message: the agent holds on the verdict and says the message at the greeting end, then voicemail_left', () => {
  const end: AmdEvent = { type: 'greeting_end', answeredBy: 'machine_end_beep', atMs: 6400, cues: ['beep'], beepHz: 1000 };
  const h = run({ settings: SETTINGS, action: 'leave_message', message: 'Please call us back.' }, [[50, [verdict('machine_start')]], [320, [end]]], 400);
  assert.deepEqual(h.calls, ['await', 'hold', 'prepare "Please call us back."', 'drop held', 'say "Please call us back." then voicemail_left']);
  assert.deepEqual(h.events.map((e) => e.type), ['machine_detection', 'machine_detection_ended']);
  assert.deepEqual(h.events[1], { type: 'machine_detection_ended', answeredBy: 'machine_end_beep', atMs: 6400, cues: ['beep'], beepHz: 1000 });
});

test('a person goes on talking whatever the action; continue leaves a machine alone too', () => {
  assert.deepEqual(run({ settings: SETTINGS, action: 'hangup' }, [[30, [verdict('human', 600)]]], 100).calls, ['await', 'release held']);
  assert.deepEqual(run({ settings: SETTINGS, action: 'continue' }, [[30, [verdict('machine_start')]]], 100).calls, ['await', 'release held']);
});

test('fax and intercept end the call failed whatever the action', () => {
  assert.deepEqual(run({ settings: SETTINGS, action: 'continue' }, [[30, [verdict('fax')]]], 100).calls, ['await', 'hangup fax_detected']);
  assert.deepEqual(run({ settings: SETTINGS, action: 'leave_message', message: 'x' }, [[30, [verdict('intercept')]]], 100).calls, ['await', 'hangup number_unreachable']);
});

test('watchForMachine: the detector starts at the answer, at the leg rate, and leave_message always looks for the greeting end', async () => {
  const leg = new FakeLeg();
  const made: Array<{ settings: AmdSettings; rate: number }> = [];
  const detector = new ScriptedDetector(new Map());
  const heard = watchForMachine(leg, { settings: SETTINGS, action: 'leave_message', message: 'hi' }, (settings, rate) => {
    made.push({ settings, rate });
    return detector;
  }, host(), { wordsExpected: true });
  heard({ type: 'transcript_final', text: 'before the answer', atMs: 0 });
  leg.answer(16000);
  assert.deepEqual(made, [{ settings: { ...SETTINGS, mode: 'detect_message_end', wordsExpected: true }, rate: 16000 }], 'a recognizer feeds words: the detector may wait for them');
  leg.hear(new Int16Array(320));
  assert.equal(detector.frames, 1, 'the callee audio reaches the detector');
  heard({ type: 'transcript_partial', text: 'please leave a message', atMs: 0 });
  assert.deepEqual(detector.heardWords, ['please leave a message'], 'words after the answer reach it; none before');
  leg.emit({ type: 'ended', outcome: 'completed', by: 'remote', sipStatusCode: 200, reason: 'bye' } as never);
  leg.hear(new Int16Array(320));
  assert.equal(detector.frames, 1, 'nothing after the end');
});

test('watchForMachine on early media: SIT before any answer cancels the call number_unreachable; early media without it, then the answer, starts the detector as usual', async () => {
  const R = 8000;
  const early: Array<(f: Int16Array) => void> = [];
  const legWith = () => Object.assign(new FakeLeg(), {
    onEarlyAudio(l: (f: Int16Array) => void) {
      early.push(l);
      return () => early.splice(early.indexOf(l), 1);
    },
  });
  const feed = (pcm: Int16Array) => {
    for (const f of S.frames20(pcm, R)) for (const l of [...early]) l(f);
  };
  const leg = legWith();
  const h = host();
  watchForMachine(leg, { settings: SETTINGS, action: 'continue' }, () => new ScriptedDetector(new Map()), h);
  leg.emit({ type: 'ringing', earlyMedia: true, earlySampleRate: R });
  feed(S.concat([S.silence(R, 300), S.mulawRoundTrip(S.sit(R)), S.babble(R, 2000)]));
  assert.deepEqual(h.calls, ['hangup number_unreachable'], 'cancelled at the SIT');
  const v = h.events[0];
  assert.ok(v?.type === 'machine_detection' && v.answeredBy === 'intercept' && v.atMs > 300 + 548, JSON.stringify(h.events));
  assert.deepEqual(v.cues, ['sit_tones', 'early_media']);
  assert.equal(early.length, 0, 'it stops listening');

  const leg2 = legWith();
  const h2 = host();
  const made: number[] = [];
  watchForMachine(leg2, { settings: SETTINGS, action: 'continue' }, (_s, rate) => {
    made.push(rate);
    return new ScriptedDetector(new Map());
  }, h2);
  leg2.emit({ type: 'ringing', earlyMedia: true, earlySampleRate: R });
  feed(S.concat([S.tones(R, [440, 480], 2000, -16), S.silence(R, 1000), S.babble(R, 3000)]));
  assert.deepEqual([h2.calls, h2.events], [[], []], 'ringback and an announcement without SIT change nothing');
  leg2.answer(R);
  assert.equal(early.length, 0, 'early media is no longer watched once answered');
  assert.deepEqual(made, [R], 'the detector starts at the answer');
});

test('screening: the agent holds, answers once the assistant has been quiet 700 ms, and opens again when the person picks up', () => {
  const h = host();
  const d = new ScriptedDetector(new Map([[50, [verdict('screening', 3000)]]]));
  const policy = new AnsweringMachinePolicy({ settings: SETTINGS, action: 'hangup', screeningResponse: 'This is Ava from Lee Dental about your cleaning.' }, d, h);
  d.lineNow = { speaking: true, quietMs: 0 };
  for (let i = 0; i < 60; i++) policy.push(frame, 8000);
  assert.deepEqual(h.calls, ['await', 'hold for screening'], 'a screening verdict is not a machine: no hang-up, whatever the action');
  d.lineNow = { speaking: false, quietMs: 680 };
  policy.push(frame, 8000);
  assert.equal(h.calls.length, 2, 'not answered before 700 ms of quiet');
  policy.spotted('hello yes this is sam', true);
  assert.equal(h.calls.length, 2, 'words before the response are the assistant still asking');
  d.lineNow = { speaking: false, quietMs: 700 };
  policy.push(frame, 8000);
  policy.push(frame, 8000);
  assert.deepEqual(h.calls.slice(2), ['answer screening "This is Ava from Lee Dental about your cleaning."'], 'answered once');
  policy.spotted('thanks stay on the line while i see if this person is available', true);
  policy.spotted('hello', false);
  assert.equal(h.calls.length, 3, "the assistant's words and a partial are not the pickup");
  assert.ok(policy.listening);
  policy.spotted('hello yes this is sam', true);
  assert.deepEqual(h.calls.slice(3), ['picked up']);
  assert.equal(policy.listening, false, 'done after the pickup');
  policy.spotted('hello again', true);
  assert.equal(h.calls.length, 4, 'one pickup');
});

test('screening: nobody picking up within 30 s of the response ends the call inactivity_timeout', () => {
  const h = host();
  const d = new ScriptedDetector(new Map([[10, [verdict('screening', 200)]]]));
  d.lineNow = { speaking: false, quietMs: 5000 };
  const policy = new AnsweringMachinePolicy({ settings: SETTINGS, action: 'continue' }, d, h);
  for (let i = 0; i < 10 + 1500 + 5; i++) policy.push(frame, 8000);
  assert.deepEqual(h.calls, ['await', 'hold for screening', 'answer screening "(opening)"', 'hangup inactivity_timeout']);
});

test('watchForMachine with a spotter: it hears the callee from the answer, its words reach the detector, and it stops when the policy is done', async () => {
  const fake = new FakeStt();
  const started: SttStartOptions[] = [];
  const spotter: SttProvider = { name: fake.name, capabilities: fake.capabilities, start: (o) => (started.push(o), fake.start(o)) };
  const leg = new FakeLeg();
  const detector = new ScriptedDetector(new Map(), (text) => (text.includes('leave a message') ? [verdict('machine_start')] : []));
  const made: AmdSettings[] = [];
  const h = host();
  watchForMachine(leg, { settings: SETTINGS, action: 'hangup' }, (settings) => {
    made.push(settings);
    return detector;
  }, h, { spotter });
  assert.equal(started.length, 0, 'nothing before the answer');
  leg.answer(8000);
  const opts = started[0];
  assert.equal(made[0]?.wordsExpected, undefined, 'words from a spotter decide and revise; the verdict is not held for them');
  assert.ok((opts?.vocabulary ?? []).includes('leave a message'), "it starts at the answer, listening for the detector's phrases");
  assert.equal(opts?.sampleRate, 8000);
  leg.hear(new Int16Array(160));
  assert.equal(fake.pushed, 1, 'the callee audio reaches it');
  fake.final('hi you have reached sam please leave a message');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(detector.heardWords, ['hi you have reached sam please leave a message']);
  assert.deepEqual(h.calls, ['await', 'hangup machine_detected']);
  detector.done = true;
  leg.hear(new Int16Array(160));
  assert.equal(opts?.signal?.aborted, true, 'stopped once nothing more is needed');
  assert.equal(fake.pushed, 1);
});

test('gate_greeting: the opening opens on a verdict to talk on, never on a machine the agent leaves a message for or hangs up on', () => {
  const gated = { settings: SETTINGS, gateGreeting: true } as const;
  assert.deepEqual(run({ ...gated, action: 'hangup' }, [[30, [verdict('human', 600)]]], 100).calls, ['await', 'open gate', 'release held']);
  assert.deepEqual(run({ ...gated, action: 'hangup' }, [[30, [verdict('unknown', 600)]]], 100).calls, ['await', 'open gate', 'release held']);
  assert.deepEqual(run({ ...gated, action: 'continue' }, [[30, [verdict('machine_start')]]], 100).calls, ['await', 'open gate', 'release held']);
  assert.deepEqual(run({ ...gated, action: 'hangup' }, [[30, [verdict('machine_start')]]], 100).calls, ['await', 'hangup machine_detected']);
  assert.deepEqual(run({ ...gated, action: 'leave_message', message: 'x' }, [[30, [verdict('machine_start')]]], 100).calls, ['await', 'hold', 'prepare "x"', 'drop held']);
  assert.deepEqual(run({ settings: SETTINGS, action: 'hangup' }, [[30, [verdict('human', 600)]]], 100).calls, ['await', 'release held'], 'no gate: nothing to open');
});

test('gate_greeting: without a verdict, the opening starts 2000 ms after the callee stopped speaking, not before, and not before they spoke', () => {
  const h = host();
  const d = new ScriptedDetector(new Map());
  const policy = new AnsweringMachinePolicy({ settings: SETTINGS, action: 'hangup', gateGreeting: true }, d, h);
  d.lineNow = { speaking: false, quietMs: 3000 };
  policy.push(frame, 8000);
  assert.deepEqual(h.calls, ['await'], 'a callee who has not spoken yet: the verdict (initial silence) decides');
  d.lineNow = { speaking: true, quietMs: 0 };
  policy.push(frame, 8000);
  d.lineNow = { speaking: false, quietMs: 1980 };
  policy.push(frame, 8000);
  assert.deepEqual(h.calls, ['await']);
  d.lineNow = { speaking: false, quietMs: 2000 };
  policy.push(frame, 8000);
  policy.push(frame, 8000);
  assert.deepEqual(h.calls, ['await', 'open gate'], 'opened once, at the deadline');
});

test('revised: a machine verdict taken back to a person resumes the conversation; to a screening assistant, it is answered; no message is left', () => {
  const revise = (to: 'human' | 'screening') => (text: string): AmdEvent[] => (text === 'words' ? [{ type: 'revised', answeredBy: to, atMs: 4000, cues: [to === 'human' ? 'human_phrase' : 'screening_phrase'] }] : []);
  for (const to of ['human', 'screening'] as const) {
    const h = host();
    const d = new ScriptedDetector(new Map([[50, [verdict('machine_start')]]]), revise(to));
    const policy = new AnsweringMachinePolicy({ settings: SETTINGS, action: 'leave_message', message: 'Call us back.' }, d, h);
    for (let i = 0; i < 60; i++) policy.push(frame, 8000);
    policy.spotted('words', true);
    assert.deepEqual(h.calls, ['await', 'hold', 'prepare "Call us back."', 'drop held', to === 'human' ? 'picked up' : 'hold for screening'], to);
    assert.deepEqual(h.events.at(-1), { type: 'machine_detection_revised', answeredBy: to, atMs: 4000, cues: [to === 'human' ? 'human_phrase' : 'screening_phrase'] });
    d.script.set(61, [{ type: 'greeting_end', answeredBy: 'machine_end_silence', atMs: 5000, cues: ['after_greeting_silence'] }]);
    policy.push(frame, 8000);
    assert.ok(!h.calls.some((c) => c.startsWith('say "Call us back."')), 'no voicemail message to a person or an assistant');
  }
});

test('screening: a misheard hand-over line (no phrase, no hello) is not the pickup; a hello is, and so is a second line without one', () => {
  for (const [lines, pickedAfter] of [[['thanks to a an ally ninety if that', 'hello s if i am'], 2], [['thanks to a an ally ninety if that', 'sam here'], 2], [['hello yes this is sam'], 1]] as const) {
    const h = host();
    const d = new ScriptedDetector(new Map([[5, [verdict('screening', 100)]]]));
    d.lineNow = { speaking: false, quietMs: 800 };
    const policy = new AnsweringMachinePolicy({ settings: SETTINGS, action: 'continue' }, d, h);
    for (let i = 0; i < 10; i++) policy.push(frame, 8000);
    assert.ok(h.calls.some((c) => c.startsWith('answer screening')));
    lines.forEach((line, i) => {
      policy.spotted(line, true);
      assert.equal(h.calls.includes('picked up'), i + 1 >= pickedAfter, `${JSON.stringify(lines)} after line ${i + 1}`);
    });
  }
});

test('watchForMachine with a clock: time with no audio from the far end passes for the detector as lost frames; the verdict comes by its deadline even if no packet ever does', async () => {
  const { VirtualClock } = await import('../helpers/virtual-clock.js');
  const clock = new VirtualClock();
  const leg = new FakeLeg();
  const pushed: number[] = [];
  const detector = new ScriptedDetector(new Map());
  const real = detector.push.bind(detector);
  detector.push = () => {
    pushed.push(clock.now());
    return real();
  };
  watchForMachine(leg, { settings: SETTINGS, action: 'hangup' }, () => detector, host(), { clock });
  leg.answer(8000);
  await clock.advanceAsync(150);
  assert.equal(detector.frames, 0, 'a gap shorter than 200 ms is jitter: nothing made up');
  await clock.advanceAsync(150);
  assert.ok(detector.frames >= 10 && detector.frames <= 15, `300 ms without audio: its frames are told as lost (${detector.frames})`);
  const before = detector.frames;
  leg.hear(new Int16Array(160));
  assert.equal(detector.frames, before + 1, 'a real frame within the jitter: no made-up frames before it');
  await clock.advanceAsync(5000);
  assert.ok(detector.frames >= 250, `5 s more of no audio: ${detector.frames} frames in all`);
  leg.emit({ type: 'ended', outcome: 'completed', by: 'remote', sipStatusCode: 200, reason: 'bye' } as never);
  const after = detector.frames;
  await clock.advanceAsync(1000);
  assert.equal(detector.frames, after, 'nothing after the end');
});
