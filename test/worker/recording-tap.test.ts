/**
 * The media runtime records a call when the dial command says so: from answer to end, the callee's
 * frames and the frames written into the leg, shipped with 'ended' (with the call's timings).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TtsProvider } from '../../src/providers/tts/types.js';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';
import { MediaRuntime } from '../../src/worker/media/media-runtime.js';
import { tapLeg } from '../../src/worker/media/recording-tap.js';
import { transferablesOf, type WorkerEvent } from '../../src/worker/protocol.js';
import { dialCommand } from './dial-command.js';
import type { LegEvent, Leg } from '../../src/voice/leg.js';

class AudioLeg implements Leg {
  readonly listeners = new Set<(e: LegEvent) => void>();
  readonly audio = new Set<(f: Int16Array) => void>();
  queued = 0;
  on(l: (e: LegEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  onAudio(l: (f: Int16Array) => void) {
    this.audio.add(l);
    return () => this.audio.delete(l);
  }
  emit(e: LegEvent) {
    for (const l of [...this.listeners]) l(e);
  }
  hear(f: Int16Array) {
    for (const l of [...this.audio]) l(f);
  }
  write() {
    this.queued += 20;
  }
  get queuedMs() {
    return this.queued;
  }
  async cancel() {}
  async hangup() {}
}

/** 200 ms of a constant per request (easy to find in the recording). */
const flat: TtsProvider = {
  name: 'flat',
  capabilities: { streaming: true, nativeSampleRates: [16000] },
  async *synthesize(req) {
    yield new Int16Array(req.sampleRate / 5).fill(1000);
  },
};

function setup() {
  let now = 10_000;
  const events: WorkerEvent[] = [];
  const legs: AudioLeg[] = [];
  const rt = new MediaRuntime({
    tts: flat,
    emit: (e) => events.push(e),
    now: () => now,
    dialLeg: async () => {
      const l = new AudioLeg();
      legs.push(l);
      return l;
    },
  });
  return { rt, events, legs, advance: (ms: number) => (now += ms) };
}

const tick = () => new Promise((r) => setTimeout(r, 10));
const ended = (events: WorkerEvent[]) => events.find((e): e is Extract<WorkerEvent, { type: 'ended' }> => e.type === 'ended');

test('a recorded greeting call: the greeting on the agent channel from answer, the callee on the other, timings', async () => {
  const { rt, events, legs, advance } = setup();
  // Offered wideband first, so the greeting is made at the rate the leg answers with (no resampling).
  rt.handle(dialCommand({ record: { channels: 'dual' }, codecs: ['L16/16000'] }));
  await tick();
  const leg = legs[0] as AudioLeg;
  leg.hear(new Int16Array(320).fill(-5)); // before answer: never recorded
  advance(1000); // ringing
  leg.emit({ type: 'answered', codec: 'L16/16000', sampleRate: 16000 });
  await tick();
  advance(40);
  leg.hear(new Int16Array(320).fill(-7)); // slot 2
  advance(460);
  leg.queued = 0;
  leg.emit({ type: 'drained' });
  await tick();
  leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'local', outcome: 'completed' });
  const e = ended(events);
  assert.ok(e?.recording, 'the recording came with ended');
  assert.equal(e.recording.channels, 'dual');
  assert.equal(e.recording.sampleRate, 16000);
  assert.equal(e.recording.durationMs, 500);
  assert.deepEqual(transferablesOf(e), [e.recording.wav], 'its bytes are transferred, not copied');
  assert.deepEqual(e.timings, { answerToGreetingMs: 0, turns: [] });
  const p = new WavStreamParser();
  const inter = p.push(Buffer.from(e.recording.wav));
  assert.equal(p.format?.channels, 2);
  const left = (i: number) => inter[2 * i];
  const right = (i: number) => inter[2 * i + 1];
  assert.equal(inter.length, 2 * 8000);
  assert.equal(right(0), 1000, 'the greeting starts at answer');
  assert.equal(right(3199), 1000);
  assert.equal(right(3200), 0, '200 ms of greeting, then silence');
  assert.equal(left(0), 0, 'nothing from before answer');
  assert.equal(left(640), -7);
  assert.equal(left(960), 0);
});

test('no recording without record, and none for a call that was never answered', async () => {
  const a = setup();
  a.rt.handle(dialCommand());
  await tick();
  a.legs[0]?.emit({ type: 'answered', codec: 'PCMU', sampleRate: 8000 });
  await tick();
  a.legs[0]?.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  assert.equal(ended(a.events)?.recording, undefined);
  assert.ok(ended(a.events)?.timings, 'an answered call still reports its timings');

  const b = setup();
  b.rt.handle(dialCommand({ record: { channels: 'mono' } }));
  await tick();
  b.legs[0]?.emit({ type: 'ended', sipStatusCode: 486, reason: 'busy', by: 'remote', outcome: 'busy' });
  assert.equal(ended(b.events)?.recording, undefined);
  assert.equal(ended(b.events)?.timings, undefined);
});

test('the tapped leg is the whole leg: transfer and sendDtmf reach the inner leg (called on it), absent ones stay absent', async () => {
  const calls: string[] = [];
  class FullLeg extends AudioLeg {
    readonly marker = 'inner';
    transfer(target: string): Promise<number> {
      calls.push(`transfer ${target} on ${this.marker}`);
      return Promise.resolve(202);
    }
    sendDtmf(digits: string): void {
      calls.push(`dtmf ${digits} on ${this.marker}`);
    }
  }
  const tap = tapLeg(new FullLeg(), { channels: 'mono', maxMs: 60_000, now: () => 0 });
  assert.ok(tap.leg.transfer && tap.leg.sendDtmf, 'both are offered');
  assert.equal(await tap.leg.transfer('sip:+15559990000@127.0.0.1'), 202);
  tap.leg.sendDtmf('19#');
  assert.deepEqual(calls, ['transfer sip:+15559990000@127.0.0.1 on inner', 'dtmf 19# on inner']);
  // A leg without them: the tapped one says so too (the tools then answer tool_unavailable truthfully).
  const bare = tapLeg(new AudioLeg(), { channels: 'mono', maxMs: 60_000, now: () => 0 });
  assert.equal(bare.leg.transfer, undefined);
  assert.equal(bare.leg.sendDtmf, undefined);
});

test('record track and trim_silence reach the recorder: an inbound, trimmed recording of a greeting call', async () => {
  const { rt, events, legs, advance } = setup();
  rt.handle(dialCommand({ record: { channels: 'mono', track: 'inbound', trimSilence: true }, codecs: ['L16/16000'] }));
  await tick();
  const leg = legs[0] as AudioLeg;
  leg.emit({ type: 'answered', codec: 'L16/16000', sampleRate: 16000 });
  await tick(); // the greeting (1000s) is written now: not recorded on an inbound track
  advance(300);
  leg.hear(new Int16Array(320).fill(-800)); // slot 15: the callee
  advance(700);
  leg.queued = 0;
  leg.emit({ type: 'drained' });
  await tick();
  leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'local', outcome: 'completed' });
  const e = ended(events);
  assert.ok(e?.recording);
  assert.equal(e.recording.durationMs, 20, 'only the callee frame is left: no greeting, no silence around it');
  const inter = new WavStreamParser().push(Buffer.from(e.recording.wav));
  assert.ok(inter.length === 320 && inter.every((v) => v === -800));
});

test('a trimmed recording with no sound in it is no recording', async () => {
  const { rt, events, legs, advance } = setup();
  rt.handle(dialCommand({ greeting: null, record: { channels: 'mono', track: 'inbound', trimSilence: true } }));
  await tick();
  legs[0]?.emit({ type: 'answered', codec: 'PCMU', sampleRate: 8000 });
  advance(500);
  legs[0]?.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'local', outcome: 'completed' });
  assert.equal(ended(events)?.recording, undefined);
});
