/**
 * TCP and TLS transports (RFC 3261 §18 on streams). One listening server so the far end can open
 * connections to us (none for a client-only TLS transport), plus outgoing connections reused per
 * destination. Responses to a request received on a connection go back on that connection (§18.2.2).
 *
 * A TLS connection is reused only under the trust it was verified with: it is found by the name we
 * dialed (SNI) and trust set, or by its address and trust set (an in-dialog hop that names the same
 * server by address, e.g. a Record-Route), never by a send that would have trusted other CAs.
 */
import net from 'node:net';
import tls from 'node:tls';
import { silentLogger, type Logger } from './logger.js';
import { malformedRequestReply } from './malformed-reply.js';
import { StreamFramer } from './stream-framer.js';
import { connectTls, sniFor, trustId } from './tls-connect.js';
import { advertisedHost, hostPortKey, type HostPort, type SendTarget, type SipTransport, type TlsPeer, type TransportListener, type TransportStats } from './transport.js';

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
  /** PEM trust anchors for every hop, added to the default CAs (a hop may add its own: SendTarget.tls). */
  ca?: string;
  /** Default true. Only tests with self-signed peers turn this off. */
  rejectUnauthorized?: boolean;
}

/**
 * A TLS transport that only connects out (no certificate of our own, nothing listening): requests
 * from the far end arrive on the connections we opened. `port` is the port written in Via and
 * Contact (responses on a stream go back on the connection, §18.2.2).
 */
export interface TlsClientTransportOptions {
  host: string;
  port: number;
  advertisedHost?: string;
  logger?: Logger;
  /** PEM trust anchors for every hop, added to the default CAs. */
  ca?: string;
}

type Kind =
  | { protocol: 'TCP' }
  | { protocol: 'TLS'; ca: string | undefined; own: { cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean } };

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
    private readonly server: net.Server | undefined,
    readonly local: HostPort,
    private readonly log: Logger,
  ) {
    this.protocol = kind.protocol;
    // A tls.Server's 'connection' is the raw TCP socket; decrypted streams arrive as 'secureConnection'.
    server?.on(kind.protocol === 'TLS' ? 'secureConnection' : 'connection', (s: net.Socket) => this.adopt(s, []));
    if (kind.protocol === 'TLS') server?.on('tlsClientError', (err) => this.log.warn({ err }, 'SIP TLS handshake failed'));
    server?.on('error', (err) => this.log.warn({ err }, 'SIP stream server error'));
  }

  static tcp(opts: TcpTransportOptions): Promise<StreamTransport> {
    return StreamTransport.listen({ protocol: 'TCP' }, net.createServer(), opts);
  }

  static tls(opts: TlsTransportOptions): Promise<StreamTransport> {
    const server = tls.createServer({ cert: opts.cert, key: opts.key });
    const own = { cert: opts.cert, key: opts.key, ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}) };
    return StreamTransport.listen({ protocol: 'TLS', ca: opts.ca, own }, server, opts);
  }

  /** TLS out only (see TlsClientTransportOptions): what a worker without a certificate of its own uses. */
  static tlsClient(opts: TlsClientTransportOptions): StreamTransport {
    const local = { host: advertisedHost(opts.host, opts.advertisedHost), port: opts.port };
    return new StreamTransport({ protocol: 'TLS', ca: opts.ca, own: {} }, undefined, local, opts.logger ?? silentLogger);
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

  /** Registers a connection under every key a later send may look it up by, and reads from it. */
  private adopt(socket: net.Socket, keys: readonly string[]): void {
    this.all.add(socket);
    const remote: HostPort = { host: socket.remoteAddress ?? '0.0.0.0', port: socket.remotePort ?? 0 };
    const remoteKey = hostPortKey(remote);
    // By its bare address: responses to requests that arrived on it go back on it (§18.2.2).
    this.connections.set(remoteKey, socket);
    for (const k of keys) this.connections.set(k, socket);
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
          // Answered on the connection it came on, when it can be (malformed-reply.ts).
          const reply = malformedRequestReply(item.raw, item.error);
          if (reply && !socket.destroyed) socket.write(reply);
        } else this.listener?.onMessage(item.message, remote, this);
      }
    });
    socket.on('error', (err) => this.log.debug({ err, remote: remoteKey }, 'SIP stream socket error'));
    socket.on('close', () => {
      this.all.delete(socket);
      for (const [k, s] of this.connections) if (s === socket) this.connections.delete(k);
    });
  }

  /** How a TLS send authenticates its server: the target's own rule, else the host's name and our CAs. */
  private peerFor(dest: SendTarget): TlsPeer {
    const ca = this.kind.protocol === 'TLS' ? this.kind.ca : undefined;
    const own = dest.tls;
    const bundle = [ca, own?.ca].filter((p): p is string => p !== undefined).join('\n');
    return { servername: own ? own.servername : sniFor(dest.host), ...(bundle !== '' ? { ca: bundle } : {}) };
  }

  private connect(dest: SendTarget): Promise<net.Socket> {
    const kind = this.kind;
    const peer = kind.protocol === 'TLS' ? this.peerFor(dest) : undefined;
    // A TLS connection is found by (name, trust) or (address, trust); a TCP one by its address.
    const trust = peer ? `#${trustId(peer.ca)}` : '';
    const key = peer ? `${hostPortKey(dest)}/${peer.servername ?? ''}${trust}` : hostPortKey(dest);
    const byAddress = peer && net.isIP(dest.host.replace(/^\[|\]$/g, '')) !== 0 ? `${hostPortKey(dest)}${trust}` : undefined;
    // A send without TLS rules (a response, §18.2.2) may use any connection to that address.
    const candidates = [key, byAddress, peer && dest.tls === undefined ? hostPortKey(dest) : undefined];
    for (const k of candidates) {
      const existing = k === undefined ? undefined : this.connections.get(k);
      if (existing && !existing.destroyed) return Promise.resolve(existing);
    }
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const p = (async (): Promise<net.Socket> => {
      if (kind.protocol === 'TLS' && peer) {
        const socket = await connectTls(dest, peer, kind.own);
        // Also by the address it reached, under the same trust, for hops that name it by address.
        const at = socket.remoteAddress !== undefined ? hostPortKey({ host: socket.remoteAddress, port: socket.remotePort ?? dest.port }) : undefined;
        this.adopt(socket, [key, ...(at !== undefined ? [`${at}${trust}`] : [])]);
        return socket;
      }
      const host = dest.host.replace(/^\[|\]$/g, '');
      const socket = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host, port: dest.port });
        s.once('error', reject);
        s.once('connect', () => {
          s.off('error', reject);
          resolve(s);
        });
      });
      this.adopt(socket, [key]);
      return socket;
    })();
    this.pending.set(key, p);
    const clear = (): void => {
      this.pending.delete(key);
    };
    p.then(clear, clear);
    return p;
  }

  async send(data: Buffer, dest: SendTarget): Promise<void> {
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
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
