/**
 * A TCP relay in front of a server (PostgreSQL in the tests): it stands in for the server's network
 * port on another address, and can take the server away: cut() resets every connection through it and
 * refuses new ones (what a database restart or a network partition looks like to a client), restore()
 * lets connections through again.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpRelay {
  readonly host: string;
  readonly port: number;
  /** Connections relayed so far. */
  readonly accepted: () => number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export function startTcpRelay(o: { listenHost: string; targetHost: string; targetPort: number }): Promise<TcpRelay> {
  const live = new Set<Socket>();
  let down = false;
  let accepted = 0;
  const server: Server = createServer((socket) => {
    if (down) {
      socket.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = connect(o.targetPort, o.targetHost);
    live.add(socket);
    live.add(upstream);
    const drop = () => {
      live.delete(socket);
      live.delete(upstream);
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    socket.pipe(upstream).pipe(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, o.listenHost, () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        host: o.listenHost,
        port,
        accepted: () => accepted,
        cut() {
          down = true;
          for (const s of live) s.resetAndDestroy();
          live.clear();
        },
        restore() {
          down = false;
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of live) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
