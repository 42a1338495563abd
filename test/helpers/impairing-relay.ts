/**
 * A carrier's media relay that impairs what it forwards, as netem would on a bad path (this kernel
 * has no netem): each RTP packet, in each direction, is lost with probability `loss`, else held for a
 * delay drawn uniformly from [delayMs, delayMs + jitterMs] and then sent, so packets overtake each other
 * (reordering) whenever the jitter exceeds their spacing. RTCP passes unimpaired. A seeded generator
 * makes a run repeatable.
 *
 * Two port pairs: `callerPort` (RTP, RTCP on +1) faces our side, `calleePort` the callee. Each side's
 * real address is learned from the first packet it sends (symmetric RTP), so the relay needs no SIP;
 * kamailio-media-gateway.ts points both SDPs at it. Until a side has sent, what is due to it is dropped
 * (and counted as unroutable).
 *
 * Run in a namespace by spawnImpairingRelay(): the child prints its counters as one JSON line when it
 * gets SIGTERM, then exits.
 */
import { spawn } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { rng } from '../fixtures/rng.js';
import { waitForListen } from './sipp.js';

export interface ImpairmentOptions {
  host: string;
  callerPort: number;
  calleePort: number;
  /** Probability that an RTP packet is lost (0-1). */
  loss: number;
  /** Fixed part of the one-way delay, ms. */
  delayMs: number;
  /** Width of the uniform random part of the delay, ms. */
  jitterMs: number;
  seed: number;
}

export interface DirectionStats {
  received: number;
  lost: number;
  forwarded: number;
  /** Forwarded after a packet with a higher sequence number (RFC 3550 seq, modulo 2^16). */
  reordered: number;
  unroutable: number;
}

export interface RelayStats {
  toCallee: DirectionStats;
  toCaller: DirectionStats;
  rtcp: number;
}

const emptyDirection = (): DirectionStats => ({ received: 0, lost: 0, forwarded: 0, reordered: 0, unroutable: 0 });

export class ImpairingRelay {
  readonly stats: RelayStats = { toCallee: emptyDirection(), toCaller: emptyDirection(), rtcp: 0 };
  private readonly rng: () => number;
  private readonly sockets: Socket[] = [];
  private caller: { rtp?: RemoteInfo; rtcp?: RemoteInfo } = {};
  private callee: { rtp?: RemoteInfo; rtcp?: RemoteInfo } = {};
  private readonly highest = { toCallee: -1, toCaller: -1 };
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: ImpairmentOptions) {
    this.rng = rng(o.seed);
  }

  async start(): Promise<void> {
    const [aRtp, aRtcp, bRtp, bRtcp] = await Promise.all(
      [this.o.callerPort, this.o.callerPort + 1, this.o.calleePort, this.o.calleePort + 1].map((p) => bound(this.o.host, p)),
    );
    this.sockets.push(aRtp as Socket, aRtcp as Socket, bRtp as Socket, bRtcp as Socket);
    (aRtp as Socket).on('message', (m, r) => {
      this.caller.rtp = r;
      this.impair(m, 'toCallee', bRtp as Socket, this.callee.rtp);
    });
    (bRtp as Socket).on('message', (m, r) => {
      this.callee.rtp = r;
      this.impair(m, 'toCaller', aRtp as Socket, this.caller.rtp);
    });
    (aRtcp as Socket).on('message', (m, r) => {
      this.caller.rtcp = r;
      this.pass(m, bRtcp as Socket, this.callee.rtcp);
    });
    (bRtcp as Socket).on('message', (m, r) => {
      this.callee.rtcp = r;
      this.pass(m, aRtcp as Socket, this.caller.rtcp);
    });
  }

  private pass(m: Buffer, via: Socket, to: RemoteInfo | undefined): void {
    if (!to) return;
    this.stats.rtcp++;
    via.send(m, to.port, to.address);
  }

  private impair(m: Buffer, dir: 'toCallee' | 'toCaller', via: Socket, to: RemoteInfo | undefined): void {
    const s = this.stats[dir];
    s.received++;
    if (!to) {
      s.unroutable++;
      return;
    }
    if (this.rng() < this.o.loss) {
      s.lost++;
      return;
    }
    const delay = this.o.delayMs + this.rng() * this.o.jitterMs;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (m.length >= 12 && m[0]! >> 6 === 2) {
        const seq = m.readUInt16BE(2);
        const top = this.highest[dir];
        // Behind the highest sent so far (within half the sequence space): it was overtaken.
        if (top >= 0 && ((top - seq) & 0xffff) > 0 && ((top - seq) & 0xffff) < 0x8000) s.reordered++;
        else this.highest[dir] = seq;
      }
      s.forwarded++;
      via.send(m, to.port, to.address);
    }, delay);
    this.timers.add(timer);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.close();
  }
}

function bound(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

export interface SpawnedRelay {
  /** SIGTERM, then the counters the relay printed on its way out. */
  stop(): Promise<RelayStats>;
}

/** Runs an ImpairingRelay in network namespace `netns` (a child process: sockets belong to a namespace). */
export async function spawnImpairingRelay(netns: string, o: ImpairmentOptions): Promise<SpawnedRelay> {
  const main = fileURLToPath(import.meta.url);
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '--import', 'tsx', main, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    waitForListen(o.calleePort + 1, 'udp', 10_000, child.pid),
    exited.then(() => Promise.reject(new Error(`the relay exited early: ${out}`))),
  ]);
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        return JSON.parse(line) as RelayStats;
      } catch {
        throw new Error(`the relay printed no counters: ${out}`);
      }
    },
  };
}

// As a child process: `node --import tsx impairing-relay.ts '<ImpairmentOptions JSON>'`.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const relay = new ImpairingRelay(JSON.parse(process.argv[2] ?? '{}') as ImpairmentOptions);
  await relay.start();
  process.once('SIGTERM', () => {
    relay.close();
    process.stdout.write(`${JSON.stringify(relay.stats)}\n`, () => process.exit(0));
  });
}
