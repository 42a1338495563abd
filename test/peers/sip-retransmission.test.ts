/**
 * UDP loss recovery against a real SIPp UAS, through a relay in the test that drops chosen datagrams:
 * a lost first INVITE is recovered by Timer A, and a lost ACK makes SIPp retransmit its 200 which we re-ACK.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { UserAgent } from '../../src/telephony/sip/user-agent.js';
import { freePort, havePeer, startSipp, startUdpRelay, waitExit, type SippProcess, type UdpRelay } from '../helpers/sipp.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const skip = havePeer('sipp') ? false : 'sipp (sip-tester) not installed';

let sipp: SippProcess | undefined;
let relay: UdpRelay | undefined;
let ua: UserAgent | undefined;

afterEach(async () => {
  await sipp?.stop();
  await relay?.close();
  await ua?.close();
  sipp = undefined;
  relay = undefined;
  ua = undefined;
});

const branchOf = (text: string): string | undefined => /^Via:[^\r\n]*branch=([^;\s]+)/m.exec(text)?.[1];
const method = (text: string): string => text.split(' ')[0] ?? '';

async function setup(drop: (text: string, direction: 'to-peer' | 'to-client', seen: readonly { text: string; direction: string }[]) => boolean) {
  const sippPort = await freePort();
  relay = await startUdpRelay({ peerPort: sippPort, drop });
  sipp = await startSipp({ scenario: fixture('uas_answer_relay.xml'), port: sippPort, keys: { relay_port: String(relay.port) } });
  ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  const call = ua.dial({ to: 'bob', from: 'alice', trunk: { host: '127.0.0.1', port: relay.port }, sdpOffer: SDP, ringTimeoutMs: 10_000 });
  return { sipp, relay, call };
}

describe('UDP retransmission against SIPp', { skip }, () => {
  test('first INVITE lost: Timer A retransmits the same INVITE (same branch) after ~T1 and the call is answered', async () => {
    const s = await setup((text, dir, seen) => dir === 'to-peer' && method(text) === 'INVITE' && !seen.some((d) => method(d.text) === 'INVITE'));
    const t0 = Date.now();
    await s.call.waitFor('answered');
    assert.ok(Date.now() - t0 >= 450, 'answer needed the retransmission (T1 = 500 ms)');
    await s.call.hangup();
    assert.equal(await waitExit(s.sipp), 0);
    const invites = s.relay.log.filter((d) => d.direction === 'to-peer' && method(d.text) === 'INVITE');
    assert.ok(invites.length >= 2);
    assert.equal(invites[0]?.dropped, true);
    assert.equal(invites[1]?.dropped, false);
    assert.equal(branchOf(invites[0]?.text ?? ''), branchOf(invites[1]?.text ?? ''), 'a retransmission, not a new transaction');
    assert.equal(invites[0]?.text, invites[1]?.text, 'byte-identical retransmission');
    const seenBySipp = s.sipp.received().filter((m) => m.startsWith('INVITE'));
    assert.equal(seenBySipp.length, invites.length - 1, 'SIPp saw only the retransmission(s)');
    assert.equal(branchOf(seenBySipp[0] ?? ''), branchOf(invites[0]?.text ?? ''));
  });

  test('first ACK lost: SIPp retransmits 200, we re-ACK with the same ACK, SIPp completes', async () => {
    const s = await setup((text, dir, seen) => dir === 'to-peer' && method(text) === 'ACK' && !seen.some((d) => method(d.text) === 'ACK'));
    await s.call.waitFor('answered');
    // Wait until SIPp's retransmitted 200 has been re-ACKed through the relay.
    const deadline = Date.now() + 5000;
    while (s.relay.log.filter((d) => method(d.text) === 'ACK').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const oks = s.relay.log.filter((d) => d.direction === 'to-client' && d.text.startsWith('SIP/2.0 200') && /CSeq: 1 INVITE/.test(d.text));
    const acks = s.relay.log.filter((d) => d.direction === 'to-peer' && method(d.text) === 'ACK');
    assert.ok(oks.length >= 2, `SIPp retransmitted the 200 (${oks.length})`);
    assert.equal(acks.length, 2);
    assert.equal(acks[0]?.dropped, true);
    assert.equal(acks[1]?.text, acks[0]?.text, 're-ACK is the same ACK (same branch, CSeq)');
    const ended = await s.call.hangup();
    assert.equal(ended.outcome, 'completed');
    assert.equal(await waitExit(s.sipp), 0);
    assert.equal(s.call.history.filter((e) => e.type === 'answered').length, 1, 'the retransmitted 2xx is not a second answer');
  });
});
