/**
 * CallLeg against a real SIPp UAS (sip-tester) with its RTP echo (-rtp_echo): the full path of one call
 * (INVITE with our SDP offer, SIPp's answer, media paced by the shared clock, G.711 both ways, BYE).
 * - PCMU, PCMA and G.722: a chirp we send comes back correlated with what we sent (not silence, not
 *   noise), and the codec is the one the ANSWER chose (RFC 3264 §7), not our first preference.
 * - SIPp answers a codec we did not offer: we ACK, BYE and end 'failed' with the reason.
 * - SIPp answers but sends no RTP: the RTP timeout hangs up (reason 'rtp_timeout').
 * - SIPp holds us (re-INVITE sendonly) and resumes: our answers (recvonly, then sendrecv) come from
 *   MediaSession.answerReOffer, RTP stops and the prompt pauses while held, the echo returns after.
 * - SIPp hangs up (BYE) mid-call while media flows: ended by remote, media closed, port reusable.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { CallLeg, PortPool, UserAgent, type LegEvent } from '../../src/telephony/index.js';
import { freePort, freeUdpPort, havePeer, startSipp, waitExit, type SippProcess } from '../helpers/sipp.js';
import { chirp, concat, findSignal, frames, rms } from '../fixtures/media/signals.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));
const skip = havePeer('sipp') ? false : 'sipp (sip-tester) not installed: skipping CallLeg/SIPp media tests';

let sipp: SippProcess | undefined;
let ua: UserAgent | undefined;
const legs: CallLeg[] = [];

afterEach(async () => {
  // Tests hang up themselves; closing the UA first ends any leg a failed test left (no BYE that could
  // wait 32 s for a dead peer), and every leg's media is closed before the next test.
  await ua?.close();
  for (const l of legs.splice(0)) await l.ended;
  await sipp?.stop();
  sipp = undefined;
  ua = undefined;
});

/** A private even-port range per test so nothing collides with another test file or a leftover process. */
function pool(): PortPool {
  // Below 50000: ports above it are the kernel's ephemeral ones in the test environment (scripts/setup-test-env.sh).
  const min = 42000 + ((process.pid * 7) % 190) * 40;
  return new PortPool({ min, max: min + 30 });
}

async function setup(scenario: string, keys: Record<string, string>, echo: boolean) {
  const port = await freePort();
  const mediaPort = await freeUdpPort();
  sipp = await startSipp({ scenario: fixture(scenario), port, keys, extraArgs: ['-mp', String(mediaPort), ...(echo ? ['-rtp_echo'] : [])] });
  ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  const portPool = pool();
  const agent = ua;
  const s = sipp;
  const dial = async (o: { codecs?: string[]; rtpTimeoutMs?: number } = {}) => {
    const leg = await CallLeg.dial({
      ua: agent,
      portPool,
      localAddress: '127.0.0.1',
      ...o,
      dial: { to: '+15551230000', from: '+15550000001', trunk: { host: '127.0.0.1', port }, ringTimeoutMs: 5000 },
    });
    legs.push(leg);
    return leg;
  };
  return { sipp: s, ua: agent, portPool, dial };
}

function waitEvent<T extends LegEvent['type']>(leg: CallLeg, type: T, ms = 5000): Promise<Extract<LegEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${type} within ${ms} ms`)), ms);
    const off = leg.on((e) => {
      if (e.type === type) {
        clearTimeout(t);
        off();
        resolve(e as Extract<LegEvent, { type: T }>);
      } else if (e.type === 'ended') {
        clearTimeout(t);
        off();
        reject(new Error(`leg ended (${e.reason}) before ${type}`));
      }
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('CallLeg vs SIPp UAS with RTP echo', { skip }, () => {
  const cases = [
    { pt: '0', codec: 'PCMU', rate: 8000, offer: ['PCMU', 'PCMA'], minCorr: 0.99 },
    // We prefer PCMU; the answer's choice must win (RFC 3264 §7).
    { pt: '8', codec: 'PCMA', rate: 8000, offer: ['PCMU', 'PCMA'], minCorr: 0.99 },
    // G.722: stateful ADPCM encoder/decoder across a real path; 16 kHz PCM on an 8000 Hz RTP clock.
    { pt: '9', codec: 'G722', rate: 16000, offer: ['G722', 'PCMU'], minCorr: 0.98 },
  ];
  for (const { pt, codec, rate, offer, minCorr } of cases) {
    test(`${codec}: the chirp we send comes back from SIPp's echo, correlated`, async () => {
      const s = await setup('uas_media_echo.xml', { pt, codec }, true);
      const leg = await s.dial({ codecs: offer });
      const heard: Int16Array[] = [];
      leg.onAudio((f) => heard.push(f));
      const answered = await waitEvent(leg, 'answered');
      assert.deepEqual(answered, { type: 'answered', codec, sampleRate: rate });
      assert.equal(leg.sampleRate, rate);
      const sent = chirp(rate, 2000);
      for (const f of frames(sent, rate)) leg.write(f);
      assert.equal(leg.queuedMs, 2000);
      await waitEvent(leg, 'drained', 8000);
      assert.equal(leg.playedMs, 2000);
      await sleep(600); // the last of the echo: SIPp's turnaround + our 60 ms jitter buffer
      const ended = await leg.hangup();
      assert.deepEqual({ by: ended.by, outcome: ended.outcome, code: ended.sipStatusCode }, { by: 'local', outcome: 'completed', code: 200 });
      assert.equal(await waitExit(s.sipp), 0, 'SIPp saw INVITE/ACK/BYE as scripted');
      const got = concat(heard);
      assert.ok(rms(got) > 1500, `echo is not silence (rms ${rms(got).toFixed(0)})`);
      // 300 ms windows of what we sent, searched in everything we heard (best of three: one late packet
      // under heavy load may spoil a window, a wrong or silent signal spoils all of them).
      const { offset, corr } = findSignal(sent, got, rate, [400, 900, 1400]);
      assert.ok(corr > minCorr, `received audio correlates with the sent chirp (best ${corr.toFixed(3)} at offset ${offset})`);
      // heard[] starts with the first decoded frame, so an intact echo lines up at offset 0 exactly;
      // loss or a jitter-buffer resync could shift it, but never before the start or past 1 s.
      const shiftMs = (offset / rate) * 1000;
      assert.ok(shiftMs >= -20 && shiftMs < 1000, `echo found where it belongs (shift ${shiftMs} ms)`);
      assert.equal(s.portPool.used, 0, 'RTP port returned');
      assert.equal(s.ua.stats().activeCalls, 0);
    });
  }

  test('SIPp answers a codec we never offered (G722): ACK, BYE, ended failed with the reason', async () => {
    const s = await setup('uas_media_echo.xml', { pt: '9', codec: 'G722' }, true);
    const leg = await s.dial({ codecs: ['PCMU', 'PCMA'] });
    const types: string[] = [];
    leg.on((e) => types.push(e.type));
    const ended = await leg.ended;
    assert.equal(ended.outcome, 'failed');
    assert.equal(ended.by, 'error');
    assert.match(ended.reason, /^sdp_negotiation_failed: NO_COMMON_CODEC: .*; hung up: BYE \(BYE answered 200\)$/);
    assert.ok(!types.includes('answered'), 'never reported answered');
    assert.equal(leg.answered, false);
    assert.throws(() => leg.write(new Int16Array(160)), /before answer/);
    assert.equal(await waitExit(s.sipp), 0, 'SIPp got our ACK and then our BYE');
    assert.deepEqual(s.sipp.received().map((m) => m.split(' ')[0]), ['INVITE', 'ACK', 'BYE']);
    assert.equal(s.portPool.used, 0);
  });

  test('answered but no RTP from SIPp: rtp timeout hangs up with reason rtp_timeout', async () => {
    const s = await setup('uas_media_echo.xml', { pt: '0', codec: 'PCMU' }, false);
    const leg = await s.dial({ rtpTimeoutMs: 800 });
    await waitEvent(leg, 'answered');
    const t0 = Date.now();
    const ended = await leg.ended;
    assert.ok(Date.now() - t0 >= 700, 'not before the timeout');
    assert.deepEqual({ reason: ended.reason, by: ended.by, outcome: ended.outcome }, { reason: 'rtp_timeout', by: 'timeout', outcome: 'completed' });
    assert.equal(await waitExit(s.sipp), 0, 'SIPp received our BYE');
    assert.equal(s.portPool.used, 0);
    assert.equal(s.ua.stats().activeCalls, 0);
  });

  test('SIPp puts us on hold (re-INVITE sendonly): we answer recvonly and stop sending RTP; REFER accepted', async () => {
    const s = await setup('uas_reinvite_refer.xml', {}, true);
    const leg = await s.dial();
    await waitEvent(leg, 'answered');
    const sendingBefore = leg.mediaStats().packetsSent;
    // SIPp's ACK to our re-INVITE answer carries what its check_it regexp matched in our 200's body.
    const deadline = Date.now() + 5000;
    while (!/X-Answer-Checked: a=recvonly/.test(s.sipp.trace())) {
      assert.ok(Date.now() < deadline, `no hold re-INVITE exchange; trace:\n${s.sipp.trace().slice(-2000)}`);
      await sleep(20);
    }
    assert.ok(sendingBefore > 0 || leg.mediaStats().packetsSent > 0, 'we were sending before the hold');
    await sleep(60);
    const held = leg.mediaStats().packetsSent;
    await sleep(300);
    assert.equal(leg.mediaStats().packetsSent, held, 'no RTP sent while the callee holds us (RFC 3264 §8.4)');
    assert.equal(await leg.transfer('sip:+15559990000@127.0.0.1'), 202);
    // SIPp then reports the transfer with NOTIFY (RFC 3515 §2.4.4); hang up only after we answered it.
    while (!s.sipp.received().some((m) => /^SIP\/2\.0 200[\s\S]*^CSeq: 2 NOTIFY$/m.test(m))) {
      assert.ok(Date.now() < deadline, 'no NOTIFY answered');
      await sleep(20);
    }
    const ended = await leg.hangup();
    assert.equal(ended.outcome, 'completed');
    assert.equal(await waitExit(s.sipp), 0, 'SIPp verified our recvonly answer, the REFER and the BYE');
    assert.equal(s.portPool.used, 0);
  });

  test('hold then unhold by re-INVITE: RTP stops while held, resumes after, and the echo comes back', async () => {
    const s = await setup('uas_media_hold_unhold.xml', {}, true);
    const leg = await s.dial();
    const loudAt: number[] = [];
    leg.onAudio((f) => {
      if (rms(f) > 1000) loudAt.push(Date.now());
    });
    await waitEvent(leg, 'answered');
    for (const f of frames(chirp(8000, 6000), 8000)) leg.write(f);
    const waitTrace = async (re: RegExp): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!re.test(s.sipp.trace())) {
        assert.ok(Date.now() < deadline, `SIPp trace never matched ${re}:\n${s.sipp.trace().slice(-2000)}`);
        await sleep(20);
      }
    };
    await waitTrace(/X-Answer-Checked: a=recvonly/);
    await sleep(60);
    const held = leg.mediaStats().packetsSent;
    const queuedHeld = leg.queuedMs;
    await sleep(300);
    assert.equal(leg.mediaStats().packetsSent, held, 'nothing sent on hold');
    assert.equal(leg.queuedMs, queuedHeld, 'the prompt is paused, not dropped, while held');
    await waitTrace(/X-Answer-Checked: a=sendrecv/);
    const resumedAt = Date.now();
    await sleep(400);
    assert.ok(leg.mediaStats().packetsSent > held + 10, 'sending again after unhold');
    assert.ok(leg.queuedMs < queuedHeld, 'the prompt continues where it stopped');
    assert.ok(loudAt.filter((t) => t > resumedAt).length > 5, 'the echo of our audio comes back after unhold');
    await leg.hangup();
    assert.equal(await waitExit(s.sipp), 0, 'SIPp checked a=recvonly then a=sendrecv in our answers');
    assert.equal(s.portPool.used, 0);
  });

  test('SIPp hangs up mid-call with media flowing: ended by remote, media closed, port free', async () => {
    const s = await setup('uas_media_echo_then_bye.xml', {}, true);
    const leg = await s.dial();
    let heard = 0;
    leg.onAudio((f) => {
      if (rms(f) > 1000) heard++;
    });
    await waitEvent(leg, 'answered');
    const port = leg.localPort;
    for (const f of frames(chirp(8000, 5000), 8000)) leg.write(f);
    const ended = await leg.ended;
    assert.deepEqual({ by: ended.by, outcome: ended.outcome, reason: ended.reason }, { by: 'remote', outcome: 'completed', reason: 'BYE from remote' });
    assert.ok(heard > 20, `media was flowing when the BYE came (${heard} loud frames heard)`);
    assert.ok(leg.playedMs > 500 && leg.playedMs < 5000, `stopped playing mid-prompt (${leg.playedMs} ms)`);
    assert.equal(s.portPool.used, 0, 'port back in the pool');
    assert.equal(s.portPool.isInUse(port), false);
    // The socket is really closed: the port can be bound again.
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => probe.close(() => r()));
    leg.write(new Int16Array(160)); // after the end: a no-op, not a crash
    assert.equal(await waitExit(s.sipp), 0, 'SIPp got our 200 for its BYE');
    assert.equal(s.ua.stats().activeCalls, 0);
  });
});
