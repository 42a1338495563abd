/**
 * Starts kamailio (the reference SHA-256 digest proxy config, ports rewritten to free ones) as our child.
 * -DD keeps the creator process attached so we own its PID; SIGTERM on it stops every worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForListen } from './sipp.js';

export interface KamailioProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything kamailio logged (-E: stderr). */
  log(): string;
  stop(): Promise<void>;
}

/** Rewrites the reference config: listen port and the SIPp relay target. */
export function kamailioConfig(reference: string, listenPort: number, uasPort: number): string {
  const cfg = reference
    .replace(/listen=udp:127\.0\.0\.1:\d+/, `listen=udp:127.0.0.1:${listenPort}`)
    .replace(/\$du = "sip:127\.0\.0\.1:\d+"/, `$du = "sip:127.0.0.1:${uasPort}"`);
  if (!cfg.includes(`:${listenPort}`) || !cfg.includes(`127.0.0.1:${uasPort}"`)) throw new Error('kamailio config rewrite failed');
  return cfg;
}

export async function startKamailio(o: { referenceCfg: string; port: number; uasPort: number }): Promise<KamailioProcess> {
  return startKamailioConfig(kamailioConfig(readFileSync(o.referenceCfg, 'utf8'), o.port, o.uasPort), o.port);
}

/** Starts kamailio with a whole config (which must listen on udp port), in network namespace `netns` if given. */
export async function startKamailioConfig(config: string, port: number, netns?: string): Promise<KamailioProcess> {
  const o = { port };
  const dir = mkdtempSync(join(tmpdir(), 'outcall-kamailio-'));
  const cfgPath = join(dir, 'kamailio.cfg');
  writeFileSync(cfgPath, config);
  const args = ['-f', cfgPath, '-P', join(dir, 'kamailio.pid'), '-E', '-DD', '-Y', dir, '-w', dir];
  // ip netns exec execs kamailio in place: the child's pid is kamailio's.
  const child = netns
    ? spawn('ip', ['netns', 'exec', netns, 'kamailio', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn('kamailio', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await Promise.race([
      waitForListen(o.port, 'udp', 5000, netns ? child.pid : undefined),
      exited.then((code) => {
        throw new Error(`kamailio exited early (${code}): ${log.slice(-2000)}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port: o.port,
    child,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The start of a kamailio config written by a test helper: core settings, the listen socket(s) and the
 * modules every such config routes with (transactions, record-route, pseudo-variables, textops).
 */
export function kamailioPreamble(o: { host: string; port: number; children?: number; tcp?: boolean }): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=${o.children ?? 1}
${o.tcp ? `listen=tcp:${o.host}:${o.port}` : 'disable_tcp=yes'}
listen=udp:${o.host}:${o.port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "maxfwd.so"
`;
}

/** The head of a request_route: hop limit, then in-dialog requests (record-routed) and CANCEL relayed. */
export const ROUTE_IN_DIALOG = `  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
    sl_send_reply("404", "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }`;
