import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TtsProvider } from '../../src/providers/tts/types.js';
import { ANSWER_WHEN_READY_MAX_MS, CallerGoneError, endReasonFor, MediaRuntime } from '../../src/worker/media/media-runtime.js';
import type { WorkerEvent } from '../../src/worker/protocol.js';
import { dialCommand } from './dial-command.js';
import type { LegEvent, Leg } from '../../src/voice/leg.js';

/** A leg driven by the test: it records what the runtime does and emits what the test says. */
class FakeLeg implements Leg {
  readonly listeners = new Set<(e: LegEvent) => void>();
  readonly written: Array<{ frame: Int16Array; answered: boolean }> = [];
  answered = false;
  queued = 0;
  calls: string[] = [];
  on(l: (e: LegEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: LegEvent) {
    if (e.type === 'answered') this.answered = true;
    for (const l of [...this.listeners]) l(e);
  }
  write(frame: Int16Array) {
    this.written.push({ frame, answered: this.answered });
    this.queued += 20;
  }
  get queuedMs() {
    return this.queued;
  }
  drain() {
    this.queued = 0;
    this.emit({ type: 'drained' });
  }
  async cancel() {
    this.calls.push('cancel');
  }
  async hangup() {
    this.calls.push('hangup');
  }
}

/** One second of a 440 Hz tone per request, in two chunks. */
const tone: TtsProvider = {
  name: 'tone',
  capabilities: { streaming: true, nativeSampleRates: [16000] },
  async *synthesize(req) {
    for (let c = 0; c < 2; c++) {
      const n = req.sampleRate / 2;
      yield Int16Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * (c * n + i)) / req.sampleRate)));
    }
  },
};

const cmd = dialCommand;

function setup() {
  const events: WorkerEvent[] = [];
  const legs: FakeLeg[] = [];
  const rt = new MediaRuntime({
    tts: tone,
    emit: (e) => events.push(e),
    dialLeg: async () => {
      const l = new FakeLeg();
      legs.push(l);
      return l;
    },
  });
  return { rt, events, legs };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

test('the greeting plays only after answer, at the leg rate, then the call hangs up as agent_hangup', async () => {
  const { rt, events, legs } = setup();
  rt.handle(cmd());
  await tick();
  const leg = legs[0]!;
  leg.emit({ type: 'ringing', earlyMedia: true });
  await tick();
  assert.equal(leg.written.length, 0, 'nothing is sent while ringing, even with early media');
  leg.emit({ type: 'answered', codec: 'PCMU', sampleRate: 8000 });
  await tick();
  assert.equal(leg.written.length, 50, 'one second of greeting = 50 frames of 20 ms');
  assert.ok(leg.written.every((w) => w.answered && w.frame.length === 160));
  assert.deepEqual(leg.calls, [], 'no hang-up before the audio has played');
  leg.drain();
  await tick();
  assert.deepEqual(leg.calls, ['hangup']);
  leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'BYE', by: 'local', outcome: 'completed' });
  const types = events.map((e) => e.type);
  assert.deepEqual(types, ['ringing', 'answered', 'greeting-started', 'ended']);
  const ended = events.at(-1) as Extract<WorkerEvent, { type: 'ended' }>;
  assert.equal(ended.status, 'completed');
  assert.equal(ended.endReason, 'agent_hangup');
  assert.equal(rt.activeCalls, 0);
});

test('cancel before answer sends CANCEL; after answer it hangs up; both end canceled_by_api', async () => {
  const { rt, events, legs } = setup();
  rt.handle(cmd({ callId: 'a' }));
  rt.handle(cmd({ callId: 'b' }));
  await tick();
  const [a, b] = legs as [FakeLeg, FakeLeg];
  rt.handle({ type: 'cancel', callId: 'a' });
  assert.deepEqual(a.calls, ['cancel']);
  a.emit({ type: 'ended', sipStatusCode: 487, reason: 'Request Terminated', by: 'local', outcome: 'canceled' });
  b.emit({ type: 'answered', codec: 'PCMA', sampleRate: 8000 });
  await tick();
  rt.handle({ type: 'cancel', callId: 'b' });
  assert.deepEqual(b.calls, ['hangup']);
  b.emit({ type: 'ended', sipStatusCode: 200, reason: 'BYE', by: 'local', outcome: 'completed' });
  const ends = events.filter((e): e is Extract<WorkerEvent, { type: 'ended' }> => e.type === 'ended');
  assert.deepEqual(ends.map((e) => [e.callId, e.status, e.endReason]), [
    ['a', 'canceled', 'canceled_by_api'],
    ['b', 'completed', 'canceled_by_api'],
  ]);
});

test('shutdown with a drain: live calls go on, one that ends meanwhile keeps its own end; the rest end worker_shutdown when the drain is up; a second shutdown ends them now', async () => {
  const { rt, events, legs } = setup();
  for (const id of ['a', 'b', 'c']) rt.handle(cmd({ callId: id }));
  await tick();
  const [a, b, c] = legs as [FakeLeg, FakeLeg, FakeLeg];
  a.emit({ type: 'answered', codec: 'PCMA', sampleRate: 8000 });
  await tick();
  rt.handle({ type: 'shutdown', drainMs: 150 });
  assert.deepEqual([a.calls, b.calls, c.calls], [[], [], []], 'nothing is cut while the drain runs');
  // b's callee hangs up on their own during the drain.
  b.emit({ type: 'answered', codec: 'PCMA', sampleRate: 8000 });
  b.emit({ type: 'ended', sipStatusCode: 200, reason: 'BYE', by: 'remote', outcome: 'completed' });
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual([a.calls, c.calls], [['hangup'], ['cancel']], 'the answered one is hung up, the ringing one cancelled');
  a.emit({ type: 'ended', sipStatusCode: 200, reason: 'BYE', by: 'local', outcome: 'completed' });
  c.emit({ type: 'ended', sipStatusCode: 487, reason: 'Request Terminated', by: 'local', outcome: 'canceled' });
  const ends = events.filter((e): e is Extract<WorkerEvent, { type: 'ended' }> => e.type === 'ended');
  assert.deepEqual(ends.map((e) => [e.callId, e.status, e.endReason]), [
    ['b', 'completed', 'callee_hangup'],
    ['a', 'completed', 'worker_shutdown'],
    ['c', 'canceled', 'worker_shutdown'],
  ]);

  const second = setup();
  second.rt.handle(cmd({ callId: 'd' }));
  await tick();
  second.rt.handle({ type: 'shutdown', drainMs: 60_000 });
  assert.deepEqual(second.legs[0]?.calls, []);
  second.rt.handle({ type: 'shutdown' });
  assert.deepEqual(second.legs[0]?.calls, ['cancel'], 'a second shutdown does not wait for the drain');
});

test('a cancel that arrives while the leg is still being dialed is applied once it exists', async () => {
  let release: (l: Leg) => void = () => undefined;
  const leg = new FakeLeg();
  const rt = new MediaRuntime({ tts: tone, emit: () => undefined, dialLeg: () => new Promise<Leg>((r) => (release = r)) });
  rt.handle(cmd());
  rt.handle({ type: 'cancel', callId: 'c1' });
  release(leg);
  await tick();
  assert.deepEqual(leg.calls, ['cancel']);
});

test('max_duration hangs up a call that is still talking', async () => {
  const { rt, events, legs } = setup();
  rt.handle(cmd({ maxDurationMs: 30 }));
  await tick();
  legs[0]!.emit({ type: 'answered', codec: 'PCMU', sampleRate: 8000 });
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(legs[0]!.calls, ['hangup']);
  legs[0]!.emit({ type: 'ended', sipStatusCode: 200, reason: 'BYE', by: 'local', outcome: 'completed' });
  assert.equal((events.at(-1) as { endReason: string }).endReason, 'max_duration_reached');
});

test('a duplicate dial is refused and a dial that throws ends failed', async () => {
  const { rt, events, legs } = setup();
  rt.handle(cmd());
  rt.handle(cmd());
  await tick();
  assert.equal(legs.length, 1, 'the same call is never dialed twice');
  const broken = new MediaRuntime({ tts: tone, emit: (e) => events.push(e), dialLeg: async () => Promise.reject(new Error('no route')) });
  broken.handle(cmd({ callId: 'x' }));
  await tick();
  const end = events.find((e) => e.type === 'ended' && e.callId === 'x') as Extract<WorkerEvent, { type: 'ended' }>;
  assert.equal(end.status, 'failed');
  assert.equal(end.endReason, 'dial_error');
  assert.match(end.reason, /no route/);
});

test('end reasons from SIP outcomes', () => {
  const e = (outcome: 'completed' | 'busy' | 'no_answer' | 'canceled' | 'failed', code: number, by: 'local' | 'remote' | 'timeout' | 'error', reason = '') =>
    ({ type: 'ended', outcome, sipStatusCode: code, by, reason }) as const;
  assert.equal(endReasonFor(e('completed', 200, 'remote'), undefined), 'callee_hangup');
  assert.equal(endReasonFor(e('busy', 486, 'remote'), undefined), 'busy');
  assert.equal(endReasonFor(e('busy', 603, 'remote'), undefined), 'declined');
  assert.equal(endReasonFor(e('no_answer', 487, 'timeout'), undefined), 'ring_timeout');
  assert.equal(endReasonFor(e('no_answer', 480, 'remote'), undefined), 'no_answer');
  assert.equal(endReasonFor(e('failed', 403, 'remote'), undefined), 'sip_error');
  assert.equal(endReasonFor(e('failed', 408, 'timeout'), undefined), 'dial_error');
  assert.equal(endReasonFor(e('failed', 503, 'error'), undefined), 'dial_error');
  assert.equal(endReasonFor(e('failed', 503, 'remote'), undefined), 'sip_error');
  assert.equal(endReasonFor(e('completed', 200, 'local', 'rtp_timeout'), undefined), 'media_timeout');
  assert.equal(endReasonFor(e('completed', 200, 'local'), 'max_duration'), 'max_duration_reached');
});

/** A greeting engine whose first chunk waits for the test's go. */
function heldTone() {
  let go: () => void = () => undefined;
  const gate = new Promise<void>((r) => (go = r));
  const provider: TtsProvider = {
    name: 'held',
    capabilities: { streaming: true, nativeSampleRates: [16000] },
    async *synthesize(req) {
      await gate;
      yield* tone.synthesize(req);
    },
  };
  return { provider, go };
}

/** An inbound leg driven by the test: answer() says 'answered' as InboundLeg does once the 200 is sent. */
class FakeInboundLeg extends FakeLeg {
  answerCalls = 0;
  async answer() {
    this.answerCalls++;
    this.emit({ type: 'answered', codec: 'PCMU', sampleRate: 8000 });
  }
}

function inboundSetup(tts: TtsProvider, gone = false) {
  const events: WorkerEvent[] = [];
  const legs: FakeInboundLeg[] = [];
  const rejected: string[] = [];
  const rt = new MediaRuntime({
    tts,
    emit: (e) => events.push(e),
    dialLeg: async () => {
      throw new Error('an answer command never dials');
    },
    answerLeg: async () => {
      if (gone) throw new CallerGoneError();
      const l = new FakeInboundLeg();
      legs.push(l);
      return l;
    },
    rejectInvite: (c) => rejected.push(`${c.inviteId}:${c.status}`),
  });
  return { rt, events, legs, rejected };
}

const answerCmd = (callId: string) => ({ ...cmd({ callId }), type: 'answer' as const, inviteId: `inv-${callId}` });

test('an inbound call is answered once its greeting has its first audio, which then plays at once; the caller hanging up is caller_hangup', async () => {
  const held = heldTone();
  const { rt, events, legs } = inboundSetup(held.provider);
  rt.handle(answerCmd('in1'));
  await tick();
  const leg = legs[0]!;
  assert.equal(leg.answerCalls, 0, 'not answered while the greeting is being made (the caller hears ringing)');
  held.go();
  await tick();
  assert.equal(leg.answerCalls, 1);
  assert.equal(leg.written.length, 50, 'the greeting follows the 200 at once');
  leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'BYE from remote', by: 'remote', outcome: 'completed' });
  const ended = events.at(-1) as Extract<WorkerEvent, { type: 'ended' }>;
  assert.deepEqual([ended.status, ended.endReason], ['completed', 'caller_hangup']);
});

test('an inbound greeting engine that never starts does not keep the caller ringing past ANSWER_WHEN_READY_MAX_MS', async () => {
  const held = heldTone();
  const { rt, legs } = inboundSetup(held.provider);
  const started = performance.now();
  rt.handle(answerCmd('in2'));
  await waitUntil(() => legs[0]?.answerCalls === 1, ANSWER_WHEN_READY_MAX_MS + 1000);
  const waited = performance.now() - started;
  assert.ok(waited >= ANSWER_WHEN_READY_MAX_MS - 20, `answered after the cap (${waited.toFixed(0)} ms)`);
  held.go();
  legs[0]!.emit({ type: 'ended', sipStatusCode: 200, reason: 'BYE', by: 'local', outcome: 'completed' });
});

test('inbound: a caller gone before the answer is canceled / caller_abandoned; canceled while ringing it is refused, never answered; reject reaches the INVITE', async () => {
  const gone = inboundSetup(tone, true);
  gone.rt.handle(answerCmd('in3'));
  await tick();
  const e = gone.events.at(-1) as Extract<WorkerEvent, { type: 'ended' }>;
  assert.deepEqual([e.status, e.endReason, e.sipStatusCode], ['canceled', 'caller_abandoned', 487]);

  const held = heldTone();
  const s = inboundSetup(held.provider);
  s.rt.handle(answerCmd('in4'));
  await tick();
  s.rt.handle({ type: 'cancel', callId: 'in4' });
  held.go();
  await tick();
  const leg = s.legs[0]!;
  assert.deepEqual([leg.calls, leg.answerCalls], [['cancel'], 0]);
  leg.emit({ type: 'ended', sipStatusCode: 480, reason: 'rejected', by: 'local', outcome: 'canceled' });
  const c = s.events.at(-1) as Extract<WorkerEvent, { type: 'ended' }>;
  assert.deepEqual([c.status, c.endReason], ['canceled', 'canceled_by_api']);

  s.rt.handle({ type: 'reject', inviteId: 'inv-x', status: 404, reason: 'Not Found' });
  assert.deepEqual(s.rejected, ['inv-x:404']);
});

async function waitUntil(cond: () => boolean, maxMs: number): Promise<void> {
  const until = performance.now() + maxMs;
  while (!cond()) {
    if (performance.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
