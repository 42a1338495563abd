/**
 * transfer_call and send_dtmf: the runner's logic against a fake leg (the SIP side is proven on real
 * peers in test/e2e/voice-tools.db.test.ts), then through a real VoiceSession in virtual time.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { Tool } from '../../src/contract/agent.js';
import { FlowAgentBrain } from '../../src/voice/brain.js';
import { FlowBrain, type Flow } from '../../src/voice/flow/index.js';
import { VoiceSession } from '../../src/voice/session.js';
import { createToolRunner, transferTarget, type CallControl, type ToolCallContext } from '../../src/worker/media/tools/index.js';
import { flush, VirtualClock } from '../helpers/virtual-clock.js';
import { FakeLeg } from '../voice/helpers/fake-leg.js';
import { FakeStt, FakeVad, ToneTts } from '../voice/helpers/fakes.js';
import type { LegEvent } from '../../src/voice/leg.js';

const context: ToolCallContext = { callId: 'call_1', agentId: 'agt_1', metadata: null, signingSecrets: [], allowPrivateUrls: false, trunk: { host: 'trunk.example.com', port: 5080 } };
const signal = () => new AbortController().signal;

/** A leg that can REFER and send DTMF, scripted by the test; every step lands in `log`. */
class ToolLeg extends FakeLeg {
  referAnswer: () => Promise<number> = async () => 202;
  /** NOTIFYs the far end sends once the REFER is answered. */
  notifies: Array<{ statusCode: number; final: boolean }> = [{ statusCode: 200, final: true }];
  refers: string[] = [];
  dtmf: string[] = [];
  async transfer(target: string): Promise<number> {
    this.refers.push(target);
    this.log.push(`refer ${target}`);
    const status = await this.referAnswer();
    if (status >= 200 && status < 300) {
      for (const n of this.notifies) queueMicrotask(() => this.emit({ type: 'transfer-progress', ...n }));
    }
    return status;
  }
  sendDtmf(digits: string): void {
    this.dtmf.push(digits);
    this.log.push(`dtmf ${digits}`);
  }
}

/** A control whose speech is "playing" until the test calls spoken(). */
function control(leg: ToolLeg) {
  const calls: string[] = [];
  let release: () => void = () => undefined;
  let speaking = true;
  const c: CallControl = {
    leg,
    untilSpoken: () => (speaking ? new Promise<void>((r) => (release = r)) : Promise.resolve()),
    endAfterTurn: (r) => calls.push(`end ${r}`),
    expectRemoteEnd: (r) => calls.push(`expect ${r ?? 'none'}`),
  };
  return {
    c,
    calls,
    spoken: () => {
      speaking = false;
      leg.log.push('spoken');
      release();
    },
  };
}

const transfer: Tool = { type: 'transfer_call', transfer_to: '+15559990000' };
function runner(tools: Tool[], c: CallControl | undefined, clock = new VirtualClock(), notifyWaitMs?: number) {
  return createToolRunner({ tools, context, clock, control: () => c, ...(notifyWaitMs !== undefined ? { transferNotifyWaitMs: notifyWaitMs } : {}) });
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: String((err as { code?: unknown }).code), message: (err as Error).message };
  }
  assert.fail('expected a failure');
}

test('transfer targets: a number goes to the trunk, a SIP URI as configured; junk is refused', () => {
  assert.equal(transferTarget('+15559990000', context.trunk), 'sip:+15559990000@trunk.example.com:5080');
  assert.equal(transferTarget('sip:desk@pbx.example.com', context.trunk), 'sip:desk@pbx.example.com');
  assert.throws(() => transferTarget('+1 555 <evil>', context.trunk), /not a number or SIP URI/);
});

test('transfer: REFER only after the announcement played; the model cannot pick the target; accepted + NOTIFY 200 ends the call transferred', async () => {
  const leg = new ToolLeg();
  const k = control(leg);
  const p = runner([transfer], k.c)('transfer_call', { to: '+19005550000', reason: 'asked for a human' }, signal());
  await flush();
  assert.deepEqual(leg.refers, [], 'nothing is sent while the agent is still speaking');
  k.spoken();
  assert.deepEqual(await p, { transferred: true, to: '+15559990000', sip_status: 200 });
  assert.deepEqual(leg.log, ['spoken', 'refer sip:+15559990000@trunk.example.com:5080'], 'the configured target, never the model\'s');
  assert.deepEqual(k.calls, ['expect transferred', 'end transferred']);
});

test('transfer refused (REFER 403) or failed at the target (NOTIFY 486): a failed result, the call goes on', async () => {
  const leg = new ToolLeg();
  leg.referAnswer = async () => 403;
  const k = control(leg);
  k.spoken();
  const e = await failure(runner([transfer], k.c)('transfer_call', {}, signal()));
  assert.equal(e.code, 'transfer_failed');
  assert.match(e.message, /refused the transfer \(SIP 403\)/);
  assert.deepEqual(k.calls, ['expect transferred', 'expect none'], 'no end; a later hang-up is the callee\'s again');

  const leg2 = new ToolLeg();
  leg2.notifies = [{ statusCode: 100, final: false }, { statusCode: 486, final: true }];
  const k2 = control(leg2);
  k2.spoken();
  const e2 = await failure(runner([transfer], k2.c)('transfer_call', {}, signal()));
  assert.match(e2.message, /target answered SIP 486/);
  assert.deepEqual(k2.calls, ['expect transferred', 'expect none']);

  const leg3 = new ToolLeg();
  leg3.referAnswer = async () => {
    throw new Error('transaction timed out');
  };
  const k3 = control(leg3);
  k3.spoken();
  assert.equal((await failure(runner([transfer], k3.c)('transfer_call', {}, signal()))).code, 'transfer_failed');
});

test('transfer: no NOTIFY within the wait still ends the call transferred (the REFER was accepted)', async () => {
  const leg = new ToolLeg();
  leg.notifies = [];
  const clock = new VirtualClock();
  const k = control(leg);
  k.spoken();
  let result: unknown;
  const p = runner([transfer], k.c, clock, 4000)('transfer_call', {}, signal()).then((r) => (result = r));
  await clock.advanceAsync(3999);
  assert.equal(result, undefined, 'still waiting for the NOTIFY');
  await clock.advanceAsync(1);
  await p;
  assert.deepEqual(result, { transferred: true, to: '+15559990000' });
  assert.deepEqual(k.calls, ['expect transferred', 'end transferred']);
});

test('transfer without transfer_to, before answer, or on a leg that cannot REFER: tool_unavailable', async () => {
  const leg = new ToolLeg();
  const k = control(leg);
  k.spoken();
  assert.equal((await failure(runner([{ type: 'transfer_call' }], k.c)('transfer_call', {}, signal()))).code, 'tool_unavailable');
  assert.equal((await failure(runner([transfer], undefined)('transfer_call', {}, signal()))).code, 'tool_unavailable');
  const plain: CallControl = { ...k.c, leg: { on: (l: (e: LegEvent) => void) => leg.on(l) } };
  assert.equal((await failure(runner([transfer], plain)('transfer_call', {}, signal()))).code, 'tool_unavailable');
  assert.deepEqual(leg.refers, []);
});

test('send_dtmf: validated digits, sent after the speech; bad digits never reach the leg', async () => {
  const leg = new ToolLeg();
  const k = control(leg);
  const run = runner([{ type: 'send_dtmf' }], k.c);
  const p = run('send_dtmf', { digits: '12#a' }, signal());
  await flush();
  assert.deepEqual(leg.dtmf, []);
  k.spoken();
  assert.deepEqual(await p, { sent: '12#A' });
  assert.deepEqual(leg.log, ['spoken', 'dtmf 12#A']);
  for (const digits of ['', '12x', '1'.repeat(33), 5.5, undefined]) {
    assert.equal((await failure(run('send_dtmf', { digits }, signal()))).code, 'tool_bad_arguments', String(digits));
  }
  assert.deepEqual(leg.dtmf, ['12#A']);
});

const transferFlow: Flow = {
  start: 'tell',
  nodes: {
    tell: { type: 'say', text: 'I will put you through to a colleague now.', next: 'move' },
    move: { type: 'tool', tool: 'transfer_call', on_success: 'after', on_failure: 'sorry' },
    after: { type: 'say', text: 'This must never be said.', next: 'bye' },
    sorry: { type: 'say', text: 'Sorry, nobody is free.', next: 'bye' },
    bye: { type: 'end', text: 'Goodbye.' },
  },
};

function session(leg: ToolLeg) {
  const clock = new VirtualClock();
  let ctl: CallControl | undefined;
  // The same wiring as voice-call.ts: the runner reaches the live session through a late-bound control.
  const s = new VoiceSession({
    leg, tts: new ToneTts(), vad: new FakeVad(), stt: new FakeStt(), clock,
    brain: new FlowAgentBrain(new FlowBrain(transferFlow, {}, { toolNames: ['transfer_call'] }), createToolRunner({ tools: [transfer], context, clock, control: () => ctl })),
    options: { firstSpeaker: 'agent', bargeIn: { minSpeechMs: 200 }, inactivityTimeoutMs: 60_000, maxDurationMs: 600_000, filler: { afterMs: 1500, phrases: ['One moment please.'] } },
  });
  ctl = { leg, untilSpoken: () => s.untilSpoken(), endAfterTurn: (r) => s.endAfterTurn(r), expectRemoteEnd: (r) => s.expectRemoteEnd(r) };
  const until = async (what: string, pred: () => boolean, maxSteps = 3000) => {
    for (let i = 0; i < maxSteps && !pred(); i++) {
      leg.play(20);
      s.pushAudio(new Int16Array(160));
      await clock.advanceAsync(20);
    }
    assert.ok(pred(), `timed out waiting for ${what}`);
  };
  return { s, until };
}

test('session: the announcement plays in full, then REFER, then BYE; the call ends transferred with the tool call in the transcript', async () => {
  const leg = new ToolLeg();
  const h = session(leg);
  leg.answer(8000);
  await h.until('ended', () => h.s.events.some((e) => e.type === 'ended'));
  const ended = h.s.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'transferred');
  const refer = leg.log.indexOf('refer sip:+15559990000@trunk.example.com:5080');
  assert.ok(refer > 0 && leg.log.slice(0, refer).every((l) => l === 'write'), 'REFER after the announcement\'s audio');
  assert.deepEqual(leg.log.slice(refer), ['refer sip:+15559990000@trunk.example.com:5080', 'hangup'], 'nothing said after the transfer');
  assert.equal(leg.queuedAtHangup, 0);
  const turn = h.s.transcript.at(-1);
  assert.equal(turn?.text, 'I will put you through to a colleague now.');
  assert.deepEqual(turn?.toolCalls?.map((t) => [t.name, t.ok, t.result]), [['transfer_call', true, { transferred: true, to: '+15559990000', sip_status: 200 }]]);
});

test('session: a refused transfer takes the flow\'s failure branch and the conversation goes on', async () => {
  const leg = new ToolLeg();
  leg.referAnswer = async () => 603;
  const h = session(leg);
  leg.answer(8000);
  await h.until('ended', () => h.s.events.some((e) => e.type === 'ended'));
  const ended = h.s.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'agent_hangup');
  const turn = h.s.transcript.at(-1);
  assert.equal(turn?.text, 'I will put you through to a colleague now. Sorry, nobody is free. Goodbye.');
  assert.equal(turn?.toolCalls?.[0]?.ok, false);
});

test('session: the transferee hanging up while we wait for the NOTIFY still ends the call transferred', async () => {
  const leg = new ToolLeg();
  leg.notifies = [];
  const origTransfer = leg.transfer.bind(leg);
  leg.transfer = async (t) => {
    const s = await origTransfer(t);
    queueMicrotask(() => leg.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' }));
    return s;
  };
  const h = session(leg);
  leg.answer(8000);
  await h.until('ended', () => h.s.events.some((e) => e.type === 'ended'));
  const ended = h.s.events.at(-1);
  assert.deepEqual(ended?.type === 'ended' && ended.reason, 'transferred');
  assert.deepEqual(leg.calls, [], 'the far end hung up; we send no BYE');
  assert.equal(h.s.transcript.at(-1)?.toolCalls?.[0]?.name, 'transfer_call', 'the tool call is still recorded');
});
