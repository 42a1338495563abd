import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../../../src/telephony/sip/parser.js';
import { serializeMessage } from '../../../src/telephony/sip/serializer.js';
import { StreamFramer } from '../../../src/telephony/sip/stream-framer.js';
import { canonicalName, splitList } from '../../../src/telephony/sip/headers.js';
import { parseNameAddr, parseUri, serializeNameAddr, serializeUri } from '../../../src/telephony/sip/uri.js';
import { parseCSeq, parseVia, serializeVia, type SipMessage } from '../../../src/telephony/sip/message.js';

const INVITE = [
  'INVITE sip:+15551234567@trunk.example.com;user=phone SIP/2.0',
  'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc123;rport',
  'Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKdef;received=192.0.2.4',
  'Max-Forwards: 70',
  'From: "Alice, Sales" <sip:alice@example.com>;tag=1928301774',
  'To: <sip:+15551234567@trunk.example.com>',
  'Call-ID: a84b4c76e66710@pc33.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@10.0.0.1:5060>',
  'X-Campaign: spring',
  'Content-Type: application/sdp',
  'Content-Length: 9',
  '',
  'v=0\r\no=x ',
].join('\r\n');

function mustParse(text: string | Buffer): SipMessage {
  const r = parseMessage(text);
  if (!r.ok) assert.fail(`parse failed: ${r.error.code} ${r.error.message}`);
  return r.value;
}

describe('parser', () => {
  test('parses a request with all core headers', () => {
    const m = mustParse(INVITE);
    assert.equal(m.kind, 'request');
    if (m.kind !== 'request') return;
    assert.equal(m.method, 'INVITE');
    assert.equal(m.uri, 'sip:+15551234567@trunk.example.com;user=phone');
    assert.equal(m.core.vias.length, 2);
    assert.equal(m.core.vias[0]?.params.get('branch'), 'z9hG4bKabc123');
    assert.equal(m.core.vias[0]?.params.get('rport'), null);
    assert.equal(m.core.vias[1]?.transport, 'TCP');
    assert.equal(m.core.vias[1]?.params.get('received'), '192.0.2.4');
    assert.equal(m.core.from.displayName, 'Alice, Sales');
    assert.equal(m.core.from.params.get('tag'), '1928301774');
    assert.equal(m.core.to.params.get('tag'), undefined);
    assert.equal(m.core.callId, 'a84b4c76e66710@pc33.example.com');
    assert.deepEqual(m.core.cseq, { seq: 314159, method: 'INVITE' });
    assert.equal(m.headers.get('x-campaign'), 'spring');
    assert.equal(m.body, 'v=0\r\no=x ');
  });

  test('parses a response and its reason phrase', () => {
    const m = mustParse('SIP/2.0 486 Busy Here\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>;tag=2\r\ni: x@y\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n');
    assert.equal(m.kind, 'response');
    if (m.kind !== 'response') return;
    assert.equal(m.status, 486);
    assert.equal(m.reason, 'Busy Here');
  });

  test('compact forms expand to canonical names', () => {
    const m = mustParse(
      'OPTIONS sip:x@y SIP/2.0\r\nv: SIP/2.0/UDP h:5060;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nt: sip:c@d\r\ni: cid\r\nCSeq: 2 OPTIONS\r\nm: <sip:a@h>\r\nk: replaces, timer\r\ne: gzip\r\ns: hello\r\nc: text/plain\r\nl: 2\r\n\r\nhi',
    );
    assert.equal(m.headers.get('Contact'), '<sip:a@h>');
    assert.deepEqual(m.headers.getAll('Supported'), ['replaces', 'timer']);
    assert.equal(m.headers.get('Content-Encoding'), 'gzip');
    assert.equal(m.headers.get('Subject'), 'hello');
    assert.equal(m.headers.get('content-type'), 'text/plain');
    assert.equal(m.body, 'hi');
    for (const [c, full] of [['v', 'Via'], ['f', 'From'], ['t', 'To'], ['i', 'Call-ID'], ['m', 'Contact'], ['l', 'Content-Length'], ['c', 'Content-Type'], ['k', 'Supported'], ['e', 'Content-Encoding'], ['s', 'Subject'], ['r', 'Refer-To'], ['o', 'Event']] as const) {
      assert.equal(canonicalName(c), full);
      assert.equal(canonicalName(c.toUpperCase()), full);
    }
  });

  test('header names are case-insensitive', () => {
    const m = mustParse('BYE sip:x@y SIP/2.0\r\nVIA: SIP/2.0/UDP h;branch=z9hG4bK1\r\nfrom: <sip:a@b>;tag=1\r\nTO: <sip:c@d>;tag=2\r\ncall-id: q\r\ncseq: 3 BYE\r\n\r\n');
    assert.equal(m.core.callId, 'q');
    assert.equal(m.headers.get('Call-Id'), 'q');
  });

  test('folded header lines are unfolded', () => {
    const m = mustParse('BYE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;\r\n  branch=z9hG4bK77\r\nFrom: <sip:a@b>\r\n\t;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: q\r\nSubject: I know you\'re there,\r\n   pick up!\r\nCSeq: 3 BYE\r\n\r\n');
    assert.equal(m.core.vias[0]?.params.get('branch'), 'z9hG4bK77');
    assert.equal(m.core.from.params.get('tag'), '1');
    assert.equal(m.headers.get('Subject'), "I know you're there, pick up!");
  });

  test('multiple values per header: comma lists respecting quotes and <>, and repeated lines', () => {
    const m = mustParse(
      'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\nVia: SIP/2.0/TCP c;branch=z9hG4bK3\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\nRecord-Route: <sip:p1;lr>, <sip:p2;lr;x=a,b>\r\nContact: "Doe, John" <sip:j@h>;q=0.5, <sip:k@h>\r\nWWW-Authenticate: Digest realm="r", nonce="n, with comma", qop="auth,auth-int"\r\n\r\n',
    );
    assert.deepEqual(m.core.vias.map((v) => v.host), ['a', 'b', 'c']);
    assert.deepEqual(m.headers.getAll('Record-Route'), ['<sip:p1;lr>', '<sip:p2;lr;x=a,b>']);
    assert.deepEqual(m.headers.getAll('Contact'), ['"Doe, John" <sip:j@h>;q=0.5', '<sip:k@h>']);
    assert.equal(m.headers.getAll('WWW-Authenticate').length, 1, 'challenges are never split on commas');
    assert.deepEqual(splitList('a, "b,c" <x>, <y,z>'), ['a', '"b,c" <x>', '<y,z>']);
  });

  test('URIs: user, password, host, port, params, headers, IPv6, tel', () => {
    const u = parseUri('sip:alice:pw@example.com:5070;transport=tcp;lr?subject=hi');
    assert.ok(u.ok);
    if (!u.ok) return;
    assert.equal(u.value.user, 'alice');
    assert.equal(u.value.password, 'pw');
    assert.equal(u.value.host, 'example.com');
    assert.equal(u.value.port, 5070);
    assert.equal(u.value.params.get('transport'), 'tcp');
    assert.equal(u.value.params.get('lr'), null);
    assert.equal(u.value.headers, 'subject=hi');
    assert.equal(serializeUri(u.value), 'sip:alice:pw@example.com:5070;transport=tcp;lr?subject=hi');
    const v6 = parseUri('sips:[2001:db8::1]:5061');
    assert.ok(v6.ok && v6.value.host === '[2001:db8::1]' && v6.value.port === 5061 && v6.value.scheme === 'sips');
    const tel = parseUri('tel:+1-555-123;phone-context=x');
    assert.ok(tel.ok && tel.value.host === '+1-555-123');
    for (const bad of ['http://x', 'sip:', 'sip:a@', 'sip:host:99999', 'sip:ho st', 'sip:[::1', 'nocolon']) assert.equal(parseUri(bad).ok, false, bad);
    // §25.1 user-unreserved: "?", ";", "/", "," and "&=+$" in the user part, marks and escapes too, and
    // "&=+$," in the password; the last "@" ends the userinfo (RFC 4475 §3.1.1.2 tests the same grammar).
    const odd = parseUri("sip:1_odd.user~(sure!)&isn't+it$/strange?,/;;*:&pw+has=1,odd!*pa$s~w_d.(it-is)@example.com;lr?h=1");
    assert.ok(odd.ok, JSON.stringify(odd));
    assert.equal(odd.value.user, "1_odd.user~(sure!)&isn't+it$/strange?,/;;*");
    assert.equal(odd.value.password, '&pw+has=1,odd!*pa$s~w_d.(it-is)');
    assert.deepEqual([odd.value.host, odd.value.params.has('lr'), odd.value.headers], ['example.com', true, 'h=1']);
    const escaped = parseUri('sip:sips%3Auser%40example.com@example.net');
    assert.ok(escaped.ok && escaped.value.user === 'sips%3Auser%40example.com' && escaped.value.host === 'example.net');
  });

  test('name-addr and addr-spec: params after a bare URI belong to the header', () => {
    const a = parseNameAddr('sip:bob@h;tag=55');
    assert.ok(a.ok);
    if (!a.ok) return;
    assert.equal(a.value.params.get('tag'), '55');
    assert.equal(a.value.uri.params.size, 0);
    const b = parseNameAddr('Bob <sip:bob@h;transport=tcp>;tag=9');
    assert.ok(b.ok && b.value.displayName === 'Bob' && b.value.uri.params.get('transport') === 'tcp' && b.value.params.get('tag') === '9');
    const c = parseNameAddr('"Quote \\" here" <sip:x@y>');
    assert.ok(c.ok && c.value.displayName === 'Quote " here');
    if (c.ok) assert.equal(serializeNameAddr(c.value), '"Quote \\" here" <sip:x@y>');
    for (const bad of ['"unterminated <sip:a@b>', '<sip:a@b', '"x" sip:a@b', '']) assert.equal(parseNameAddr(bad).ok, false, bad);
  });

  test('Via parsing with rport/received and round trip', () => {
    const v = parseVia('SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKx;rport=5071;received=198.51.100.2');
    assert.ok(v.ok);
    if (!v.ok) return;
    assert.equal(v.value.port, 5070);
    assert.equal(v.value.params.get('rport'), '5071');
    assert.equal(serializeVia(v.value), 'SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKx;rport=5071;received=198.51.100.2');
    assert.equal(parseVia('SIP / 2.0 / TCP host ; branch=z9hG4bK1').ok, true);
    for (const bad of ['SIP/2.0 host', 'HTTP/1.1/UDP h', 'SIP/2.0/UDP h;rport=abc', 'SIP/2.0/UDP :5060']) assert.equal(parseVia(bad).ok, false, bad);
  });

  test('CSeq parsing', () => {
    // Methods are case-sensitive (§7.1): kept as sent.
    assert.deepEqual(parseCSeq(' 42  invite '), { ok: true, value: { seq: 42, method: 'invite' } });
    assert.deepEqual(parseCSeq('7 INVITE'), { ok: true, value: { seq: 7, method: 'INVITE' } });
    for (const bad of ['x INVITE', '1', '99999999999 INVITE', '-1 BYE']) assert.equal(parseCSeq(bad).ok, false, bad);
  });

  test('malformed inputs give typed errors, never throw', () => {
    const cases: [string, string][] = [
      ['', 'empty'],
      ['\r\n\r\n', 'empty'],
      ['GARBAGE\r\n\r\n', 'start-line'],
      ['INVITE sip:x@y SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n', 'header-line'],
      ['INVITE sip:x@y SIP/2.0\r\n Via: folded first\r\n\r\n', 'header-line'],
      ['INVITE sip:x@y SIP/2.0\r\nFrom: <sip:a@b>\r\n\r\n', 'missing-header'],
      // Well formed, of a scheme we do not serve: answered 416 (malformed-reply.ts).
      ['INVITE http://x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\n\r\n', 'unsupported-uri-scheme'],
      ['INVITE sip:ho st SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\n\r\n', 'start-line'],
      ['INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nTo: <sip:e@f>\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\n\r\n', 'bad-header'],
      ['BYE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\n\r\n', 'bad-header'],
      ['BYE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: q\r\nCSeq: 1 BYE\r\nContent-Length: 50\r\n\r\nshort', 'truncated-body'],
      ['BYE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: q\r\nCSeq: 1 BYE\r\nContent-Length: -3\r\n\r\n', 'content-length'],
      ['SIP/2.0 999 Nope\r\n\r\n', 'start-line'],
      ['x'.repeat(70_000), 'too-large'],
    ];
    for (const [input, code] of cases) {
      const r = parseMessage(input);
      assert.equal(r.ok, false, input.slice(0, 40));
      if (!r.ok) {
        assert.equal(r.error.kind, 'sip-parse-error');
        assert.equal(r.error.code, code, input.slice(0, 60));
      }
    }
  });

  test('datagram without Content-Length takes the rest as body; with it, the body is cut to length', () => {
    const base = 'MESSAGE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: q\r\nCSeq: 1 MESSAGE\r\n';
    assert.equal(mustParse(`${base}\r\nhello`).body, 'hello');
    assert.equal(mustParse(`${base}Content-Length: 3\r\n\r\nhello`).body, 'hel');
    assert.equal(mustParse(`${base}Content-Length: 2\r\n\r\n\u00e9x`).body, '\u00e9', 'Content-Length counts bytes');
  });

  test('serializer round trip preserves semantics and recomputes Content-Length', () => {
    const m = mustParse(INVITE);
    const again = mustParse(serializeMessage(m));
    assert.equal(again.kind, 'request');
    assert.deepEqual(again.core.cseq, m.core.cseq);
    assert.equal(again.core.callId, m.core.callId);
    assert.deepEqual(again.headers.getAll('Via'), m.headers.getAll('Via'));
    assert.equal(again.body, m.body);
    assert.equal(again.headers.get('Content-Length'), String(Buffer.byteLength(m.body)));
    assert.equal(serializeMessage(again).toString(), serializeMessage(m).toString());
  });
});

describe('stream framer', () => {
  const msg = (n: number, body = ''): string =>
    `INFO sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK${n}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: q\r\nCSeq: ${n} INFO\r\nl: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  test('partial chunks and several messages per chunk', () => {
    const f = new StreamFramer();
    const wire = Buffer.from(`\r\n${msg(1, 'abc')}${msg(2)}\r\n\r\n${msg(3, 'xy')}`);
    const got: number[] = [];
    // Feed byte ranges of odd sizes to split headers, separators and bodies everywhere.
    for (let i = 0; i < wire.length; i += 7) {
      const r = f.push(wire.subarray(i, i + 7));
      assert.ok(r.ok);
      if (r.ok) for (const it of r.value) if (it.type === 'message') got.push(it.message.core.cseq.seq);
    }
    assert.deepEqual(got, [1, 2, 3]);
    const all = new StreamFramer().push(wire);
    assert.ok(all.ok && all.value.length === 3);
  });

  test('a malformed but framed message is skipped; missing Content-Length breaks the stream', () => {
    const f = new StreamFramer();
    const r = f.push(Buffer.from(`BAD LINE\r\nl: 0\r\n\r\n${msg(5)}`));
    assert.ok(r.ok);
    if (r.ok) assert.deepEqual(r.value.map((i) => i.type), ['malformed', 'message']);
    const g = new StreamFramer();
    const bad = g.push(Buffer.from('INFO sip:x@y SIP/2.0\r\nCSeq: 1 INFO\r\n\r\n'));
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(bad.error.code, 'content-length');
    // Two Content-Lengths: where this message ends (and every later one begins) is unknown.
    const two = new StreamFramer().push(Buffer.from(msg(6, 'abcd').replace('l: 4\r\n', 'l: 4\r\nContent-Length: 2\r\n')));
    assert.equal(two.ok, false);
    if (!two.ok) assert.match(two.error.message, /more than one Content-Length/);
  });
});
