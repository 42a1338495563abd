/** A greeting-only call's transcript: the line it played, as far as it was played. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TtsProvider } from '../../src/providers/tts/types.js';
import type { Leg, LegEvent } from '../../src/voice/leg.js';
import { greetingTranscript } from '../../src/worker/media/greeting-transcript.js';
import { MediaRuntime } from '../../src/worker/media/media-runtime.js';
import type { WorkerEvent } from '../../src/worker/protocol.js';
import { dialCommand } from './dial-command.js';

const TEXT = 'Hello, this is Outcall calling about your appointment on Tuesday.';

test('played to the end: the whole line, from its first frame to its last', () => {
  assert.deepEqual(greetingTranscript({ text: ` ${TEXT}  `, startedMs: 30, writtenMs: 3000, totalMs: 3000, playedAll: true, endMs: 3100 }), [
    { speaker: 'agent', text: TEXT, startMs: 30, endMs: 3030, interrupted: false },
  ]);
});

test('cut by a hang-up: the played share of the words, interrupted', () => {
  // 10 words, 4000 ms; hung up 2000 ms after the first frame: half of it was heard.
  const [turn] = greetingTranscript({ text: TEXT, startedMs: 0, writtenMs: 4000, totalMs: 4000, playedAll: false, endMs: 2000 });
  assert.deepEqual(turn, { speaker: 'agent', text: 'Hello, this is Outcall calling', startMs: 0, endMs: 2000, interrupted: true });
  // Never more than what was written (the leg ran dry): 1000 of 4000 ms written.
  assert.equal(greetingTranscript({ text: TEXT, startedMs: 0, writtenMs: 1000, totalMs: 4000, playedAll: false, endMs: 3500 })[0]?.text, 'Hello, this');
  // Still synthesizing: the length is taken at the speaking rate (65 characters: 3900 ms).
  assert.equal(greetingTranscript({ text: TEXT, startedMs: 0, writtenMs: 1980, totalMs: undefined, playedAll: false, endMs: 1980 })[0]?.text, 'Hello, this is Outcall calling');
});

test('nothing played: no turn (hung up before the first frame, or too little for a word)', () => {
  assert.deepEqual(greetingTranscript({ text: TEXT, startedMs: undefined, writtenMs: 0, totalMs: undefined, playedAll: false, endMs: 900 }), []);
  assert.deepEqual(greetingTranscript({ text: TEXT, startedMs: 0, writtenMs: 4000, totalMs: 4000, playedAll: false, endMs: 100 }), []);
  assert.deepEqual(greetingTranscript({ text: '  ', startedMs: 0, writtenMs: 40, totalMs: 40, playedAll: true, endMs: 100 }), []);
});

/** The media runtime on a fake leg: what a greeting-only call reports as its transcript when it ends. */
class FakeLeg implements Leg {
  readonly listeners = new Set<(e: LegEvent) => void>();
  queued = 0;
  on(l: (e: LegEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: LegEvent) {
    for (const l of [...this.listeners]) l(e);
  }
  write(f: Int16Array) {
    this.queued += (f.length / 8000) * 1000;
  }
  get queuedMs() {
    return this.queued;
  }
  async cancel() {}
  async hangup() {
    this.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'local', outcome: 'completed' });
  }
}

/** One second of sound per request, or nothing until aborted (`hold`). */
function tts(hold: boolean): TtsProvider {
  return {
    name: 'test',
    capabilities: { streaming: true, nativeSampleRates: [8000] },
    async *synthesize(req) {
      if (hold) await new Promise((r) => req.signal?.addEventListener('abort', r));
      else yield new Int16Array(req.sampleRate).fill(500);
    },
  };
}

async function greetingCall(o: { hold?: boolean; hangUpAfterMs: number | 'drained' }) {
  let now = 0;
  const events: WorkerEvent[] = [];
  const legs: FakeLeg[] = [];
  const rt = new MediaRuntime({ tts: tts(o.hold ?? false), emit: (e) => events.push(e), now: () => now, dialLeg: async () => (legs.push(new FakeLeg()), legs[0] as FakeLeg) });
  rt.handle(dialCommand({ greeting: { text: 'one two three four five six seven eight nine ten' }, codecs: ['PCMU'] }));
  await tick();
  const leg = legs[0] as FakeLeg;
  leg.emit({ type: 'answered', codec: 'PCMU', sampleRate: 8000 });
  await tick();
  if (o.hangUpAfterMs === 'drained') {
    now += 1000;
    leg.queued = 0;
    leg.emit({ type: 'drained' });
    await tick();
  } else {
    now += o.hangUpAfterMs;
    leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  }
  const e = events.find((x): x is Extract<WorkerEvent, { type: 'ended' }> => x.type === 'ended');
  assert.ok(e, 'the call ended');
  return e.transcript?.map((t) => [t.text, t.interrupted, t.startMs, t.endMs]);
}

const tick = () => new Promise((r) => setTimeout(r, 10));

test('media runtime: a greeting-only call keeps the greeting as far as it was played', async () => {
  assert.deepEqual(await greetingCall({ hangUpAfterMs: 'drained' }), [['one two three four five six seven eight nine ten', false, 0, 1000]]);
  assert.deepEqual(await greetingCall({ hangUpAfterMs: 500 }), [['one two three four five', true, 0, 500]], 'the callee hung up half way');
  assert.deepEqual(await greetingCall({ hold: true, hangUpAfterMs: 500 }), [], 'hung up before the greeting started: an empty transcript');
});
