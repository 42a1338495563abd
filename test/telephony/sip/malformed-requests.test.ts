/**
 * Requests that break the grammar or ask for what we do not support, sent as real UDP datagrams to a
 * listening user agent, in the spirit of RFC 4475's torture messages (our own messages, each built to
 * carry one fault): each gets the response RFC 3261 calls for, built statelessly when the request
 * cannot be parsed, and nothing at all when it cannot be addressed or is an ACK.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { UserAgent } from '../../../src/telephony/index.js';
import { parseMessage } from '../../../src/telephony/sip/parser.js';

let ua: UserAgent;
let port = 0;
let peer: dgram.Socket;
const replies: Buffer[] = [];

before(async () => {
  ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  port = ua.transports[0]?.local.port as number;
  peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  peer.on('message', (m) => replies.push(m));
});
after(async () => {
  peer.close();
  await ua.close();
});

let seq = 0;
/** A request whose parts the test replaces; every line ends CRLF. */
function request(o: { start?: string; method?: string; extra?: string[]; drop?: string[]; body?: string; cl?: string[] } = {}): string {
  seq++;
  const method = o.method ?? 'OPTIONS';
  const headers = [
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.address().port};branch=z9hG4bK-torture-${seq}`,
    'Max-Forwards: 70',
    'From: <sip:tester@example.com>;tag=t1',
    'To: <sip:outcall@127.0.0.1>',
    `Call-ID: torture-${seq}@example.com`,
    `CSeq: 1 ${method}`,
    ...(o.extra ?? []),
  ].filter((h) => !(o.drop ?? []).some((d) => h.startsWith(`${d}:`)));
  const body = o.body ?? '';
  const cls = o.cl ?? [`Content-Length: ${Buffer.byteLength(body)}`];
  return [o.start ?? `${method} sip:outcall@127.0.0.1 SIP/2.0`, ...headers, ...cls, '', body].join('\r\n');
}

/**
 * Sends a datagram and returns the reply to it (or undefined after 300 ms). Replies are matched by the
 * request's Call-ID: a final response to an INVITE is retransmitted until ACKed, into later exchanges.
 */
async function exchange(text: string): Promise<{ status: number; reason: string; headers: Map<string, string> } | undefined> {
  replies.length = 0;
  const callId = /Call-ID: (\S+)/.exec(text)?.[1] ?? '(none)';
  const mine = () => replies.find((b) => b.toString('latin1').includes(`Call-ID: ${callId}`));
  peer.send(Buffer.from(text, 'latin1'), port, '127.0.0.1');
  for (let i = 0; i < 30 && !mine(); i++) await new Promise((r) => setTimeout(r, 10));
  const raw = mine() ?? (callId === '(none)' ? replies.find((b) => !/Call-ID: torture-/.test(b.toString('latin1'))) : undefined);
  if (!raw) return undefined;
  const p = parseMessage(raw);
  assert.ok(p.ok && p.value.kind === 'response', `a parsable response: ${raw.toString()}`);
  const headers = new Map(p.value.headers.entries().map((f) => [f.name, f.value]));
  return { status: p.value.status, reason: p.value.reason, headers };
}

describe('malformed and unsupported requests (UDP)', () => {
  test('a well-formed OPTIONS is answered 200 (the baseline the others differ from)', async () => {
    const r = await exchange(request());
    assert.equal(r?.status, 200);
  });

  test('two To, From, Call-ID or CSeq headers: 400 naming the header, To tagged, Via and Call-ID echoed', async () => {
    for (const dup of ['To: <sip:other@127.0.0.1>', 'From: <sip:b@example.com>;tag=t2', 'Call-ID: second@example.com', 'CSeq: 2 OPTIONS']) {
      const name = dup.slice(0, dup.indexOf(':'));
      const r = await exchange(request({ extra: [dup] }));
      assert.equal(r?.status, 400, `duplicate ${name}`);
      assert.match(r?.reason ?? '', new RegExp(`more than one ${name}`), r?.reason);
      assert.match(r?.headers.get('To') ?? '', /;tag=/);
      assert.match(r?.headers.get('Via') ?? '', /branch=z9hG4bK-torture-/);
    }
  });

  test('two Content-Length headers: 400', async () => {
    const r = await exchange(request({ method: 'INVITE', body: 'v=0\r\n', cl: ['Content-Length: 5', 'Content-Length: 4'] }));
    assert.equal(r?.status, 400);
    assert.match(r?.reason ?? '', /Content-Length/);
  });

  test('a Request-URI of an unknown scheme: 416; another SIP version: 505', async () => {
    const scheme = await exchange(request({ start: 'OPTIONS nobodyknowsthisscheme:totallyopaquecontent SIP/2.0' }));
    assert.deepEqual([scheme?.status, scheme?.reason], [416, 'Unsupported URI Scheme']);
    const version = await exchange(request({ start: 'OPTIONS sip:outcall@127.0.0.1 SIP/7.0' }));
    assert.deepEqual([version?.status, version?.reason], [505, 'Version Not Supported']);
  });

  test('Require with an option tag we do not support: 420 Bad Extension listing it in Unsupported (also on INVITE); not on CANCEL', async () => {
    const r = await exchange(request({ extra: ['Require: nothingSupportsThis, nothingSupportsThisEither'] }));
    assert.deepEqual([r?.status, r?.reason], [420, 'Bad Extension']);
    assert.equal(r?.headers.get('Unsupported'), 'nothingSupportsThis, nothingSupportsThisEither');
    const inv = await exchange(request({ method: 'INVITE', extra: ['Require: 100rel', 'Contact: <sip:tester@127.0.0.1>'] }));
    assert.deepEqual([inv?.status, inv?.headers.get('Unsupported')], [420, '100rel']);
    const cancel = await exchange(request({ method: 'CANCEL', extra: ['Require: 100rel'] }));
    assert.equal(cancel?.status, 481, 'CANCEL is never refused for Require (§9.2): nothing to cancel');
  });

  test('method names are case-sensitive: "invite" is an unknown method (501), never an INVITE; an unknown FOO is 501, a known one not allowed here 405', async () => {
    const lower = await exchange(request({ method: 'invite', extra: ['Contact: <sip:tester@127.0.0.1>'] }));
    assert.equal(lower?.status, 501);
    const foo = await exchange(request({ method: 'FOO' }));
    assert.equal(foo?.status, 501);
    assert.match(foo?.headers.get('Allow') ?? '', /INVITE/);
    const sub = await exchange(request({ method: 'SUBSCRIBE' }));
    assert.equal(sub?.status, 405);
  });

  test('no reply when nothing can address one: a malformed ACK, a request without Via or Call-ID, garbage', async () => {
    assert.equal(await exchange(request({ method: 'ACK', extra: ['To: <sip:x@y>'] })), undefined, 'ACK');
    assert.equal(await exchange(request({ extra: ['CSeq: 9 OPTIONS'], drop: ['Via'] })), undefined, 'no Via');
    assert.equal(await exchange(request({ extra: ['To: <sip:x@y>'], drop: ['Call-ID'] })), undefined, 'no Call-ID');
    assert.equal(await exchange('\u0001\u0002 not sip at all\r\n\r\n'), undefined, 'garbage');
    const r = await exchange(request());
    assert.equal(r?.status, 200, 'the user agent still answers afterwards');
  });
});
