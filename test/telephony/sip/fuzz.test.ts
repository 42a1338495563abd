/**
 * Fuzzing: tens of thousands of mutated SIP messages through the parser (fast-check) and through a live
 * user agent listening on a real UDP socket with an answered call. No throw, no crash, no unhandled
 * rejection, no leaked transaction once the timers have run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fc from 'fast-check';
import { MAX_MESSAGE_BYTES, parseMessage } from '../../../src/telephony/sip/parser.js';
import { serializeMessage } from '../../../src/telephony/sip/serializer.js';
import { StreamFramer } from '../../../src/telephony/sip/stream-framer.js';
import { UserAgent } from '../../../src/telephony/sip/user-agent.js';
import { UdpTransport } from '../../../src/telephony/sip/udp-transport.js';
import { VirtualClock } from '../../helpers/virtual-clock.js';

const CORPUS = [
  'INVITE sip:+15551234567@trunk.example.com;user=phone SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport\r\nMax-Forwards: 70\r\nFrom: "Alice" <sip:alice@example.com>;tag=1928\r\nTo: <sip:+15551234567@trunk.example.com>\r\nCall-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\nContact: <sip:alice@10.0.0.1>\r\nContent-Type: application/sdp\r\nContent-Length: 13\r\n\r\nv=0\r\ns=-\r\nt=0',
  'SIP/2.0 200 OK\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2;received=1.2.3.4\r\nf: <sip:a@b>;tag=1\r\nt: "Doe, J" <sip:c@d>;tag=2\r\ni: q@h\r\nCSeq: 1 INVITE\r\nRecord-Route: <sip:p1;lr>, <sip:p2;lr>\r\nm: <sip:c@10.0.0.3:5070;transport=udp>\r\nl: 0\r\n\r\n',
  'SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK9\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: z\r\nCSeq: 2 INVITE\r\nWWW-Authenticate: Digest realm="r, x", nonce="n", qop="auth,auth-int", algorithm=SHA-256\r\nContent-Length: 0\r\n\r\n',
  'NOTIFY sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h:5070;\r\n branch=z9hG4bK3\r\nFrom: <sip:b@h>;tag=2\r\nTo: <sip:a@h>;tag=1\r\nCall-ID: z\r\nCSeq: 3 NOTIFY\r\nEvent: refer\r\nSubscription-State: terminated\r\nContent-Type: message/sipfrag\r\nContent-Length: 16\r\n\r\nSIP/2.0 200 OK\r\n',
];

type Op =
  | { k: 'flip'; at: number; byte: number }
  | { k: 'truncate'; at: number }
  | { k: 'dupLine'; at: number; times: number }
  | { k: 'garbageLine'; at: number; bytes: number[] }
  | { k: 'huge'; at: number; size: number }
  | { k: 'dropLine'; at: number }
  | { k: 'lf' };

function lines(buf: Buffer): string[] {
  return buf.toString('latin1').split('\r\n');
}

function apply(buf: Buffer, op: Op): Buffer {
  const pick = (n: number, len: number): number => (len === 0 ? 0 : n % len);
  switch (op.k) {
    case 'flip': {
      if (buf.length === 0) return buf;
      const b = Buffer.from(buf);
      b[pick(op.at, b.length)] = op.byte;
      return b;
    }
    case 'truncate':
      return buf.subarray(0, pick(op.at, buf.length + 1));
    case 'dupLine': {
      const l = lines(buf);
      const i = pick(op.at, l.length);
      l.splice(i, 0, ...Array<string>(op.times).fill(l[i] ?? ''));
      return Buffer.from(l.join('\r\n'), 'latin1');
    }
    case 'garbageLine': {
      const l = lines(buf);
      l.splice(pick(op.at, l.length), 0, Buffer.from(op.bytes).toString('latin1'));
      return Buffer.from(l.join('\r\n'), 'latin1');
    }
    case 'huge': {
      const l = lines(buf);
      const i = pick(op.at, l.length);
      l[i] = `${l[i] ?? ''}${'A,;<"'.repeat(Math.ceil(op.size / 5)).slice(0, op.size)}`;
      return Buffer.from(l.join('\r\n'), 'latin1');
    }
    case 'dropLine': {
      const l = lines(buf);
      l.splice(pick(op.at, l.length), 1);
      return Buffer.from(l.join('\r\n'), 'latin1');
    }
    case 'lf':
      return Buffer.from(buf.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('dupLine' as const), at: fc.nat(), times: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ k: fc.constant('garbageLine' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 80 }) }),
  fc.record({ k: fc.constant('huge' as const), at: fc.nat(), size: fc.integer({ min: 100, max: 70_000 }) }),
  fc.record({ k: fc.constant('dropLine' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('lf' as const) }),
);

const mutantArb = fc.tuple(fc.constantFrom(...CORPUS), fc.array(opArb, { minLength: 1, maxLength: 6 })).map(([base, ops]) => ops.reduce(apply, Buffer.from(base, 'latin1')));

describe('fuzz', () => {
  test('parser: 30,000 mutated messages never throw; accepted ones survive a serialize/parse round trip', () => {
    let accepted = 0;
    const result = fc.check(
      fc.property(mutantArb, (input) => {
        const r = parseMessage(input);
        if (!r.ok) {
          assert.equal(r.error.kind, 'sip-parse-error');
          return;
        }
        accepted++;
        const wire = serializeMessage(r.value);
        // Re-serializing adds a Content-Length line: a message accepted right at the size cap may exceed it.
        if (wire.length > MAX_MESSAGE_BYTES) return;
        const again = parseMessage(wire);
        assert.ok(again.ok, `round trip of an accepted message failed: ${again.ok ? '' : again.error.message}`);
        assert.equal(again.value.core.callId, r.value.core.callId);
        assert.deepEqual(again.value.core.cseq, r.value.core.cseq);
      }),
      { numRuns: 30_000, seed: 4242 },
    );
    // Report failures briefly: counterexamples can be 70 kB buffers.
    if (result.failed) assert.fail(`property failed after ${result.numRuns} runs (seed 4242, path ${result.counterexamplePath ?? '?'}): ${String(result.errorInstance).slice(0, 500)}`);
    // The mutations must leave a fair share parseable, or the round-trip property tests nothing.
    assert.ok(accepted > 1000, `only ${accepted} accepted`);
  });

  test('stream framer: random chunking of mutated streams never throws', () => {
    fc.assert(
      fc.property(fc.array(mutantArb, { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }), (msgs, cuts) => {
        const wire = Buffer.concat(msgs);
        const f = new StreamFramer();
        let pos = 0;
        for (let i = 0; pos < wire.length; i++) {
          const n = cuts[i % cuts.length] ?? 1;
          const r = f.push(wire.subarray(pos, pos + n));
          pos += n;
          if (!r.ok) break;
        }
      }),
      { numRuns: 3_000, seed: 7 },
    );
  });

  describe('live user agent on UDP', () => {
    const clock = new VirtualClock();
    let ua: UserAgent;
    let peer: dgram.Socket;
    const rejections: unknown[] = [];
    const onRejection = (r: unknown): void => {
      rejections.push(r);
    };

    before(async () => {
      process.on('unhandledRejection', onRejection);
      const transport = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
      ua = new UserAgent({ transports: [transport], clock });
      peer = dgram.createSocket('udp4');
      await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    });

    after(async () => {
      process.off('unhandledRejection', onRejection);
      await ua.close();
      await new Promise<void>((r) => peer.close(() => r()));
    });

    test('20,000 mutated datagrams (in-dialog requests, responses, garbage) against an answered call', async () => {
      const uaPort = ua.transports[0]?.local.port ?? 0;
      const invite = new Promise<string>((resolve) => peer.once('message', (m) => resolve(m.toString())));
      const call = ua.dial({ to: 'bob', from: 'alice', trunk: { host: '127.0.0.1', port: peer.address().port }, sdpOffer: 'v=0\r\n', ringTimeoutMs: 1e9 });
      const inv = await invite;
      const hdr = (name: string): string => new RegExp(`^${name}: (.*)$`, 'mi').exec(inv)?.[1]?.trim() ?? '';
      const via = hdr('Via');
      const from = hdr('From');
      const to = `${hdr('To')};tag=fz1`;
      const callId = hdr('Call-ID');
      const ok = `SIP/2.0 200 OK\r\nVia: ${via}\r\nFrom: ${from}\r\nTo: ${to}\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\nContact: <sip:fz@127.0.0.1:${peer.address().port}>\r\nContent-Length: 4\r\n\r\nv=0\n`;
      peer.send(ok, uaPort, '127.0.0.1');
      await call.waitFor('answered');

      // In-dialog seeds that match the live dialog, so mutations exercise real dialog/transaction paths.
      const inDialog = (method: string, seq: number, extra = '', body = ''): string =>
        `${method} sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${peer.address().port};branch=z9hG4bKf${seq}${method}\r\nFrom: ${to}\r\nTo: ${from}\r\nCall-ID: ${callId}\r\nCSeq: ${seq} ${method}\r\nContact: <sip:fz@127.0.0.1>\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const seeds = [
        ok,
        inDialog('INFO', 10, 'Content-Type: application/dtmf-relay\r\n', 'Signal=1\r\n'),
        inDialog('INVITE', 11, 'Content-Type: application/sdp\r\n', 'v=0\r\na=sendonly\r\n'),
        inDialog('ACK', 11),
        inDialog('OPTIONS', 12),
        inDialog('NOTIFY', 13, 'Event: refer\r\nSubscription-State: active\r\n', 'SIP/2.0 100 Trying\r\n'),
        inDialog('UPDATE', 14),
        inDialog('BYE', 15),
        ...CORPUS,
      ];
      // mulberry32: a small seeded PRNG with good low bits (reproducible runs).
      let seed = 0x5eed;
      const rnd = (n: number): number => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) % n;
      };
      const transportStats = ua.transports[0]?.stats;
      assert.ok(transportStats);
      // Let the UA drain its socket so the kernel buffer does not silently eat the fuzz input.
      const drain = async (): Promise<void> => {
        let last = -1;
        while (transportStats.received !== last) {
          last = transportStats.received;
          await new Promise((r) => setTimeout(r, 1));
        }
      };
      const ops = fc.sample(opArb, { numRuns: 2000, seed: 99 });
      const total = 20_000;
      for (let i = 0; i < total; i++) {
        let buf: Buffer = Buffer.from(seeds[rnd(seeds.length)] ?? '', 'latin1');
        const n = rnd(4); // 0..3 mutations; 0 keeps some valid messages flowing (BYE ends the call, later ones get 481)
        for (let j = 0; j < n; j++) buf = apply(buf, ops[rnd(ops.length)] as Op);
        if (buf.length > 65_000) buf = buf.subarray(0, 65_000);
        peer.send(buf, uaPort, '127.0.0.1');
        if (i % 25 === 24) await drain();
      }
      // Let the socket drain, then run every timer (Timer J/K/H/L, 2xx retransmissions, lingering) to its end.
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 40; i++) await clock.advanceAsync(5_000);
      const stats = ua.stats();
      assert.equal(stats.internalErrors, 0, 'no handler threw');
      assert.equal(stats.transactions, 0, 'no leaked transactions');
      assert.ok(transportStats.received >= 15_000, `the UA really received the fuzz input (${transportStats.received})`);
      assert.ok(stats.dropped > 1000, `malformed datagrams were counted (${stats.dropped})`);
      assert.equal(stats.activeCalls + stats.lingeringCalls <= 1, true);
      assert.deepEqual(rejections, []);
      const ended = call.history.find((e) => e.type === 'ended');
      if (ended) assert.ok(ended.type === 'ended' && ['remote', 'error'].includes(ended.by));
    });
  });
});
