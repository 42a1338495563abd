/**
 * The lifecycle both voice sessions share, on its own: phases and their legal moves, the inactivity
 * prompt, the wrap-up, the end protocol (end_requested, teardown, `ended` once), cancel before answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionShell, TRANSITIONS, type SessionHooks } from '../../src/voice/session-shell.js';
import { DEFAULT_LINES, type VoiceSessionOptions } from '../../src/voice/policy.js';
import type { VoiceEndReason } from '../../src/voice/events.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { FakeLeg } from './helpers/fake-leg.js';

function rig(o: Partial<VoiceSessionOptions> = {}, lastLineLimitMs?: number) {
  const leg = new FakeLeg();
  const clock = new VirtualClock();
  const calls: string[] = [];
  let busy = false;
  const hooks: SessionHooks = {
    answered: (rate) => calls.push(`answered ${rate}`),
    dtmf: (d) => calls.push(`dtmf ${d}`),
    farEndLeft: () => calls.push('farEndLeft'),
    firstFrame: () => {},
    played: () => {},
    idle: () => calls.push('idle'),
    agentBusy: () => busy,
    cut: () => calls.push('cut'),
    say: (text: string, endAfter?: VoiceEndReason) => calls.push(`say ${text}${endAfter ? ` -> ${endAfter}` : ''}`),
    stop: () => calls.push('stop'),
  };
  const options: VoiceSessionOptions = { firstSpeaker: 'agent', bargeIn: { minSpeechMs: 200 }, inactivityTimeoutMs: 3000, maxDurationMs: 60_000, ...o };
  const shell = new SessionShell({ leg, clock, options, hooks, ...(lastLineLimitMs !== undefined ? { lastLineLimitMs } : {}) });
  const types = () => shell.events.map((e) => (e.type === 'end_requested' || e.type === 'ended' ? `${e.type} ${e.reason}` : e.type));
  return { leg, clock, shell, calls, types, phase: () => shell.phase.name, setBusy: (b: boolean) => (busy = b) };
}

const settle = () => new Promise((r) => setImmediate(r));

test('the legal moves: ended only after hanging up, no closing before the answer, no way back from the end', () => {
  assert.deepEqual(TRANSITIONS.ringing, ['live', 'hanging_up']);
  assert.deepEqual(TRANSITIONS.hanging_up, ['ended']);
  assert.deepEqual(TRANSITIONS.ended, []);
  for (const [from, to] of Object.entries(TRANSITIONS)) {
    if (from !== 'hanging_up') assert.ok(!to.includes('ended'), `${from} -> ended skips the hang-up`);
    // A last line (closing) only once answered: in conversation, waiting out a machine's greeting or a screening assistant.
    if (from !== 'live' && from !== 'prompted' && from !== 'machine' && from !== 'screening') assert.ok(!to.includes('closing'), from);
    if (from !== 'live') assert.ok(!to.includes('prompted'), from);
  }
  assert.deepEqual(TRANSITIONS.machine, ['live', 'screening', 'closing', 'hanging_up'], 'a machine verdict taken back by words: a person (live) or a screening assistant');
  assert.deepEqual(TRANSITIONS.screening, ['live', 'closing', 'hanging_up'], 'a screened call becomes a conversation when the person picks up');
});

test('holdForScreening: the agent stops, no inactivity count while the assistant has the line, then the pickup makes it a conversation again', async () => {
  const r = rig();
  r.shell.holdForScreening();
  assert.equal(r.phase(), 'ringing', 'before the answer there is nothing to hold');
  r.leg.answer();
  r.shell.armInactivity();
  r.shell.holdForScreening();
  assert.equal(r.phase(), 'screening');
  assert.equal(r.shell.screening, true);
  assert.equal(r.shell.conversing, false, 'no turns, input or barge-in while the assistant has the line');
  assert.deepEqual(r.calls.slice(-1), ['cut']);
  await r.clock.advanceAsync(10_000);
  assert.ok(!r.calls.some((c) => c.startsWith('say')), 'no inactivity prompt to a screening assistant');
  r.shell.pickedUp();
  assert.equal(r.phase(), 'live');
  assert.equal(r.shell.conversing, true);
  r.shell.pickedUp();
  assert.equal(r.phase(), 'live', 'a second pickup changes nothing');
  r.shell.holdForScreening();
  r.shell.endWithLine('Sorry, we have to go.', 'max_duration_reached');
  assert.equal(r.phase(), 'closing', 'the wrap-up still ends a screened call');
});

test('holdForMachine: the agent stops at once, no inactivity count, then the message is said and the call ends for its reason', async () => {
  const r = rig();
  r.shell.holdForMachine();
  assert.equal(r.phase(), 'ringing', 'before the answer there is nothing to hold');
  r.leg.answer();
  r.shell.armInactivity();
  r.shell.holdForMachine();
  assert.equal(r.phase(), 'machine');
  assert.equal(r.shell.conversing, false);
  assert.deepEqual(r.calls.slice(-1), ['cut']);
  await r.clock.advanceAsync(10_000);
  assert.ok(!r.calls.some((c) => c.startsWith('say')), 'no inactivity prompt to a machine');
  r.shell.endWithLine('Please call us back.', 'voicemail_left');
  assert.equal(r.phase(), 'closing');
  assert.deepEqual(r.calls.slice(-2), ['cut', 'say Please call us back. -> voicemail_left']);
});

test('a hang-up before the answer cancels the call (never answers it into silence); ended comes once', async () => {
  const r = rig();
  r.shell.hangUp('error_llm');
  r.shell.hangUp('agent_hangup');
  assert.equal(r.phase(), 'hanging_up');
  await settle();
  assert.deepEqual(r.leg.calls, ['cancel']);
  assert.deepEqual(r.types(), ['end_requested error_llm', 'ended error_llm']);
  assert.deepEqual(r.calls, ['stop']);
  assert.equal(r.phase(), 'ended');
});

test('inactivity: the prompt after the silence, the callee speaking owes a new one, then the hang-up', async () => {
  const r = rig();
  r.leg.answer();
  assert.equal(r.phase(), 'live');
  r.shell.armInactivity();
  r.clock.advance(3000);
  assert.equal(r.phase(), 'prompted');
  assert.deepEqual(r.calls, ['answered 8000', `say ${DEFAULT_LINES.inactivityPrompt}`]);
  r.shell.calleeSpoke();
  assert.equal(r.phase(), 'live');
  r.shell.armInactivity();
  r.clock.advance(3000);
  r.shell.armInactivity();
  r.setBusy(true); // the agent is talking: no hang-up then
  r.clock.advance(3000);
  assert.equal(r.phase(), 'prompted');
  r.setBusy(false);
  r.shell.armInactivity();
  r.clock.advance(3000);
  await settle();
  assert.deepEqual(r.leg.calls, ['hangup']);
  assert.deepEqual(r.types().slice(-2), ['end_requested inactivity_timeout', 'ended inactivity_timeout']);
});

test('max duration: cut, the wrap-up line with its end reason; with a last-line limit the call hangs up anyway', async () => {
  const r = rig({ maxDurationMs: 5000, wrapUpLine: 'Time is up.' }, 20_000);
  r.leg.answer();
  r.clock.advance(5000);
  assert.deepEqual(r.shell.phase, { name: 'closing', reason: 'max_duration_reached' });
  assert.deepEqual(r.calls.slice(1), ['cut', 'say Time is up. -> max_duration_reached']);
  r.shell.endWithLine('another', 'error_tts'); // already saying a last line
  r.shell.armInactivity(); // no prompts while closing
  r.clock.advance(19_999);
  assert.equal(r.phase(), 'closing');
  r.clock.advance(1);
  await settle();
  assert.deepEqual(r.types(), ['end_requested max_duration_reached', 'ended max_duration_reached']);
});

test('a failure: reported, then the apology; a failure while ending hangs up, keeping a stronger reason than the goodbye', async () => {
  const r = rig();
  r.leg.answer();
  r.shell.fail('llm', Object.assign(new Error('boom'), { code: 'provider_failed' }), 'error_llm', true);
  assert.deepEqual(r.shell.events[0], { type: 'error', source: 'llm', code: 'provider_failed', message: 'boom', endReason: 'error_llm', atMs: 0 });
  assert.deepEqual(r.calls.slice(1), ['cut', `say ${DEFAULT_LINES.apology} -> error_llm`]);
  r.shell.fail('tts', new Error('again'), 'error_tts', true);
  await settle();
  assert.deepEqual(r.types(), ['error', 'error', 'end_requested error_llm', 'ended error_llm']);

  const g = rig();
  g.leg.answer();
  g.shell.close('agent_hangup');
  g.shell.fail('tts', new Error('no voice'), 'error_tts', true);
  await settle();
  assert.deepEqual(g.types(), ['error', 'end_requested error_tts', 'ended error_tts']);
});

test('the far end leaving: what was in flight is recorded before the teardown; the expected reason wins', () => {
  const r = rig();
  r.leg.answer();
  r.shell.expectRemoteEnd('transferred');
  r.leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  assert.deepEqual(r.calls, ['answered 8000', 'farEndLeft', 'stop']);
  assert.deepEqual(r.types(), ['end_requested transferred', 'ended transferred']);
  assert.deepEqual(r.leg.calls, [], 'nothing left to hang up');
  r.leg.emit({ type: 'dtmf', digit: '1', durationMs: 100 });
  assert.ok(!r.calls.includes('dtmf 1'), 'no input after the end');
});

test('hang up when idle: drains while the last words play, hangs up at idle (not before), the idle not passed on', async () => {
  const r = rig();
  r.leg.answer(8000);
  r.shell.close('transferred');
  const playout = r.shell.playout;
  assert.ok(playout);
  playout.start('bye', 'Goodbye.');
  playout.push('bye', new Int16Array(160 * 10));
  playout.finish('bye');
  r.shell.hangUpWhenIdle('transferred');
  assert.deepEqual(r.shell.phase, { name: 'draining', reason: 'transferred' });
  for (let i = 0; i < 20 && r.phase() === 'draining'; i++) {
    r.leg.play(20);
    r.clock.advance(20);
  }
  await settle();
  assert.equal(r.leg.queuedAtHangup, 0, 'heard in full');
  assert.deepEqual(r.types(), ['end_requested transferred', 'ended transferred']);
  assert.ok(!r.calls.includes('idle'));
});
