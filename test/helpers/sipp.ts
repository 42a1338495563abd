/**
 * Starts real SIPp processes for peer tests. SIPp runs as our child (no -bg) so we own its PID; every run
 * gets a temp dir with its message trace (-trace_msg) and error log (-trace_err).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * True when the program exists. Missing in CI is a failure (throws); elsewhere the caller skips.
 */
export function havePeer(binary: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const found = r.status === 0 && r.stdout.trim() !== '';
  if (!found && process.env.CI === 'true') throw new Error(`${binary} is required in CI but not installed`);
  return found;
}

/** A free UDP port on 127.0.0.1 (bound then released). */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A port free for both UDP and TCP (SIPp and kamailio may open either). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freeUdpPort();
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port found');
}

/**
 * Waits until something listens on port (UDP bound or TCP LISTEN), via /proc/net: ours, or that of
 * process `pid` (a peer started in another network namespace sees its own sockets there).
 */
export async function waitForListen(port: number, proto: 'udp' | 'tcp', timeoutMs = 5000, pid?: number): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let text = '';
    try {
      text = readFileSync(pid === undefined ? `/proc/net/${proto}` : `/proc/${pid}/net/${proto}`, 'utf8');
    } catch {
      // The process is not there yet (or already gone): the exit race reports that.
    }
    const table = text.split('\n').slice(1);
    // local_address is the 2nd column; TCP must be in state 0A (LISTEN).
    if (table.some((l) => { const c = l.trim().split(/\s+/); return (c[1] ?? '').endsWith(hex) && (proto === 'udp' || c[3] === '0A'); })) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing listening on ${proto} port ${port} after ${timeoutMs} ms`);
}

export interface SippOptions {
  /** Scenario XML path. */
  scenario: string;
  port: number;
  transport?: 'u1' | 't1';
  /** Number of calls before exiting (default 1). */
  calls?: number;
  extraArgs?: string[];
  /** -key name value pairs usable as [name] in the scenario. */
  keys?: Record<string, string>;
  /** Run inside this network namespace (ip netns exec), bound to localIp there. */
  netns?: string;
  /** The address SIPp binds and puts in its messages (default 127.0.0.1). */
  localIp?: string;
}

export interface SippProcess {
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code when SIPp exits (0 = every call succeeded). */
  readonly exited: Promise<number | null>;
  /** SIPp's message trace: every message it sent and received. */
  trace(): string;
  /** Received SIP messages (start line + headers + body) extracted from the trace. */
  received(): string[];
  /** Kills SIPp if still running and removes the temp dir. */
  stop(): Promise<void>;
}

export async function startSipp(o: SippOptions): Promise<SippProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'outcall-sipp-'));
  const messageFile = join(dir, 'messages.log');
  const args = [
    '-sf', o.scenario, '-i', o.localIp ?? '127.0.0.1', '-p', String(o.port), '-m', String(o.calls ?? 1),
    '-t', o.transport ?? 'u1', '-nostdin', '-trace_msg', '-message_file', messageFile,
    '-trace_err', '-error_file', join(dir, 'errors.log'), '-timeout', '60s', '-timeout_error',
    ...Object.entries(o.keys ?? {}).flatMap(([k, v]) => ['-key', k, v]),
    ...(o.extraArgs ?? []),
  ];
  const child = o.netns
    ? spawn('ip', ['netns', 'exec', o.netns, 'sipp', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const startup = Promise.race([
    waitForListen(o.port, o.transport === 't1' ? 'tcp' : 'udp', 5000, o.netns ? child.pid : undefined),
    exited.then((code) => {
      throw new Error(`sipp exited early (${code}): ${stderr}`);
    }),
  ]);
  try {
    await startup;
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const trace = (): string => (existsSync(messageFile) ? readFileSync(messageFile, 'utf8') : '');
  return {
    port: o.port,
    dir,
    child,
    exited,
    trace,
    received: () => parseTrace(trace()),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Splits SIPp's -trace_msg log into the messages it received. */
export function parseTrace(text: string): string[] {
  const out: string[] = [];
  const blocks = text.split(/\n(?=-{10,} )/);
  for (const b of blocks) {
    const m = /^-+ [^\n]*\n(UDP|TCP|TLS) message received \[\d+\] bytes :\n\n([\s\S]*)$/m.exec(b);
    if (m) out.push((m[2] ?? '').replace(/\r\n/g, '\n').trim());
  }
  return out;
}

/** Lists files SIPp wrote (debug aid for failing tests). */
export function sippFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Waits for SIPp to exit, failing after ms. */
export async function waitExit(p: SippProcess, ms = 15_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sipp did not exit within ${ms} ms; trace:\n${p.trace().slice(-3000)}`)), ms);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RelayedDatagram {
  readonly direction: 'to-peer' | 'to-client';
  readonly text: string;
  readonly dropped: boolean;
}

export interface UdpRelay {
  readonly port: number;
  readonly log: RelayedDatagram[];
  close(): Promise<void>;
}

/**
 * A one-socket UDP relay between our UA and a peer that can drop chosen datagrams (simulated loss).
 * `drop` sees each datagram before it is forwarded.
 */
export async function startUdpRelay(o: { peerPort: number; drop: (text: string, direction: RelayedDatagram['direction'], log: readonly RelayedDatagram[]) => boolean }): Promise<UdpRelay> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const log: RelayedDatagram[] = [];
  let client: { address: string; port: number } | undefined;
  socket.on('message', (buf, rinfo) => {
    const fromPeer = rinfo.port === o.peerPort && rinfo.address === '127.0.0.1';
    if (!fromPeer) client = { address: rinfo.address, port: rinfo.port };
    const direction = fromPeer ? 'to-client' : 'to-peer';
    const text = buf.toString('utf8');
    const dropped = o.drop(text, direction, log);
    log.push({ direction, text, dropped });
    if (dropped) return;
    if (fromPeer) {
      if (client) socket.send(buf, client.port, client.address);
    } else socket.send(buf, o.peerPort, '127.0.0.1');
  });
  return {
    port: socket.address().port,
    log,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** INVITEs SIPp received, with their time, Call-ID, our call id (X-Outcall-Call-Id), the From user and the top Via's host. */
export function invitesReceived(p: SippProcess) {
  const text = readFileSync(join(p.dir, 'messages.log'), 'utf8');
  const out: Array<{ at: number; sipCallId: string; callId: string; from: string; viaHost: string }> = [];
  for (const block of text.split(/\n(?=-{10,} )/)) {
    const head = /^-+ (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+)/.exec(block);
    if (!head || !/message received/.test(block) || !/\n\s*INVITE sip:/.test(block)) continue;
    const at = Date.parse(`${head[1]}T${head[2]!.slice(0, 12)}`);
    const sipCallId = /\nCall-ID:\s*(\S+)/i.exec(block)?.[1] ?? '';
    const callId = /\nX-Outcall-Call-Id:\s*(\S+)/i.exec(block)?.[1] ?? '';
    const from = /\nFrom:[^\n]*sip:([^@;>]+)/i.exec(block)?.[1] ?? '';
    const viaHost = /\nVia:\s*SIP\/2\.0\/\w+\s+([^:;\s]+)/i.exec(block)?.[1] ?? '';
    out.push({ at, sipCallId, callId, from, viaHost });
  }
  return out;
}
