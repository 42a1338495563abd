/**
 * A persona call end to end on a fake leg in virtual time: what the persona sends (tones, lines, beeps:
 * order, lengths, frequencies), when, and what a recording persona reports about its timing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runPersonaCall, type PersonaCallResult, type SandboxRecording } from '../../src/sandbox/persona-call.js';
import { loadPersonas, type Persona } from '../../src/sandbox/persona.js';
import { EnergyVad } from '../../src/providers/vad/energy.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { dominantFrequency, rms, tone } from '../fixtures/media/signals.js';
import { FakePersonaLeg, FakeTts } from './fake-persona-leg.js';

const RATE = 8000;
const SPEECH = tone(RATE, 440, 20, 8000);
const SILENCE = new Int16Array(RATE / 50);
const bundled = loadPersonas();

function start(persona: Persona) {
  const clock = new VirtualClock();
  const leg = new FakePersonaLeg(clock);
  const tts = new FakeTts();
  const recordings: SandboxRecording[] = [];
  const done = runPersonaCall(leg, persona, { tts, vad: new EnergyVad(), clock, onRecording: (r) => recordings.push(r) });
  /** The agent talks (or is silent) for ms, frame by frame while time runs: a frame arrives at its end. */
  const agent = async (ms: number, speaking: boolean): Promise<void> => {
    for (let t = 0; t < ms; t += 20) {
      await clock.advanceAsync(20);
      leg.hear(speaking ? SPEECH : SILENCE);
    }
  };
  const sinceAnswer = (): number => clock.now() - (leg.answeredAt ?? 0);
  return { clock, leg, tts, recordings, done, agent, sinceAnswer };
}

/** A slice of what was sent, by ms from its start. */
const slice = (pcm: Int16Array, fromMs: number, toMs: number): Int16Array => pcm.subarray((fromMs * RATE) / 1000, (toMs * RATE) / 1000);
const persona = (name: string): Persona => {
  const p = bundled.get(name);
  assert.ok(p, name);
  return p;
};

describe('persona call: openings', () => {
  test('the human says "Hello?" on answer, then waits for the agent\'s greeting to end before its first line', async () => {
    const s = start(persona('human'));
    await s.clock.advanceAsync(2999);
    assert.equal(s.leg.answeredAt, undefined, 'still ringing');
    await s.clock.advanceAsync(1);
    assert.equal(s.leg.answeredAt, 3000);
    assert.deepEqual(s.tts.requests, [{ text: 'Hello?', voice: 'kal16' }]);
    assert.equal(s.leg.sent[0]?.startMs, 0, 'said at once on answer');
    assert.equal(s.leg.sent[0]?.pcm.length, (FakeTts.msFor('Hello?') * RATE) / 1000);
    await s.agent(100, false);
    await s.agent(3000, true); // the agent's greeting, over and after "Hello?"
    assert.equal(s.leg.sent.length, 1, 'nothing more while the agent talks');
    await s.agent(680, false);
    assert.equal(s.leg.sent.length, 1, 'nor before its turn has ended (700 ms of silence)');
    await s.agent(200, false);
    assert.equal(s.tts.requests[1]?.text, 'Yes, I have a minute.', 'its first line, as before');
    const reply = s.leg.sent[1]?.startMs ?? -1;
    assert.ok(reply >= 3100 + 700 && reply <= 3100 + 800, `replied at ${reply} ms: after 700 ms of silence`);
    s.leg.callerHangsUp();
    const r = await s.done;
    assert.equal(r.timing.answerLineEndMs, FakeTts.msFor('Hello?'));
    assert.equal(r.agentSpeech.length, 1);
    const span = r.agentSpeech[0];
    assert.ok(span && Math.abs(span.startMs - 100) <= 40, `agent speech heard from ${span?.startMs} ms`);
    assert.ok(span?.endMs !== undefined && Math.abs(span.endMs - 3100) <= 40, `to ${span?.endMs} ms`);
  });

  test('intercept: the three SIT tones in order with their lengths, the announcement, then it hangs up', async () => {
    const s = start(persona('intercept'));
    await s.clock.advanceAsync(500);
    const tones = s.leg.sent[0];
    assert.ok(tones);
    assert.equal(tones.startMs, 0);
    assert.equal(tones.pcm.length, ((330 * 3 + 300) * RATE) / 1000, 'three 330 ms tones and a 300 ms gap');
    const found = [0, 330, 660].map((at) => dominantFrequency(slice(tones.pcm, at + 10, at + 320), RATE));
    [913.8, 1370.6, 1776.7].forEach((hz, i) => assert.ok(Math.abs((found[i] ?? 0) - hz) <= 10, `tone ${i}: ${found[i]} Hz, want ${hz}`));
    assert.equal(rms(slice(tones.pcm, 990, 1290)), 0, 'the gap is silent');
    assert.equal(s.tts.requests.length, 0, 'no announcement during the tones');
    await s.clock.advanceAsync(1290);
    const text = 'The number you have dialed is not in service. Please check the number and dial again.';
    assert.deepEqual(s.tts.requests, [{ text, voice: 'slt' }]);
    assert.equal(s.leg.sent[1]?.startMs, 1290);
    await s.clock.advanceAsync(FakeTts.msFor(text));
    const r: PersonaCallResult = await s.done;
    assert.equal(r.hangupReason, 'after_greeting');
    assert.equal(r.ended.by, 'local');
    assert.deepEqual(r.timing, { tonesEndMs: 1290, greetingEndMs: 1290 + FakeTts.msFor(text) });
  });

  test('fax: CNG (1100 Hz 0.5 s on, 3 s off) again and again until hangup_after_ms', async () => {
    const s = start(persona('fax'));
    await s.clock.advanceAsync(1500);
    await s.clock.advanceAsync(30_000);
    const r = await s.done;
    assert.equal(r.hangupReason, 'hangup_after_ms');
    assert.deepEqual(s.leg.sent.map((x) => x.startMs), [0, 3500, 7000, 10500, 14000, 17500, 21000, 24500, 28000]);
    for (const x of s.leg.sent) {
      assert.equal(x.pcm.length, 3.5 * RATE);
      assert.equal(dominantFrequency(slice(x.pcm, 0, 500), RATE), 1100);
      assert.equal(rms(slice(x.pcm, 500, 3500)), 0);
    }
    assert.equal(s.tts.requests.length, 0, 'a fax never speaks');
  });

  test('screening: prompt, the agent answers, one more line, then after a pause the person picks up in another voice', async () => {
    const p = persona('screening');
    const s = start(p);
    await s.clock.advanceAsync(2000);
    const prompt = p.greeting ?? '';
    assert.deepEqual(s.tts.requests, [{ text: prompt, voice: 'slt' }]);
    await s.clock.advanceAsync(FakeTts.msFor(prompt) - 100);
    await s.agent(100, false); // the line's quiet before the agent answers (the VAD learns its floor)
    await s.agent(1500, true);
    await s.agent(800, false);
    const thanks = 'Thanks, stay on the line while I see if this person is available.';
    assert.deepEqual(s.tts.requests[1], { text: thanks, voice: 'slt' });
    const thanksAt = s.leg.sent[1]?.startMs ?? 0;
    await s.clock.advanceAsync(thanksAt + FakeTts.msFor(thanks) + 2499 - s.sinceAnswer());
    assert.equal(s.tts.requests.length, 2, 'the person has not picked up yet');
    await s.clock.advanceAsync(1);
    assert.deepEqual(s.tts.requests[2], { text: 'Hello? Yes, this is Sam.', voice: 'kal16' });
    assert.equal(s.leg.sent[2]?.startMs, thanksAt + FakeTts.msFor(thanks) + 2500, 'without waiting for the agent');
    s.leg.callerHangsUp();
    assert.deepEqual((await s.done).said, [thanks, 'Hello? Yes, this is Sam.']);
  });
});

describe('persona call: voicemail timing', () => {
  test('high beep: 1400 Hz for 250 ms after the greeting; the recording starts at the beep\'s end and says when the agent spoke', async () => {
    const p = persona('voicemail-high-beep');
    const s = start(p);
    await s.clock.advanceAsync(2500);
    const greetingMs = FakeTts.msFor(p.greeting ?? '');
    await s.agent(200, false);
    await s.agent(1000, true); // the agent greets over the machine's greeting
    await s.agent(greetingMs - 1200, false);
    const beep = s.leg.sent[1];
    assert.ok(beep, 'the beep was sent');
    assert.equal(beep.startMs, greetingMs);
    assert.equal(beep.pcm.length, 0.25 * RATE);
    assert.equal(dominantFrequency(beep.pcm, RATE), 1400);
    await s.agent(260, false);
    await s.agent(2000, true); // the message
    await s.agent(400, false);
    s.leg.callerHangsUp();
    const r = await s.done;
    const [rec] = s.recordings;
    assert.ok(rec);
    assert.equal(rec.greetingEndMs, greetingMs);
    assert.equal(rec.beepEndMs, greetingMs + 250);
    assert.equal(rec.recordingStartMs, greetingMs + 250);
    assert.deepEqual(r.timing, { greetingEndMs: greetingMs, beepEndMs: greetingMs + 250, recordingStartMs: greetingMs + 250 });
    const heardMs = greetingMs + 2660;
    assert.ok(Math.abs(rec.samples.length / RATE * 1000 - (heardMs - rec.recordingStartMs)) <= 20, `recorded ${rec.samples.length} samples`);
    assert.equal(r.recordedMs, Math.round((rec.samples.length * 1000) / RATE));
    const [over, message] = rec.agentSpeech;
    assert.ok(over && over.startMs < greetingMs, 'talking over the greeting is on the record');
    assert.ok(message && message.startMs >= rec.beepEndMs + 10 && message.startMs <= rec.beepEndMs + 50, `the message began ${message?.startMs} ms after answer`);
    assert.ok(rms(rec.samples.subarray(0, 0.008 * RATE)) === 0 && rms(rec.samples.subarray(0.05 * RATE)) > 1000, 'the recording holds the message, not the greeting');
  });

  test('no beep: the recording starts when the greeting ends; no tone is sent', async () => {
    const p = persona('voicemail-no-beep');
    const s = start(p);
    await s.clock.advanceAsync(2000);
    const greetingMs = FakeTts.msFor(p.greeting ?? '');
    await s.clock.advanceAsync(greetingMs);
    await s.agent(200, false);
    await s.agent(800, true);
    s.leg.callerHangsUp();
    const r = await s.done;
    assert.equal(s.leg.sent.length, 1, 'the greeting only');
    assert.equal(s.tts.requests[0]?.voice, 'awb');
    assert.deepEqual(r.timing, { greetingEndMs: greetingMs, recordingStartMs: greetingMs });
    assert.equal(s.recordings[0]?.beepEndMs, undefined);
    assert.equal(s.recordings[0]?.recordingStartMs, greetingMs);
    assert.equal(s.recordings[0]?.samples.length, RATE);
  });
});
