import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { AmdEvent, AmdSettings, MachineDetector } from '../../src/amd/types.js';
import { AnsweringMachinePolicy, watchForMachine, type MachineHost } from '../../src/voice/answering-machine.js';
import type { VoiceEndReason, VoiceEvent } from '../../src/voice/events.js';
import type { MachineSpec } from '../../src/voice/spec.js';
import { FakeLeg } from './helpers/fake-leg.js';

const SETTINGS: AmdSettings = { mode: 'detect', totalAnalysisMs: 5000, initialSilenceMs: 2500, greetingMaxMs: 1500, afterGreetingSilenceMs: 800, beepTimeoutMs: 30000 };

/** A detector the test scripts: events queued per pushed frame number (1-based) or per words. */
class ScriptedDetector implements MachineDetector {
  frames = 0;
  heardWords: string[] = [];
  done = false;
  constructor(readonly script: Map<number, AmdEvent[]>, readonly onWords: (text: string) => AmdEvent[] = () => []) {}
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
  }, host(), true);
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
