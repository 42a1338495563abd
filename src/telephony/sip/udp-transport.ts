/** UDP transport (RFC 3261 §18 over datagrams): one bound socket, one message per datagram. */
import dgram from 'node:dgram';
import { malformedRequestReply } from './malformed-reply.js';
import { parseMessage } from './parser.js';
import { silentLogger, type Logger } from './logger.js';
import { advertisedHost, type HostPort, type SipTransport, type TransportListener, type TransportStats } from './transport.js';

export interface UdpTransportOptions {
  /** Address to bind; also written in Via/Contact unless advertisedHost is set. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  advertisedHost?: string;
  logger?: Logger;
  /**
   * SO_RCVBUF / SO_SNDBUF in bytes (default 2 MiB; Linux caps it at net.core.rmem_max). The 208 KiB
   * default overflows on bursts of ~100 datagrams at high call rates, and every drop costs a T1 retransmit.
   */
  bufferBytes?: number;
}

export class UdpTransport implements SipTransport {
  readonly protocol = 'UDP' as const;
  readonly reliable = false;
  readonly stats: TransportStats = { received: 0, sent: 0, dropped: 0 };
  private listener: TransportListener | undefined;
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly local: HostPort,
  ) {
    socket.on('message', (buf, rinfo) => this.receive(buf, { host: rinfo.address, port: rinfo.port }));
  }

  static async bind(opts: UdpTransportOptions): Promise<UdpTransport> {
    const host = advertisedHost(opts.host, opts.advertisedHost);
    const bufferBytes = opts.bufferBytes ?? 2 * 1024 * 1024;
    const socket = dgram.createSocket({ type: opts.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: bufferBytes, sendBufferSize: bufferBytes });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const t = new UdpTransport(socket, { host, port: socket.address().port });
    // After binding, socket errors (e.g. ICMP-driven) must not crash the process; sends report their own.
    const log = opts.logger ?? silentLogger;
    socket.on('error', (err) => log.warn({ err }, 'SIP UDP socket error'));
    return t;
  }

  attach(listener: TransportListener): void {
    this.listener = listener;
  }

  private receive(buf: Buffer, source: HostPort): void {
    this.stats.received++;
    // §7.5 / RFC 5626 keep-alives: a datagram of only CRLF is not a message and not an error.
    if (buf.length <= 4 && buf.every((b) => b === 0x0d || b === 0x0a)) return;
    const parsed = parseMessage(buf);
    if (!parsed.ok) {
      this.stats.dropped++;
      this.listener?.onDrop?.(parsed.error, source);
      // A request that could not be parsed still gets its 400/416/505 when it can be addressed; back to
      // where it came from (the address a response would use after rport/received, RFC 3581 §4).
      const reply = malformedRequestReply(buf, parsed.error);
      if (reply && !this.closed) this.send(reply, source).catch(() => undefined);
      return;
    }
    this.listener?.onMessage(parsed.value, source, this);
  }

  send(data: Buffer, dest: HostPort): Promise<void> {
    if (this.closed) return Promise.reject(new Error('UDP transport closed'));
    return new Promise((resolve, reject) => {
      this.socket.send(data, dest.port, dest.host.replace(/^\[|\]$/g, ''), (err) => {
        if (err) reject(err);
        else {
          this.stats.sent++;
          resolve();
        }
      });
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
