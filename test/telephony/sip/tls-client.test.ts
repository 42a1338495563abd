/**
 * The client-only TLS transport of the media worker against a tiny TLS UAS on loopback (node:tls, a
 * certificate from a test CA): per-hop trust (default CAs plus the call's bundle), SNI = the dialed
 * host name and none for an address (RFC 6066 §3), connection reuse per destination and trust,
 * errors that name the certificate, and sips: targets (RFC 3261 §26.2.2, §8.1.1.8).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { buildResponse } from '../../../src/telephony/sip/builder.js';
import type { SipRequest } from '../../../src/telephony/sip/message.js';
import { serializeMessage } from '../../../src/telephony/sip/serializer.js';
import { StreamFramer } from '../../../src/telephony/sip/stream-framer.js';
import { StreamTransport } from '../../../src/telephony/sip/stream-transport.js';
import { UdpTransport } from '../../../src/telephony/sip/udp-transport.js';
import { parseUri } from '../../../src/telephony/sip/uri.js';
import { UserAgent } from '../../../src/telephony/sip/user-agent.js';
import { havePeer } from '../../helpers/sipp.js';
import { TestPki, type TestCa, type TestServerCert } from '../../helpers/test-pki.js';

const haveOpenssl = havePeer('openssl');

interface TlsUas {
  port: number;
  /** One entry per TLS connection accepted: the SNI it carried (false: none). */
  connections: Array<string | false>;
  /** Each request received, with the index of the connection it came on. */
  requests: Array<{ req: SipRequest; conn: number }>;
  close(): Promise<void>;
}

/** Answers INVITE and BYE with 200 on the connection they came on, like a trunk's TLS edge. */
async function startTlsUas(cert: TestServerCert): Promise<TlsUas> {
  const connections: Array<string | false> = [];
  const requests: TlsUas['requests'] = [];
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ cert: cert.pem, key: await import('node:fs').then((fs) => fs.readFileSync(cert.keyPath)) }, (socket) => {
    sockets.add(socket);
    const conn = connections.push(socket.servername ?? false) - 1;
    const framer = new StreamFramer();
    socket.on('data', (chunk: Buffer) => {
      const framed = framer.push(chunk);
      if (!framed.ok) return;
      for (const item of framed.value) {
        if (item.type !== 'message' || item.message.kind !== 'request') continue;
        const req = item.message;
        requests.push({ req, conn });
        if (req.method === 'INVITE' || req.method === 'BYE') {
          const contact = [{ name: 'Contact', value: `<sip:uas@127.0.0.1:${(server.address() as { port: number }).port};transport=tls>` }];
          socket.write(serializeMessage(buildResponse(req, 200, { toTag: 'uas1', extra: contact, body: req.method === 'INVITE' ? 'v=0\r\n' : '' })));
        }
      }
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    connections,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('TLS client transport: trust, SNI, reuse', { skip: haveOpenssl ? false : 'openssl not installed (needed to make test certificates)' }, () => {
  let pki: TestPki;
  let ca: TestCa;
  let other: TestCa;
  let uas: TlsUas;
  let ua: UserAgent;

  before(async () => {
    pki = new TestPki();
    ca = pki.ca('sip');
    other = pki.ca('unrelated');
    uas = await startTlsUas(pki.server(ca, 'localhost', '127.0.0.1'));
    const udp = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
    ua = new UserAgent({ transports: [udp, StreamTransport.tlsClient({ host: '127.0.0.1', port: udp.local.port })] });
  });
  after(async () => {
    await ua.close();
    await uas.close();
    pki.remove();
  });

  const dial = (o: { to?: string; host?: string; ca?: string | undefined }) =>
    ua.dial({
      to: o.to ?? 'bob',
      from: 'alice',
      trunk: { host: o.host ?? 'localhost', port: uas.port, transport: 'tls' },
      ...(o.ca !== undefined ? { tls: { ca: o.ca } } : {}),
      sdpOffer: 'v=0\r\n',
      ringTimeoutMs: 5000,
    });

  test('without the trunk CA the default CAs do not trust the server: the call fails naming the certificate', async () => {
    const ended = await dial({}).ended;
    assert.deepEqual([ended.outcome, ended.by, ended.sipStatusCode], ['failed', 'error', 503]);
    assert.match(ended.reason, /^transport error: TLS certificate verification failed for localhost:\d+: unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/);
    assert.equal(uas.requests.length, 0);
  });

  test('with the trunk CA the call completes; SNI is the trunk host; two calls share one connection', async () => {
    const before = uas.connections.length;
    const first = dial({ ca: ca.pem });
    await first.waitFor('answered');
    const second = dial({ ca: ca.pem });
    await second.waitFor('answered');
    assert.equal((await first.hangup()).outcome, 'completed');
    assert.equal((await second.hangup()).outcome, 'completed');
    assert.deepEqual(uas.connections.slice(before), ['localhost'], 'one connection, SNI localhost');
    const conns = new Set(uas.requests.filter((r) => r.req.method === 'INVITE' || r.req.method === 'BYE').map((r) => r.conn));
    assert.equal(conns.size, 1, 'both INVITEs and BYEs came on it');
    assert.match(uas.requests[0]?.req.headers.get('Via') ?? '', /^SIP\/2\.0\/TLS .*;rport;alias$/);
  });

  test('trusting the CA for one call did not add it to the defaults: a call without it still fails', async () => {
    const ended = await dial({}).ended;
    assert.match(ended.reason, /TLS certificate verification failed/);
  });

  test('another trust set never reuses a connection verified under the first; a wrong CA fails', async () => {
    const before = uas.connections.length;
    const wrong = await dial({ ca: other.pem }).ended;
    assert.match(wrong.reason, /TLS certificate verification failed for localhost/);
    const both = dial({ ca: `${other.pem}\n${ca.pem}` });
    await both.waitFor('answered');
    await both.hangup();
    assert.deepEqual(uas.connections.slice(before), ['localhost'], 'a new connection for the new trust set (the failed one never completed)');
  });

  test('a hop that names the server by address reuses the connection verified under the same trust', async () => {
    const before = uas.connections.length;
    const call = dial({ host: '127.0.0.1', ca: ca.pem });
    await call.waitFor('answered');
    await call.hangup();
    assert.equal(uas.connections.length, before, 'no new connection (a Record-Route naming the proxy by address lands here)');
  });

  test('an address as the trunk host: no SNI (RFC 6066 §3), the certificate must name the address', async () => {
    const udp = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
    const fresh = new UserAgent({ transports: [udp, StreamTransport.tlsClient({ host: '127.0.0.1', port: udp.local.port })] });
    try {
      const before = uas.connections.length;
      const call = fresh.dial({ to: 'bob', from: 'alice', trunk: { host: '127.0.0.1', port: uas.port, transport: 'tls' }, tls: { ca: ca.pem }, sdpOffer: 'v=0\r\n', ringTimeoutMs: 5000 });
      await call.waitFor('answered');
      await call.hangup();
      assert.deepEqual(uas.connections.slice(before), [false]);
    } finally {
      await fresh.close();
    }
  });

  test('a sips: target over TLS: sips Request-URI and Contact, and every hop of its dialog stays TLS', async () => {
    const call = dial({ to: 'sips:bob@localhost', ca: ca.pem });
    await call.waitFor('answered');
    const invite = uas.requests.filter((r) => r.req.method === 'INVITE').at(-1)?.req;
    assert.equal(invite?.uri, 'sips:bob@localhost');
    assert.match(invite?.headers.get('Contact') ?? '', /^<sips:alice@127\.0\.0\.1:\d+>$/);
    // §12.1.2: the dialog is secure, so even a hop that says transport=udp goes over TLS.
    const hop = call.hopFor((parseUri('sip:peer@127.0.0.1:5060;transport=udp') as { ok: true; value: Parameters<typeof call.hopFor>[0] }).value);
    assert.equal(hop.transport.protocol, 'TLS');
    await call.hangup();
  });
});

describe('sips: without TLS', () => {
  test('a sips: target on a udp trunk is refused at dial; a sips: hop without a TLS transport fails rather than use UDP', async () => {
    const udp = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
    const ua = new UserAgent({ transports: [udp] });
    try {
      assert.throws(
        () => ua.dial({ to: 'sips:bob@127.0.0.1', from: 'alice', trunk: { host: '127.0.0.1', port: 9 }, sdpOffer: 'v=0\r\n', ringTimeoutMs: 1000 }),
        /sips: target needs TLS on every hop/,
      );
      const call = ua.dial({ to: 'bob', from: 'alice', trunk: { host: '127.0.0.1', port: 9 }, sdpOffer: 'v=0\r\n', ringTimeoutMs: 1000 });
      const uri = parseUri('sips:peer@127.0.0.1:5061');
      assert.ok(uri.ok);
      const hop = call.hopFor(uri.value);
      assert.equal(hop.transport.protocol, 'TLS');
      await assert.rejects(hop.transport.send(Buffer.from('x'), hop.dest), /needs TLS/);
    } finally {
      // Aborts the call still waiting for a provisional response (a CANCEL would wait for one).
      await ua.close();
    }
  });
});
