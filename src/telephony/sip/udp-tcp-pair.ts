/**
 * UDP and TCP on one port number: a SIP host is reached at one host:port whatever the transport
 * (RFC 3261 §18: a server listens on UDP and TCP at the same port; Via and Contact carry one port).
 * With port 0 the kernel picks the UDP port, and TCP on that number can be taken already by another
 * socket (an outgoing connection's ephemeral port, another program's listener): then both are given
 * up and the pair is tried again, so a worker on an ephemeral SIP port never fails to start by chance.
 */
import { StreamTransport } from './stream-transport.js';
import { UdpTransport } from './udp-transport.js';

export interface UdpTcpPairOptions {
  host: string;
  /** 0: any free port number that is free for both. */
  port: number;
  advertisedHost?: string;
  /** Tries with port 0 before giving up (default 20). */
  attempts?: number;
  /** The binders (tests replace them to make a port number be taken). */
  bind?: {
    udp: (o: { host: string; port: number; advertisedHost?: string }) => Promise<UdpTransport>;
    tcp: (o: { host: string; port: number; advertisedHost?: string }) => Promise<StreamTransport>;
  };
}

const realBinders = { udp: (o: { host: string; port: number }) => UdpTransport.bind(o), tcp: (o: { host: string; port: number }) => StreamTransport.tcp(o) };

export async function bindUdpTcpPair(o: UdpTcpPairOptions): Promise<{ udp: UdpTransport; tcp: StreamTransport }> {
  const advertised = o.advertisedHost ? { advertisedHost: o.advertisedHost } : {};
  const attempts = o.port === 0 ? (o.attempts ?? 20) : 1;
  const bind = o.bind ?? realBinders;
  for (let i = 1; ; i++) {
    const udp = await bind.udp({ host: o.host, port: o.port, ...advertised });
    try {
      const tcp = await bind.tcp({ host: o.host, port: udp.local.port, ...advertised });
      return { udp, tcp };
    } catch (err) {
      await udp.close();
      if (i >= attempts || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}
