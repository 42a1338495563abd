/**
 * TCP and TLS transports (RFC 3261 §18 on streams). One listening server so the far end can open
 * connections to us, plus outgoing connections reused per destination. Responses to a request received
 * on a connection go back on that connection (§18.2.2).
 */
import net from 'node:net';
import tls from 'node:tls';
import { silentLogger, type Logger } from './logger.js';
import { StreamFramer } from './stream-framer.js';
import { advertisedHost, hostPortKey, type HostPort, type SipTransport, type TransportListener, type TransportStats } from './transport.js';

export interface TcpTransportOptions {
  host: string;
  port: number;
  advertisedHost?: string;
  logger?: Logger;
  /** Idle outgoing connection lifetime is not managed here; close() ends every connection. */
}

export interface TlsTransportOptions extends TcpTransportOptions {
  /** PEM certificate and key presented by our server side (and as a client certificate when set). */
  cert: string | Buffer;
  key: string | Buffer;
  /** Trust anchors for the far end; default: node's bundled CAs. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Default true. Only tests with self-signed peers turn this off. */
  rejectUnauthorized?: boolean;
}

type Kind = { protocol: 'TCP' } | { protocol: 'TLS'; opts: TlsTransportOptions };

export class StreamTransport implements SipTransport {
  readonly reliable = true;
  readonly stats: TransportStats = { received: 0, sent: 0, dropped: 0 };
  readonly protocol: 'TCP' | 'TLS';
  private listener: TransportListener | undefined;
  private readonly connections = new Map<string, net.Socket>();
  private readonly pending = new Map<string, Promise<net.Socket>>();
  private readonly all = new Set<net.Socket>();
  private closed = false;

  private constructor(
    private readonly kind: Kind,
    private readonly server: net.Server,
    readonly local: HostPort,
    private readonly log: Logger,
  ) {
    this.protocol = kind.protocol;
    // A tls.Server's 'connection' is the raw TCP socket; decrypted streams arrive as 'secureConnection'.
    server.on(kind.protocol === 'TLS' ? 'secureConnection' : 'connection', (s: net.Socket) => this.adopt(s, undefined));
    if (kind.protocol === 'TLS') server.on('tlsClientError', (err) => this.log.warn({ err }, 'SIP TLS handshake failed'));
    server.on('error', (err) => this.log.warn({ err }, 'SIP stream server error'));
  }

  static tcp(opts: TcpTransportOptions): Promise<StreamTransport> {
    return StreamTransport.listen({ protocol: 'TCP' }, net.createServer(), opts);
  }

  static tls(opts: TlsTransportOptions): Promise<StreamTransport> {
    const server = tls.createServer({ cert: opts.cert, key: opts.key });
    return StreamTransport.listen({ protocol: 'TLS', opts }, server, opts);
  }

  private static async listen(kind: Kind, server: net.Server, opts: TcpTransportOptions): Promise<StreamTransport> {
    const host = advertisedHost(opts.host, opts.advertisedHost);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
    return new StreamTransport(kind, server, { host, port }, opts.logger ?? silentLogger);
  }

  attach(listener: TransportListener): void {
    this.listener = listener;
  }

  private adopt(socket: net.Socket, dialedKey: string | undefined): void {
    this.all.add(socket);
    const remote: HostPort = { host: socket.remoteAddress ?? '0.0.0.0', port: socket.remotePort ?? 0 };
    const remoteKey = hostPortKey(remote);
    this.connections.set(remoteKey, socket);
    if (dialedKey !== undefined) this.connections.set(dialedKey, socket);
    const framer = new StreamFramer();
    socket.on('data', (chunk: Buffer) => {
      const framed = framer.push(chunk);
      if (!framed.ok) {
        // The boundary of the next message is unknown: the connection is unusable (§18.3).
        this.stats.dropped++;
        this.listener?.onDrop?.(framed.error, remote);
        socket.destroy();
        return;
      }
      for (const item of framed.value) {
        this.stats.received++;
        if (item.type === 'malformed') {
          this.stats.dropped++;
          this.listener?.onDrop?.(item.error, remote);
        } else this.listener?.onMessage(item.message, remote, this);
      }
    });
    socket.on('error', (err) => this.log.debug({ err, remote: remoteKey }, 'SIP stream socket error'));
    socket.on('close', () => {
      this.all.delete(socket);
      for (const [k, s] of this.connections) if (s === socket) this.connections.delete(k);
    });
  }

  private connect(dest: HostPort): Promise<net.Socket> {
    const key = hostPortKey(dest);
    const existing = this.connections.get(key);
    if (existing && !existing.destroyed) return Promise.resolve(existing);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const host = dest.host.replace(/^\[|\]$/g, '');
    const p = new Promise<net.Socket>((resolve, reject) => {
      const kind = this.kind;
      const socket =
        kind.protocol === 'TLS'
          ? tls.connect({
              host,
              port: dest.port,
              cert: kind.opts.cert,
              key: kind.opts.key,
              ...(kind.opts.ca !== undefined ? { ca: kind.opts.ca } : {}),
              rejectUnauthorized: kind.opts.rejectUnauthorized ?? true,
              ...(net.isIP(host) === 0 ? { servername: host } : {}),
            })
          : net.connect({ host, port: dest.port });
      const ready = kind.protocol === 'TLS' ? 'secureConnect' : 'connect';
      socket.once('error', reject);
      socket.once(ready, () => {
        socket.off('error', reject);
        this.adopt(socket, key);
        resolve(socket);
      });
    });
    this.pending.set(key, p);
    const clear = (): void => {
      this.pending.delete(key);
    };
    p.then(clear, clear);
    return p;
  }

  async send(data: Buffer, dest: HostPort): Promise<void> {
    if (this.closed) throw new Error(`${this.protocol} transport closed`);
    const socket = await this.connect(dest);
    await new Promise<void>((resolve, reject) => {
      socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
    this.stats.sent++;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.all) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
