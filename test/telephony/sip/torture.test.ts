/**
 * Every torture message of RFC 4475 (SIP) and RFC 5118 (SIP over IPv6) through our parser and user
 * agent (test/fixtures/sip-torture.ts holds them). Each gets what the RFCs describe for an element like
 * ours (a UA that takes calls, no registrar, no proxy):
 * - a valid message parses, and a request gets the answer its method calls for (a new call for an
 *   INVITE, 200 for OPTIONS, 405/501 for methods we do not serve, 481 inside an unknown dialog);
 * - an invalid request gets the stateless 400 (505 for another SIP version, 416 for a URI scheme we do
 *   not serve), an invalid response is dropped;
 * - the application-layer ones get 415 (invut), 406 (sdp01), 420 (bext01), 416 (unkscm, novelsc,
 *   unksm2), 400 (multi01, mcl01);
 * - where the RFC leaves the choice to the element, the test pins ours (baddate, regbadct, badaspec
 *   and baddn are taken liberally; inv2543, RFC 2543 syntax without From tag, Contact or branch, is
 *   refused with 400: we do not keep RFC 2543 compatibility).
 * Bodies are bytes: mpart01's binary multipart body comes out of a parse and a serialization exactly
 * as it went in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserAgent } from '../../../src/telephony/index.js';
import type { InboundCall } from '../../../src/telephony/sip/inbound-call.js';
import { malformedRequestReply } from '../../../src/telephony/sip/malformed-reply.js';
import { parseMessage } from '../../../src/telephony/sip/parser.js';
import { serializeMessage } from '../../../src/telephony/sip/serializer.js';
import { TORTURE_MESSAGES, type TortureMessage } from '../../fixtures/sip-torture.js';
import { VirtualClock } from '../../helpers/virtual-clock.js';
import { FakeTransport } from './fake-transport.js';

type Expect =
  /** Parses; the user agent answers with this status (and nothing else). */
  | { readonly answer: number }
  /** Parses; an INVITE that becomes a new incoming call (100 Trying, the onInvite handler gets it). */
  | { readonly call: true }
  /** A response: parses, matches no transaction of ours, nothing is sent. */
  | { readonly response: true }
  /** Does not parse; the stateless reply has this status. */
  | { readonly refused: 400 | 416 | 505 }
  /** Does not parse, and nothing can be answered (a response, or a request missing what a reply copies). */
  | { readonly dropped: true };

const EXPECT: Readonly<Record<string, Expect>> = {
  // RFC 4475 §3.1.1, valid messages.
  wsinv: { answer: 481 }, // its To has a tag: an in-dialog INVITE for a dialog we do not have
  intmeth: { answer: 501 },
  esc01: { call: true },
  escnull: { answer: 405 },
  esc02: { answer: 501 }, // "RE%47IST%45R" is a method of its own, not REGISTER
  lwsdisp: { answer: 200 },
  longreq: { call: true },
  dblreq: { answer: 405 }, // the INVITE after the REGISTER's Content-Length is trailing octets, ignored
  semiuri: { answer: 200 },
  transports: { answer: 200 },
  mpart01: { answer: 405 },
  unreason: { response: true },
  noreason: { response: true },
  // §3.1.2, invalid messages.
  badinv01: { refused: 400 },
  clerr: { refused: 400 },
  ncl: { refused: 400 },
  scalar02: { refused: 400 },
  scalarlg: { dropped: true },
  quotbal: { refused: 400 },
  ltgtruri: { refused: 400 },
  lwsruri: { refused: 400 },
  lwsstart: { refused: 400 },
  trws: { refused: 400 },
  escruri: { refused: 400 },
  baddate: { call: true },
  regbadct: { answer: 405 },
  badaspec: { answer: 200 },
  baddn: { answer: 200 },
  badvers: { refused: 505 },
  mismatch01: { refused: 400 },
  mismatch02: { refused: 400 },
  bigcode: { dropped: true },
  // §3.2, transaction layer.
  badbranch: { answer: 200 },
  // §3.3, application layer.
  insuf: { dropped: true }, // no From or Call-ID: nothing a response could copy (§8.2.6.2)
  unkscm: { refused: 416 },
  novelsc: { refused: 416 },
  unksm2: { refused: 416 },
  bext01: { answer: 420 },
  invut: { answer: 415 },
  regaut01: { answer: 405 },
  multi01: { refused: 400 },
  mcl01: { refused: 400 },
  bcast: { response: true },
  zeromf: { answer: 200 }, // Max-Forwards 0 stops proxies (483), not the UAS it is addressed to
  cparam01: { answer: 405 },
  cparam02: { answer: 405 },
  regescrt: { answer: 405 },
  sdp01: { answer: 406 },
  // §3.4, backward compatibility.
  inv2543: { answer: 400 },
  // RFC 5118 §4.
  'ipv4-mapped-ipv6': { call: true },
  'ipv6-bad': { refused: 400 },
  'ipv6-bug-abnf-3-colons': { answer: 200 },
  'ipv6-correct-abnf-2-colons': { answer: 200 },
  'ipv6-good': { answer: 405 },
  'ipv6-in-sdp': { call: true },
  'mult-ip-in-header': { answer: 481 },
  'mult-ip-in-sdp': { call: true },
  'port-ambiguous': { answer: 405 },
  'port-unambiguous': { answer: 405 },
  'via-received-param-no-delim': { answer: 200 },
  'via-received-param-with-delim': { answer: 481 },
};

const bytes = (m: TortureMessage): Buffer => Buffer.from(m.text, 'latin1');

/** Delivers one message to a fresh user agent that takes calls; returns what it sent and the calls it took. */
async function deliver(m: TortureMessage): Promise<{ sent: FakeTransport['sent']; calls: InboundCall[]; dropped: number }> {
  const transport = new FakeTransport('UDP', { host: '192.0.2.1', port: 5060 });
  const ua = new UserAgent({ transports: [transport], clock: new VirtualClock() });
  const calls: InboundCall[] = [];
  ua.onInvite((c) => calls.push(c));
  transport.deliver(bytes(m), { host: '192.0.2.99', port: 5060 });
  await new Promise((r) => setImmediate(r));
  return { sent: transport.sent, calls, dropped: transport.stats.dropped };
}

test('all 49 messages of RFC 4475 and the 12 of RFC 5118 are here, each with what it must get', () => {
  assert.equal(TORTURE_MESSAGES.filter((m) => m.rfc === 4475).length, 49);
  assert.equal(TORTURE_MESSAGES.filter((m) => m.rfc === 5118).length, 12);
  assert.deepEqual(TORTURE_MESSAGES.map((m) => m.name).sort(), Object.keys(EXPECT).sort());
});

for (const m of TORTURE_MESSAGES) {
  const want = EXPECT[m.name] as Expect;
  test(`RFC ${m.rfc} ${m.name} (${m.group}): ${JSON.stringify(want).replace(/[{}"]/g, '')}`, async () => {
    const parsed = parseMessage(bytes(m));
    if ('refused' in want || 'dropped' in want) {
      assert.ok(!parsed.ok, `${m.name} must not parse`);
      const reply = malformedRequestReply(bytes(m), parsed.error);
      if ('dropped' in want) {
        assert.equal(reply, undefined, `${m.name}: nothing to answer, got ${reply?.toString('latin1').split('\r\n')[0]}`);
      } else {
        assert.ok(reply, `${m.name}: a stateless ${want.refused}`);
        // Read from the status line: the reply copies the request's Via, From, To, Call-ID and CSeq as
        // they came (§8.2.6.2), so where one of those was what broke, the reply carries it too.
        const status = /^SIP\/2\.0 (\d{3}) /.exec(reply.toString('latin1'))?.[1];
        assert.equal(status, String(want.refused), `${m.name}: ${reply.toString('latin1').split('\r\n')[0]}`);
        assert.match(reply.toString('latin1'), /\r\nCall-ID: .+\r\n/, 'the Call-ID is echoed');
      }
      const { sent, dropped } = await deliver(m);
      assert.equal(dropped, 1);
      assert.equal(sent.length, 0, 'the transaction layer never sees it');
      return;
    }
    assert.ok(parsed.ok, `${m.name} must parse: ${parsed.ok ? '' : parsed.error.message}`);
    // Whatever parses survives a serialization: same start, same header fields, the body's bytes as they were.
    const again = parseMessage(serializeMessage(parsed.value));
    assert.ok(again.ok, `${m.name} serialized parses again`);
    assert.equal(again.value.kind, parsed.value.kind);
    assert.deepEqual(again.value.headers.entries().filter((f) => f.name !== 'Content-Length'), parsed.value.headers.entries().filter((f) => f.name !== 'Content-Length'));
    assert.ok(again.value.bodyBytes?.equals(parsed.value.bodyBytes ?? Buffer.alloc(0)), 'body bytes unchanged');

    const { sent, calls } = await deliver(m);
    if ('response' in want) {
      assert.equal(parsed.value.kind, 'response');
      assert.equal(sent.length, 0);
      return;
    }
    assert.equal(parsed.value.kind, 'request');
    if ('call' in want) {
      assert.equal(calls.length, 1, `${m.name} becomes an incoming call`);
      assert.deepEqual(sent.map((s) => (s.msg.kind === 'response' ? s.msg.status : s.msg.method)), [100]);
      return;
    }
    assert.equal(calls.length, 0);
    assert.deepEqual(sent.map((s) => (s.msg.kind === 'response' ? `${s.msg.status}` : s.msg.method)), [`${want.answer}`], `${m.name}: ${sent.map((s) => s.raw.split('\r\n')[0]).join(' | ')}`);
  });
}

test('mpart01: the multipart body is 553 bytes with binary octets, kept as bytes (its UTF-8 text view is not them)', () => {
  const m = TORTURE_MESSAGES.find((x) => x.name === 'mpart01') as TortureMessage;
  const p = parseMessage(bytes(m));
  assert.ok(p.ok);
  assert.equal(p.value.headers.get('Content-Length'), '553');
  assert.equal(p.value.bodyBytes?.length, 553);
  const raw = bytes(m);
  assert.ok(p.value.bodyBytes?.equals(raw.subarray(raw.length - 553)), 'the body is the message\'s last 553 octets');
  assert.notEqual(Buffer.byteLength(p.value.body), 553, 'the text view re-encodes the binary octets (why the bytes are kept)');
  const out = serializeMessage(p.value);
  assert.ok(out.subarray(out.length - 553).equals(raw.subarray(raw.length - 553)), 'serialized with the same bytes');
});

test('invut and sdp01 tell what we take: Accept: application/sdp on the 415 and the 406', async () => {
  for (const name of ['invut', 'sdp01']) {
    const { sent } = await deliver(TORTURE_MESSAGES.find((x) => x.name === name) as TortureMessage);
    assert.equal(sent[0]?.msg.headers.get('Accept'), 'application/sdp', name);
  }
});
