/**
 * Our UAC against a real SIPp UAS (sip-tester 3.6.1) on free ports: answer + BYE both ways, busy,
 * ring timeout, explicit cancel, and a TCP call.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { UserAgent } from '../../src/telephony/sip/user-agent.js';
import type { DialOptions } from '../../src/telephony/sip/call-types.js';
import { freePort, havePeer, startSipp, waitExit, type SippProcess } from '../helpers/sipp.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const skip = havePeer('sipp') ? false : 'sipp (sip-tester) not installed: skipping SIPp peer tests';

let sipp: SippProcess | undefined;
let ua: UserAgent | undefined;

afterEach(async () => {
  await sipp?.stop();
  await ua?.close();
  sipp = undefined;
  ua = undefined;
});

async function setup(scenario: string, transport: 'udp' | 'tcp' = 'udp') {
  const port = await freePort();
  sipp = await startSipp({ scenario: fixture(scenario), port, transport: transport === 'tcp' ? 't1' : 'u1' });
  ua = await UserAgent.listen(transport === 'tcp' ? { tcp: { host: '127.0.0.1', port: 0 } } : { udp: { host: '127.0.0.1', port: 0 } });
  const agent = ua;
  const dial = (o: Partial<DialOptions> = {}) =>
    agent.dial({ to: '+15551230000', from: '+15550000001', trunk: { host: '127.0.0.1', port, transport }, sdpOffer: SDP, ringTimeoutMs: 10_000, ...o });
  return { sipp, ua: agent, dial };
}

describe('SIPp UAS', { skip }, () => {
  test('answer: 180 then 200 with SDP; we BYE; SIPp scenario completes', async () => {
    const s = await setup('uas_answer.xml');
    const call = s.dial({ customHeaders: [{ name: 'X-Outcall-Call', value: 'c-123' }] });
    const types: string[] = [];
    call.on((e) => types.push(e.type));
    const answered = await call.waitFor('answered');
    assert.match(answered.remoteSdp, /m=audio \d+ RTP\/AVP 0 101/);
    const ended = await call.hangup();
    assert.deepEqual({ by: ended.by, outcome: ended.outcome, code: ended.sipStatusCode }, { by: 'local', outcome: 'completed', code: 200 });
    assert.deepEqual(types, ['trying', 'ringing', 'answered', 'ended']);
    assert.equal(await waitExit(s.sipp), 0, 'SIPp counts the call as successful');
    const got = s.sipp.received();
    assert.deepEqual(got.map((m) => m.split(' ')[0]), ['INVITE', 'ACK', 'BYE']);
    assert.match(got[0] ?? '', /^X-Outcall-Call: c-123$/m);
    assert.match(got[0] ?? '', /^Content-Type: application\/sdp$/m);
    assert.equal(s.ua.stats().activeCalls, 0);
  });

  test('SIPp hangs up mid-call: we answer its BYE with 200 and end by remote', async () => {
    const s = await setup('uas_answer_then_bye.xml');
    const call = s.dial();
    await call.waitFor('answered');
    const ended = await call.ended;
    assert.deepEqual({ by: ended.by, outcome: ended.outcome }, { by: 'remote', outcome: 'completed' });
    assert.equal(await waitExit(s.sipp), 0, 'SIPp received our 200 to its BYE');
    assert.match(s.sipp.trace(), /message received[\s\S]*SIP\/2\.0 200 OK[\s\S]*CSeq: 1 BYE/);
  });

  test('486 Busy Here -> busy', async () => {
    const s = await setup('uas_busy.xml');
    const call = s.dial();
    const ended = await call.ended;
    assert.deepEqual({ code: ended.sipStatusCode, outcome: ended.outcome, by: ended.by }, { code: 486, outcome: 'busy', by: 'remote' });
    assert.equal(await waitExit(s.sipp), 0, 'SIPp got our ACK for the 486');
  });

  test('180 forever: ring timeout -> CANCEL -> 487 -> no_answer', async () => {
    const s = await setup('uas_ring_noanswer.xml');
    const started = Date.now();
    const call = s.dial({ ringTimeoutMs: 1200 });
    const ended = await call.ended;
    assert.ok(Date.now() - started >= 1150, 'not before the ring timeout');
    assert.deepEqual({ code: ended.sipStatusCode, outcome: ended.outcome, by: ended.by }, { code: 487, outcome: 'no_answer', by: 'timeout' });
    assert.equal(await waitExit(s.sipp), 0);
    assert.deepEqual(s.sipp.received().map((m) => m.split(' ')[0]), ['INVITE', 'CANCEL', 'ACK']);
  });

  test('explicit cancel while ringing -> 487 -> canceled', async () => {
    const s = await setup('uas_ring_noanswer.xml');
    const call = s.dial({ ringTimeoutMs: 30_000 });
    await call.waitFor('ringing');
    const ended = await call.cancel();
    assert.deepEqual({ code: ended.sipStatusCode, outcome: ended.outcome, by: ended.by }, { code: 487, outcome: 'canceled', by: 'local' });
    assert.equal(await waitExit(s.sipp), 0);
    const cancel = s.sipp.received().find((m) => m.startsWith('CANCEL'));
    const invite = s.sipp.received().find((m) => m.startsWith('INVITE'));
    const branch = (m: string | undefined) => /branch=([^;\s]+)/.exec(m ?? '')?.[1];
    assert.ok(branch(invite));
    assert.equal(branch(cancel), branch(invite), 'CANCEL carries the INVITE branch (§9.1)');
  });

  test('SIPp re-INVITE (hold) answered through onReinvite, then REFER -> 202 and NOTIFY sipfrag 200', async () => {
    const s = await setup('uas_reinvite_refer.xml');
    const offers: (string | undefined)[] = [];
    const call = s.dial({
      onReinvite: (offer) => {
        offers.push(offer);
        return Promise.resolve(SDP.replace('a=rtpmap:0 PCMU/8000\r\n', 'a=rtpmap:0 PCMU/8000\r\na=recvonly\r\n'));
      },
    });
    await call.waitFor('answered');
    const re = await call.waitFor('reinvited');
    assert.match(re.remoteSdp ?? '', /a=sendonly/);
    assert.match(re.localSdp, /a=recvonly/);
    assert.equal(offers.length, 1);
    assert.equal(await call.transfer('sip:+15559990000@127.0.0.1'), 202);
    const progress = await call.waitFor('transfer-progress');
    assert.deepEqual(progress, { type: 'transfer-progress', statusCode: 200, final: true });
    const ended = await call.hangup();
    assert.equal(ended.outcome, 'completed');
    assert.equal(await waitExit(s.sipp), 0, 'SIPp verified the 200 answer, REFER, NOTIFY 200 and BYE');
    // SIPp checked our answer carried a=recvonly (check_it fails the call otherwise); its ACK echoes the match.
    assert.match(s.sipp.trace(), /X-Answer-Checked: a=recvonly/);
    const bye = s.sipp.received().find((m) => m.startsWith('BYE')) ?? '';
    assert.match(bye, /^CSeq: 3 BYE$/m, 'INVITE 1, REFER 2, BYE 3 in our CSeq space');
  });

  test('TCP transport (-t t1): answer and BYE over one connection', async () => {
    const s = await setup('uas_answer.xml', 'tcp');
    const call = s.dial();
    await call.waitFor('answered');
    const ended = await call.hangup();
    assert.equal(ended.outcome, 'completed');
    assert.equal(await waitExit(s.sipp), 0);
    const got = s.sipp.received();
    assert.deepEqual(got.map((m) => m.split(' ')[0]), ['INVITE', 'ACK', 'BYE']);
    assert.match(got[0] ?? '', /^Via: SIP\/2\.0\/TCP /m);
    assert.match(s.sipp.trace(), /TCP message received/);
  });
});
