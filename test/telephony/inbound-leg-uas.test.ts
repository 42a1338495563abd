/**
 * The UAS with media over real sockets: our own CallLeg (UAC) dialing an InboundLeg (wideband chosen
 * from the offer, audio both ways, BYE both ways), and SIPp as the caller (interop: answer + BYE from
 * the caller with RTP echoed back, CANCEL while ringing, callee hangs up).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CallLeg, InboundLeg, PortPool, UserAgent, type InboundCall, type LegEnded } from '../../src/telephony/index.js';
import { chooseAnswerCodec } from '../../src/telephony/answer-codec.js';
import { freeUdpPort, havePeer, startSipp, waitExit } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';

const fixture = (name: string) => new URL(`../fixtures/sipp/${name}`, import.meta.url).pathname;

/** A 440 Hz tone frame at `rate`, 20 ms. */
function tone(rate: number, amplitude = 8000): Int16Array {
  const n = rate / 50;
  const f = new Int16Array(n);
  for (let i = 0; i < n; i++) f[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / rate));
  return f;
}

const loud = (f: Int16Array) => Math.sqrt(f.reduce((s, v) => s + v * v, 0) / f.length) > 1000;

describe('answer codec choice (our preference among the offer, wideband first)', () => {
  const offer = (pts: string, maps: string[]) => ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio 4000 RTP/AVP ${pts}`, ...maps, ''].join('\r\n');
  test('L16/16000 beats G.722 beats PCMU whatever the offer order; none in common -> undefined', () => {
    assert.equal(chooseAnswerCodec(offer('0 9 96', ['a=rtpmap:96 L16/16000'])), 'L16/16000');
    assert.equal(chooseAnswerCodec(offer('8 0 9', [])), 'G722');
    assert.equal(chooseAnswerCodec(offer('8 0', [])), 'PCMU');
    assert.equal(chooseAnswerCodec(offer('8', [])), 'PCMA');
    assert.equal(chooseAnswerCodec(offer('3', [])), undefined);
    assert.equal(chooseAnswerCodec(offer('0 9', []), ['PCMA', 'PCMU']), 'PCMU');
  });
});

describe('InboundLeg over real UDP', () => {
  let callee: UserAgent;
  let caller: UserAgent;
  const pool = new PortPool({ min: 37400, max: 37598 });
  const incoming: InboundCall[] = [];

  before(async () => {
    callee = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
    caller = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
    callee.onInvite((c) => incoming.push(c));
  });
  after(async () => {
    await caller.close();
    await callee.close();
  });

  test('our CallLeg dials an InboundLeg: L16/16000 chosen, audio both ways, the callee hangs up', async () => {
    const sipPort = callee.transports[0]?.local.port as number;
    const leg = await CallLeg.dial({
      ua: caller, portPool: pool, localAddress: '127.0.0.1', codecs: ['PCMU', 'L16/16000'],
      dial: { to: '+12025550100', from: '+14155550000', trunk: { host: '127.0.0.1', port: sipPort }, ringTimeoutMs: 10_000 },
    });
    const callerEvents: string[] = [];
    leg.on((e) => callerEvents.push(e.type));
    const inv = await waitFor('the INVITE to arrive', () => incoming.shift(), 5000);
    assert.equal(inv.dialed, '+12025550100');
    const inbound = new InboundLeg(inv, { portPool: pool, localAddress: '127.0.0.1' });
    inbound.ringing();
    await waitFor('ringing at the caller', () => (callerEvents.includes('ringing') ? true : undefined), 2000);
    await inbound.answer();
    assert.equal(inbound.codec, 'L16');
    assert.equal(inbound.sampleRate, 16000);
    await waitFor('the caller to see the answer', () => (leg.answered ? true : undefined), 5000);
    assert.equal(leg.sampleRate, 16000);
    let heardByCallee = 0;
    let heardByCaller = 0;
    inbound.onAudio((f) => { if (loud(f)) heardByCallee++; });
    leg.onAudio((f) => { if (loud(f)) heardByCaller++; });
    for (let i = 0; i < 25; i++) {
      leg.write(tone(16000));
      inbound.write(tone(16000));
    }
    await waitFor('tone frames both ways', () => (heardByCallee >= 10 && heardByCaller >= 10 ? true : undefined), 5000);
    await waitFor('the ACK to confirm the dialog', () => (inv.state === 'confirmed' ? true : undefined), 5000);
    const callerEnded = new Promise<LegEnded>((r) => leg.on((e) => { if (e.type === 'ended') r(e); }));
    const ended = await inbound.hangup();
    assert.deepEqual([ended.by, ended.outcome], ['local', 'completed']);
    const ce = await callerEnded;
    assert.deepEqual([ce.by, ce.outcome], ['remote', 'completed']);
  });

  test('the caller cancels while we ring: 487 to the INVITE, the leg ends canceled on both sides', async () => {
    const sipPort = callee.transports[0]?.local.port as number;
    const leg = await CallLeg.dial({
      ua: caller, portPool: pool, localAddress: '127.0.0.1', codecs: ['PCMU'],
      dial: { to: '+12025550102', from: '+14155550000', trunk: { host: '127.0.0.1', port: sipPort }, ringTimeoutMs: 10_000 },
    });
    const events: string[] = [];
    leg.on((e) => events.push(e.type));
    const callerRang = () => events.includes('ringing');
    const inv = await waitFor('the INVITE to arrive', () => incoming.shift(), 5000);
    const inbound = new InboundLeg(inv, { portPool: pool, localAddress: '127.0.0.1' });
    inbound.ringing();
    await waitFor('the 180 to reach the caller', () => (callerRang() ? true : undefined), 2000);
    const callerEnd = leg.cancel();
    const ended = await inbound.ended;
    assert.deepEqual([ended.sipStatusCode, ended.outcome, ended.by], [487, 'canceled', 'remote']);
    const ce = await callerEnd;
    assert.equal(ce.outcome, 'canceled');
  });

  test('early media: a 183 with SDP, the callee\'s tone heard by the caller\'s early-media watchers before any answer, then 404; then one answered after its early media', async () => {
    const sipPort = callee.transports[0]?.local.port as number;
    const dial = async (to: string) => {
      const leg = await CallLeg.dial({
        ua: caller, portPool: pool, localAddress: '127.0.0.1', codecs: ['PCMU'],
        dial: { to, from: '+14155550000', trunk: { host: '127.0.0.1', port: sipPort }, ringTimeoutMs: 10_000 },
      });
      const events: Array<{ type: string; earlySampleRate?: number }> = [];
      leg.on((e) => events.push(e));
      const early: Int16Array[] = [];
      const heard: Int16Array[] = [];
      leg.onEarlyAudio((f) => early.push(f));
      leg.onAudio((f) => heard.push(f));
      const inv = await waitFor('the INVITE to arrive', () => incoming.shift(), 5000);
      const inbound = new InboundLeg(inv, { portPool: pool, localAddress: '127.0.0.1' });
      await inbound.earlyMedia();
      assert.equal(inbound.answered, false);
      for (let i = 0; i < 25; i++) inbound.write(tone(8000));
      await waitFor('the early tone at the caller', () => (early.filter(loud).length >= 10 ? true : undefined), 5000);
      assert.deepEqual(events.find((e) => e.type === 'ringing'), { type: 'ringing', earlyMedia: true, earlySampleRate: 8000 });
      assert.equal(heard.length, 0, "early media is not the callee's audio");
      assert.equal(leg.answered, false);
      return { leg, inbound, events, heard };
    };

    const refused = await dial('+12025550115');
    refused.inbound.reject(404, 'Not Found');
    const ended = await refused.leg.ended;
    assert.deepEqual([ended.sipStatusCode, ended.outcome], [404, 'failed']);

    const answered = await dial('+12025550116');
    await answered.inbound.answer();
    await waitFor('the answer at the caller', () => (answered.leg.answered ? true : undefined), 5000);
    assert.equal(answered.leg.sampleRate, 8000);
    for (let i = 0; i < 25; i++) answered.inbound.write(tone(8000));
    await waitFor("the callee's audio after the answer", () => (answered.heard.filter(loud).length >= 10 ? true : undefined), 5000);
    answered.leg.write(tone(8000));
    await answered.leg.hangup();
    await answered.inbound.ended;
  });
});

const sippSkip = havePeer('sipp') ? false : 'sipp not installed (scripts/setup-test-env.sh)';

describe('SIPp as the caller, our UAS answering', { skip: sippSkip }, () => {
  let callee: UserAgent;
  const pool = new PortPool({ min: 37600, max: 37798 });
  let sipPort = 0;
  const incoming: InboundCall[] = [];

  before(async () => {
    callee = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
    sipPort = callee.transports[0]?.local.port as number;
    callee.onInvite((c) => incoming.push(c));
  });
  after(async () => {
    await callee.close();
  });

  const sipp = async (scenario: string, service: string, extra: string[] = []) =>
    startSipp({ scenario: fixture(scenario), port: await freeUdpPort(), extraArgs: ['-s', service, ...extra, `127.0.0.1:${sipPort}`] });

  test('answer, RTP echoed back by SIPp, SIPp hangs up with BYE', async () => {
    const mp = await freeUdpPort();
    const p = await sipp('uac_call_bye.xml', '+12025550100', ['-mp', String(mp), '-rtp_echo']);
    try {
      const inv = await waitFor('the INVITE', () => incoming.shift(), 10_000);
      const leg = new InboundLeg(inv, { portPool: pool, localAddress: '127.0.0.1' });
      leg.ringing();
      await leg.answer();
      assert.equal(leg.codec, 'PCMU', 'the only codec SIPp offered');
      let echoed = 0;
      leg.onAudio((f) => { if (loud(f)) echoed++; });
      for (let i = 0; i < 40; i++) leg.write(tone(8000));
      const ended = await leg.ended;
      assert.deepEqual([ended.by, ended.outcome], ['remote', 'completed']);
      assert.ok(echoed >= 10, `our tone came back from SIPp's echo (${echoed} loud frames)`);
      assert.equal(await waitExit(p), 0, p.trace().slice(-3000));
    } finally {
      await p.stop();
    }
  });

  test('SIPp cancels while we ring: 200 to CANCEL, 487 ACKed, SIPp exits 0', async () => {
    const p = await sipp('uac_call_cancel.xml', '+12025550102');
    try {
      const inv = await waitFor('the INVITE', () => incoming.shift(), 10_000);
      const leg = new InboundLeg(inv, { portPool: pool, localAddress: '127.0.0.1' });
      leg.ringing();
      const ended = await leg.ended;
      assert.deepEqual([ended.sipStatusCode, ended.outcome], [487, 'canceled']);
      assert.equal(await waitExit(p), 0, p.trace().slice(-3000));
    } finally {
      await p.stop();
    }
  });

  test('we answer and hang up: SIPp receives our BYE at its Contact and answers 200', async () => {
    const p = await sipp('uac_call_wait_bye.xml', '+12025550105');
    try {
      const inv = await waitFor('the INVITE', () => incoming.shift(), 10_000);
      const leg = new InboundLeg(inv, { portPool: pool, localAddress: '127.0.0.1' });
      await leg.answer();
      await waitFor('the ACK', () => (inv.state === 'confirmed' ? true : undefined), 5000);
      const ended = await leg.hangup();
      assert.deepEqual([ended.by, ended.outcome, ended.reason], ['local', 'completed', 'BYE (BYE answered 200)']);
      assert.equal(await waitExit(p), 0, p.trace().slice(-3000));
      const bye = p.received().find((m) => m.startsWith('BYE '));
      assert.match(bye ?? '', /^BYE sip:sipp@127\.0\.0\.1:\d+ SIP\/2\.0/, 'BYE to the caller Contact (remote target)');
    } finally {
      await p.stop();
    }
  });
});
