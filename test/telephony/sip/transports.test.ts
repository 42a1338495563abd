/**
 * Real sockets on loopback: UDP drop counting, TCP framing across connections, TLS with a self-signed
 * certificate (openssl generates it), and a full UA call over TLS against a tiny in-test TLS UAS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UdpTransport } from '../../../src/telephony/sip/udp-transport.js';
import { StreamTransport } from '../../../src/telephony/sip/stream-transport.js';
import { UserAgent } from '../../../src/telephony/sip/user-agent.js';
import { buildResponse } from '../../../src/telephony/sip/builder.js';
import { serializeMessage } from '../../../src/telephony/sip/serializer.js';
import type { SipMessage, SipRequest } from '../../../src/telephony/sip/message.js';
import type { HostPort, SipTransport } from '../../../src/telephony/sip/transport.js';
import { havePeer } from '../../helpers/sipp.js';

const OPTIONS = (branch: string, transport: string) =>
  Buffer.from(`OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/${transport} 127.0.0.1:1;branch=${branch}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: ${branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`);

function collect(t: SipTransport): { got: { msg: SipMessage; source: HostPort }[]; drops: number[] } {
  const got: { msg: SipMessage; source: HostPort }[] = [];
  const drops: number[] = [];
  t.attach({ onMessage: (msg, source) => got.push({ msg, source }), onDrop: () => drops.push(1) });
  return { got, drops };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('UDP transport', () => {
  test('parses datagrams, counts and drops garbage, ignores CRLF keep-alives', async () => {
    const t = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
    const sink = collect(t);
    const s = dgram.createSocket('udp4');
    try {
      for (const d of [OPTIONS('z9hG4bKu1', 'UDP'), Buffer.from('garbage\r\n\r\n'), Buffer.from('\r\n\r\n'), OPTIONS('z9hG4bKu2', 'UDP')]) s.send(d, t.local.port, '127.0.0.1');
      await until(() => sink.got.length === 2 && t.stats.dropped === 1);
      assert.equal(sink.drops.length, 1);
      assert.equal(sink.got[0]?.source.host, '127.0.0.1');
    } finally {
      s.close();
      await t.close();
    }
  });

  test('a wildcard bind needs advertisedHost', async () => {
    await assert.rejects(UdpTransport.bind({ host: '0.0.0.0', port: 0 }), TypeError);
    await assert.rejects(StreamTransport.tcp({ host: '0.0.0.0', port: 0 }), TypeError);
    const t = await UdpTransport.bind({ host: '0.0.0.0', port: 0, advertisedHost: '192.0.2.10' });
    assert.equal(t.local.host, '192.0.2.10');
    await t.close();
  });

  test('send to a closed transport rejects', async () => {
    const t = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
    await t.close();
    await assert.rejects(t.send(Buffer.from('x'), { host: '127.0.0.1', port: 9 }));
  });
});

describe('TCP transport', () => {
  test('framing over a connection; the reply goes back on the same connection', async () => {
    const a = await StreamTransport.tcp({ host: '127.0.0.1', port: 0 });
    const b = await StreamTransport.tcp({ host: '127.0.0.1', port: 0 });
    const sa = collect(a);
    const sb = collect(b);
    try {
      // Two messages in one write plus a CRLF keep-alive between them.
      await a.send(Buffer.concat([OPTIONS('z9hG4bKt1', 'TCP'), Buffer.from('\r\n\r\n'), OPTIONS('z9hG4bKt2', 'TCP')]), b.local);
      await until(() => sb.got.length === 2);
      const first = sb.got[0];
      assert.ok(first && first.msg.kind === 'request');
      // b answers to the source (a's ephemeral port): must reuse the inbound connection.
      await b.send(serializeMessage(buildResponse(first.msg as SipRequest, 200, { toTag: 'x' })), first.source);
      await until(() => sa.got.length === 1);
      assert.equal(sa.got[0]?.msg.kind, 'response');
      assert.equal(a.stats.sent, 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a stream without Content-Length is closed and counted', async () => {
    const a = await StreamTransport.tcp({ host: '127.0.0.1', port: 0 });
    const b = await StreamTransport.tcp({ host: '127.0.0.1', port: 0 });
    collect(b);
    try {
      await a.send(Buffer.from('OPTIONS sip:x@y SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n'), b.local);
      await until(() => b.stats.dropped === 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('connection refused rejects the send', async () => {
    const a = await StreamTransport.tcp({ host: '127.0.0.1', port: 0 });
    const b = await StreamTransport.tcp({ host: '127.0.0.1', port: 0 });
    const dead = b.local;
    await b.close();
    try {
      await assert.rejects(a.send(OPTIONS('z9hG4bKt3', 'TCP'), dead));
    } finally {
      await a.close();
    }
  });
});

// openssl makes the test certificate; missing in CI is a failure, elsewhere a skip (same rule as peers).
const haveOpenssl = havePeer('openssl');

describe('TLS transport', { skip: haveOpenssl ? false : 'openssl not installed (needed to make a test certificate)' }, () => {
  let dir = '';
  let cert = '';
  let key = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'outcall-tls-'));
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a call over TLS: INVITE, 200, ACK and BYE on one verified connection', async () => {
    // The far end: a minimal UAS on a TLS StreamTransport that answers INVITE and BYE.
    const uas = await StreamTransport.tls({ host: '127.0.0.1', port: 0, cert, key, ca: cert });
    const seen: string[] = [];
    uas.attach({
      onMessage: (msg, source) => {
        if (msg.kind !== 'request') return;
        seen.push(msg.method);
        if (msg.method === 'INVITE' || msg.method === 'BYE') {
          const res = buildResponse(msg, 200, { toTag: 'tls1', extra: [{ name: 'Contact', value: `<sip:uas@127.0.0.1:${uas.local.port};transport=tls>` }], body: msg.method === 'INVITE' ? 'v=0\r\n' : '' });
          uas.send(serializeMessage(res), source).catch((err: unknown) => assert.fail(String(err)));
        }
      },
    });
    const ua = await UserAgent.listen({ tls: { host: '127.0.0.1', port: 0, cert, key, ca: cert } });
    try {
      const call = ua.dial({ to: 'bob', from: 'alice', trunk: { host: '127.0.0.1', port: uas.local.port, transport: 'tls' }, sdpOffer: 'v=0\r\n', ringTimeoutMs: 5000 });
      assert.equal((await call.waitFor('answered')).remoteSdp, 'v=0\r\n');
      const ended = await call.hangup();
      assert.equal(ended.outcome, 'completed');
      assert.deepEqual(seen, ['INVITE', 'ACK', 'BYE']);
    } finally {
      await ua.close();
      await uas.close();
    }
  });

  test('an untrusted server certificate fails the call with a transport error', async () => {
    const uas = await StreamTransport.tls({ host: '127.0.0.1', port: 0, cert, key });
    uas.attach({ onMessage: () => undefined });
    const ua = await UserAgent.listen({ tls: { host: '127.0.0.1', port: 0, cert, key } }); // no ca: self-signed is untrusted
    try {
      const call = ua.dial({ to: 'bob', from: 'alice', trunk: { host: '127.0.0.1', port: uas.local.port, transport: 'tls' }, sdpOffer: 'v=0\r\n', ringTimeoutMs: 5000 });
      const ended = await call.ended;
      assert.deepEqual({ by: ended.by, code: ended.sipStatusCode, outcome: ended.outcome }, { by: 'error', code: 503, outcome: 'failed' });
    } finally {
      await ua.close();
      await uas.close();
    }
  });
});
