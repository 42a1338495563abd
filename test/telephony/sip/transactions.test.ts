import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../helpers/virtual-clock.js';
import { FakeTransport, respondTo } from './fake-transport.js';
import { TransactionLayer } from '../../../src/telephony/sip/transaction-layer.js';
import type { ClientTxEvent } from '../../../src/telephony/sip/client-transaction.js';
import { SipHeaders } from '../../../src/telephony/sip/headers.js';
import { buildResponse, makeRequest } from '../../../src/telephony/sip/builder.js';
import { DEFAULT_TIMERS } from '../../../src/telephony/sip/timers.js';
import { silentLogger } from '../../../src/telephony/sip/logger.js';
import { newBranch } from '../../../src/telephony/sip/ids.js';
import { IllegalTransitionError, StateMachine } from '../../../src/telephony/sip/state.js';
import type { SipRequest } from '../../../src/telephony/sip/message.js';

const T1 = DEFAULT_TIMERS.T1;
const DEST = { host: '10.0.0.2', port: 5060 };

function request(method: string): SipRequest {
  const h = new SipHeaders();
  h.append('Via', `SIP/2.0/UDP 10.0.0.1:5060;branch=${newBranch()};rport`);
  h.append('From', '<sip:a@10.0.0.1>;tag=aaa');
  h.append('To', method === 'INVITE' ? '<sip:b@10.0.0.2>' : '<sip:b@10.0.0.2>;tag=bbb');
  h.append('Call-ID', 'cid-1');
  h.append('CSeq', `1 ${method}`);
  return makeRequest(method, 'sip:b@10.0.0.2', h);
}

function setup(protocol: 'UDP' | 'TCP' = 'UDP') {
  const clock = new VirtualClock();
  const transport = new FakeTransport(protocol);
  const layer = new TransactionLayer(clock, DEFAULT_TIMERS, silentLogger);
  const events: ClientTxEvent[] = [];
  const incoming: SipRequest[] = [];
  layer.setUser({ onRequest: (inc) => { incoming.push(inc.request); }, onStrayResponse: () => undefined });
  transport.attach({ onMessage: (m, s, t) => layer.receive(m, s, t) });
  const sendTimes = (method: string): number[] => transport.sent.filter((s) => s.msg.kind === 'request' && s.msg.method === method).map((s) => (s as unknown as { at: number }).at);
  // Record virtual send times.
  const origSend = transport.send.bind(transport);
  transport.send = (data, dest) => {
    const p = origSend(data, dest);
    const last = transport.sent[transport.sent.length - 1];
    if (last) (last as unknown as { at: number }).at = clock.now();
    return p;
  };
  return { clock, transport, layer, events, incoming, sendTimes };
}

describe('INVITE client transaction', () => {
  test('Timer A doubles from T1 and Timer B times out at 64*T1', () => {
    const s = setup();
    s.layer.sendRequest(request('INVITE'), s.transport, DEST, (e) => s.events.push(e));
    s.clock.advance(64 * T1 - 1);
    // Sends at 0, 500, 1500, 3500, 7500, 15500, 31500 (intervals 500, 1000, 2000, ...).
    assert.deepEqual(s.sendTimes('INVITE'), [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert.equal(s.events.length, 0);
    s.clock.advance(1);
    assert.deepEqual(s.events, [{ type: 'timeout' }]);
    assert.equal(s.layer.size, 0);
  });

  test('no retransmission on a reliable transport, Timer B still applies', () => {
    const s = setup('TCP');
    s.layer.sendRequest(request('INVITE'), s.transport, DEST, (e) => s.events.push(e));
    s.clock.advance(64 * T1);
    assert.deepEqual(s.sendTimes('INVITE'), [0]);
    assert.deepEqual(s.events, [{ type: 'timeout' }]);
  });

  test('provisional stops retransmissions and Timer B', () => {
    const s = setup();
    const inv = request('INVITE');
    s.layer.sendRequest(inv, s.transport, DEST, (e) => s.events.push(e));
    s.clock.advance(600);
    s.transport.deliver(respondTo(inv, 180, { toTag: 't' }));
    s.clock.advance(200 * T1);
    assert.deepEqual(s.sendTimes('INVITE'), [0, 500]);
    assert.equal(s.events.length, 1);
    assert.equal(s.layer.size, 1);
  });

  test('non-2xx final: ACK in the transaction (same branch), Timer D 32 s on UDP, retransmitted final re-ACKed not passed up', () => {
    const s = setup();
    const inv = request('INVITE');
    s.layer.sendRequest(inv, s.transport, DEST, (e) => s.events.push(e));
    const busy = respondTo(inv, 486, { toTag: 'x' });
    s.transport.deliver(busy);
    const acks = s.transport.requests('ACK');
    assert.equal(acks.length, 1);
    assert.equal(acks[0]?.core.vias[0]?.params.get('branch'), inv.core.vias[0]?.params.get('branch'));
    assert.equal(acks[0]?.core.cseq.seq, inv.core.cseq.seq);
    assert.equal(acks[0]?.core.to.params.get('tag'), 'x');
    assert.equal(acks[0]?.uri, inv.uri);
    s.transport.deliver(busy);
    assert.equal(s.transport.requests('ACK').length, 2);
    assert.equal(s.events.length, 1);
    s.clock.advance(32_000 - 1);
    assert.equal(s.layer.size, 1);
    s.clock.advance(1);
    assert.equal(s.layer.size, 0);
  });

  test('Timer D is zero on reliable transports', () => {
    const s = setup('TCP');
    const inv = request('INVITE');
    s.layer.sendRequest(inv, s.transport, DEST, (e) => s.events.push(e));
    s.transport.deliver(respondTo(inv, 603, { toTag: 'x' }));
    assert.equal(s.layer.size, 1);
    s.clock.advance(0);
    assert.equal(s.layer.size, 0);
  });

  test('2xx: Accepted state passes every retransmitted 2xx up, Timer M ends it', () => {
    const s = setup();
    const inv = request('INVITE');
    s.layer.sendRequest(inv, s.transport, DEST, (e) => s.events.push(e));
    const ok = respondTo(inv, 200, { toTag: 'x', headers: ['Contact: <sip:b@10.0.0.2>'] });
    s.transport.deliver(ok);
    s.transport.deliver(ok);
    assert.equal(s.events.length, 2);
    assert.equal(s.transport.requests('ACK').length, 0, 'the TU, not the transaction, ACKs a 2xx');
    s.clock.advance(64 * T1);
    assert.equal(s.layer.size, 0);
  });
});

describe('non-INVITE client transaction', () => {
  test('Timer E doubles up to T2 = 4 s, Timer F at 64*T1', () => {
    const s = setup();
    s.layer.sendRequest(request('BYE'), s.transport, DEST, (e) => s.events.push(e));
    s.clock.advance(64 * T1 - 1);
    const times = s.sendTimes('BYE');
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    assert.deepEqual(gaps.slice(0, 5), [500, 1000, 2000, 4000, 4000]);
    assert.ok(gaps.every((g) => g <= DEFAULT_TIMERS.T2));
    assert.equal(s.events.length, 0);
    s.clock.advance(1);
    assert.deepEqual(s.events, [{ type: 'timeout' }]);
    assert.equal(s.layer.size, 0);
  });

  test('in Proceeding, Timer E is T2', () => {
    const s = setup();
    const bye = request('BYE');
    s.layer.sendRequest(bye, s.transport, DEST, (e) => s.events.push(e));
    s.transport.deliver(respondTo(bye, 100));
    s.clock.advance(500 + 4000 + 4000);
    assert.deepEqual(s.sendTimes('BYE'), [0, 500, 4500, 8500]);
  });

  test('final response: Completed, Timer K = T4 absorbs retransmissions; K = 0 on TCP', () => {
    const s = setup();
    const bye = request('BYE');
    s.layer.sendRequest(bye, s.transport, DEST, (e) => s.events.push(e));
    s.transport.deliver(respondTo(bye, 200));
    s.transport.deliver(respondTo(bye, 200));
    assert.equal(s.events.length, 1);
    s.clock.advance(DEFAULT_TIMERS.T4 - 1);
    assert.equal(s.layer.size, 1);
    s.clock.advance(1);
    assert.equal(s.layer.size, 0);
    const t = setup('TCP');
    const bye2 = request('BYE');
    t.layer.sendRequest(bye2, t.transport, DEST, () => undefined);
    t.transport.deliver(respondTo(bye2, 200));
    t.clock.advance(0);
    assert.equal(t.layer.size, 0);
  });

  test('a transport error terminates the transaction and reports it', async () => {
    const s = setup();
    s.transport.failNext = new Error('ECONNREFUSED');
    s.layer.sendRequest(request('OPTIONS'), s.transport, DEST, (e) => s.events.push(e));
    await new Promise((r) => setImmediate(r));
    assert.equal(s.events[0]?.type, 'transport-error');
    assert.equal(s.layer.size, 0);
  });
});

describe('server transactions', () => {
  const incomingBye = 'BYE sip:a@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5090;branch=z9hG4bKsrv1;rport\r\nFrom: <sip:b@10.0.0.2>;tag=bbb\r\nTo: <sip:a@10.0.0.1>;tag=aaa\r\nCall-ID: c\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n';

  test('request retransmission gets the last response again; Timer J = 64*T1; rport/received stamped', () => {
    const s = setup();
    let tx: ReturnType<TransactionLayer['findInviteServerTx']> | unknown;
    s.layer.setUser({
      onRequest: (inc) => {
        s.incoming.push(inc.request);
        tx = inc.serverTx;
        inc.serverTx?.respond(buildResponse(inc.request, 200));
      },
      onStrayResponse: () => undefined,
    });
    s.transport.deliver(incomingBye, { host: '192.0.2.9', port: 40000 });
    assert.ok(tx);
    s.transport.deliver(incomingBye, { host: '192.0.2.9', port: 40000 });
    assert.equal(s.incoming.length, 1, 'retransmission not passed to the TU');
    const oks = s.transport.responses(200);
    assert.equal(oks.length, 2);
    // RFC 3581: the response goes to the source address and port, with received and rport filled in.
    assert.deepEqual(s.transport.sent[0]?.dest, { host: '192.0.2.9', port: 40000 });
    assert.equal(oks[0]?.core.vias[0]?.params.get('rport'), '40000');
    assert.equal(oks[0]?.core.vias[0]?.params.get('received'), '192.0.2.9');
    s.clock.advance(64 * T1 - 1);
    assert.equal(s.layer.size, 1);
    s.clock.advance(1);
    assert.equal(s.layer.size, 0);
  });

  test('INVITE server: non-2xx retransmitted with Timer G until ACK, then Timer I', () => {
    const s = setup();
    s.layer.setUser({ onRequest: (inc) => inc.serverTx?.respond(buildResponse(inc.request, 488, { toTag: 'q' })), onStrayResponse: () => undefined });
    const inv = 'INVITE sip:a@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5090;branch=z9hG4bKsrv2\r\nFrom: <sip:b@10.0.0.2>;tag=bbb\r\nTo: <sip:a@10.0.0.1>;tag=aaa\r\nCall-ID: c\r\nCSeq: 8 INVITE\r\nContent-Length: 0\r\n\r\n';
    s.transport.deliver(inv, { host: '10.0.0.2', port: 5090 });
    s.clock.advance(500 + 1000 + 2000);
    assert.equal(s.transport.responses(488).length, 4);
    s.transport.deliver(inv.replace('INVITE sip', 'ACK sip').replace('8 INVITE', '8 ACK'), { host: '10.0.0.2', port: 5090 });
    s.clock.advance(10_000);
    assert.equal(s.transport.responses(488).length, 4);
    assert.equal(s.layer.size, 0);
  });
});

describe('state machines', () => {
  test('illegal transitions are rejected', () => {
    const sm = new StateMachine<'a' | 'b'>('t', 'a', { a: ['b'], b: [] });
    sm.to('b');
    assert.throws(() => sm.to('a'), IllegalTransitionError);
  });

  test('branch ids carry the magic cookie and at least 64 random bits', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const b = newBranch();
      assert.ok(b.startsWith('z9hG4bK') && b.length - 7 >= 11);
      seen.add(b);
    }
    assert.equal(seen.size, 10_000);
  });
});
