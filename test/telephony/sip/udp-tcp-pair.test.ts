import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { StreamTransport } from '../../../src/telephony/sip/stream-transport.js';
import { UdpTransport } from '../../../src/telephony/sip/udp-transport.js';
import { bindUdpTcpPair } from '../../../src/telephony/sip/udp-tcp-pair.js';

test('port 0: UDP and TCP on one port number', async () => {
  const { udp, tcp } = await bindUdpTcpPair({ host: '127.0.0.1', port: 0 });
  try {
    assert.ok(udp.local.port > 0);
    assert.equal(tcp.local.port, udp.local.port);
  } finally {
    await tcp.close();
    await udp.close();
  }
});

test('port 0: a TCP port number already taken is given up with its UDP twin and the pair tried again', async () => {
  let taken: Server | undefined;
  let tcpTries = 0;
  const udpPorts: number[] = [];
  const { udp, tcp } = await bindUdpTcpPair({
    host: '127.0.0.1',
    port: 0,
    bind: {
      udp: async (o) => {
        const u = await UdpTransport.bind(o);
        udpPorts.push(u.local.port);
        return u;
      },
      tcp: async (o) => {
        tcpTries++;
        if (tcpTries === 1) {
          // Someone else holds TCP on the number the kernel gave our UDP socket.
          taken = createServer();
          await new Promise<void>((r) => taken!.listen(o.port, '127.0.0.1', r));
        }
        return StreamTransport.tcp(o);
      },
    },
  });
  try {
    assert.equal(tcpTries, 2, 'the first pair failed on TCP, the second bound');
    assert.equal(udpPorts.length, 2);
    assert.equal(tcp.local.port, udp.local.port);
    assert.notEqual(udp.local.port, udpPorts[0], 'the new pair is on another number');
    // The UDP socket of the failed pair was closed: its number can be bound again.
    const again = await UdpTransport.bind({ host: '127.0.0.1', port: udpPorts[0]! });
    await again.close();
  } finally {
    await tcp.close();
    await udp.close();
    await new Promise<void>((r) => (taken ? taken.close(() => r()) : r()));
  }
});

test('a fixed port whose TCP number is taken fails at once with EADDRINUSE (and frees its UDP socket)', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as { port: number }).port;
  try {
    await assert.rejects(bindUdpTcpPair({ host: '127.0.0.1', port }), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    const u = await UdpTransport.bind({ host: '127.0.0.1', port });
    await u.close();
  } finally {
    await new Promise<void>((r) => taken.close(() => r()));
  }
});
