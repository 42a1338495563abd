/**
 * The two UDP sockets of one leg and where they send to.
 *
 * - RTP on an even port from a PortPool, RTCP on port + 1 (RFC 3550 §11) unless rtcp-mux (RFC 5761)
 *   was negotiated. Symmetric RTP (RFC 4961): we send from the port we receive on.
 * - The RTP socket stays unconnected until the receiver accepts a first source (or the latch window
 *   ends); then it is connect()ed, so sends are synchronous and cheaper and the kernel filters
 *   strangers. `conn` and `sendTo` are plain fields: the sender reads them on every packet without a
 *   call in between.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { countSrtpDrop, type MediaEmitter, type MediaSessionStats } from './media-events.js';
import type { PortPool } from './port-pool.js';
import type { MediaCrypto } from './srtp/media-crypto.js';

export type ConnState = 'none' | 'connecting' | 'connected';

export class MediaSocket {
  conn: ConnState = 'none';
  /** The remote RTP address: the SDP's, or the source we latched to. */
  sendTo: { address: string; port: number } | undefined;
  /** SRTP when negotiated (RFC 4568): every RTP and RTCP packet sent is protected, every one received unprotected. */
  srtp: MediaCrypto | undefined;
  private closed = false;

  constructor(
    readonly rtp: Socket,
    readonly rtcp: Socket,
    private readonly counters: MediaSessionStats,
    private readonly events: MediaEmitter,
  ) {
    // ICMP port-unreachable on a connected socket surfaces as ECONNREFUSED: count it, keep going.
    rtp.on('error', (err) => this.onError(err));
    rtcp.on('error', (err) => this.onError(err));
  }

  /** A new remote from the SDP: forget the connected peer, send to this one until we connect again. */
  retarget(address: string, port: number): void {
    this.disconnect();
    this.sendTo = { address, port };
  }

  connectTo(address: string, port: number): void {
    if (this.conn !== 'none' || this.closed) return;
    this.conn = 'connecting';
    this.rtp.connect(port, address, () => {
      if (this.conn === 'connecting') this.conn = 'connected';
    });
  }

  private disconnect(): void {
    if (this.conn === 'connected') {
      try {
        this.rtp.disconnect();
      } catch (err) {
        this.onError(err as Error);
      }
    }
    this.conn = 'none';
  }

  /**
   * A received datagram as plain RTP or RTCP: as it is without SRTP, else unprotected (RFC 3711 §3.3:
   * authenticated and checked for replay before anything of it is used). undefined: dropped, counted.
   */
  plain(msg: Buffer, kind: 'rtp' | 'rtcp'): Buffer | undefined {
    const srtp = this.srtp;
    if (!srtp) return msg;
    // Each datagram is a Buffer of its own that nothing else reads: RTP is decrypted where it is.
    const u = kind === 'rtp' ? srtp.in.unprotectRtp(msg, true) : srtp.in.unprotectRtcp(msg);
    if (u.ok) return u.packet;
    countSrtpDrop(this.counters, u.reason);
    return undefined;
  }

  onError(err: Error): void {
    this.counters.socketErrors++;
    // ECONNREFUSED (peer port closed) is routine; report the first of each kind only.
    if (this.counters.socketErrors <= 3) this.events.emit({ type: 'socket-error', error: err });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([closeQuietly(this.rtp), closeQuietly(this.rtcp)]);
  }
}

export interface BoundPair {
  port: number;
  rtp: Socket;
  rtcp: Socket;
}

/** Binds RTP (even port) and RTCP (port + 1) sockets; retries other ports if one is taken. */
export async function bindPair(localAddress: string, pool: PortPool): Promise<BoundPair> {
  if (isIP(localAddress) === 0) throw new RangeError(`localAddress is not an IP: ${localAddress}`);
  const type = isIP(localAddress) === 6 ? 'udp6' : 'udp4';
  let lastErr: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = pool.acquire();
    const rtp = createSocket({ type });
    const rtcp = createSocket({ type });
    try {
      await bind(rtp, port, localAddress);
      await bind(rtcp, port + 1, localAddress);
      return { port, rtp, rtcp };
    } catch (err) {
      lastErr = err;
      await Promise.all([closeQuietly(rtp), closeQuietly(rtcp)]);
      pool.release(port);
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error(`could not bind an RTP port pair: ${String(lastErr)}`);
}

function bind(s: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    s.once('error', onError);
    s.bind({ port, address, exclusive: true }, () => {
      s.off('error', onError);
      resolve();
    });
  });
}

function closeQuietly(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch (err) {
      // ERR_SOCKET_DGRAM_NOT_RUNNING: never bound or already closed — nothing left to release.
      if ((err as NodeJS.ErrnoException).code !== 'ERR_SOCKET_DGRAM_NOT_RUNNING') throw err;
      resolve();
    }
  });
}
