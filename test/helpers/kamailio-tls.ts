/**
 * kamailio with its TLS module as the TLS front of a SIPp UAS (test/fixtures/tls/kamailio-tls-front.cfg),
 * run as our child like test/helpers/kamailio.ts. The TLS module is a package of its own
 * (kamailio-tls-modules): missing in CI is a failure, elsewhere a skip.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KamailioProcess } from './kamailio.js';
import { havePeer, waitForListen } from './sipp.js';

const MODULE_DIRS = ['/usr/lib/x86_64-linux-gnu/kamailio/modules', '/usr/lib/aarch64-linux-gnu/kamailio/modules', '/usr/lib/kamailio/modules', '/usr/local/lib64/kamailio/modules'];

/** kamailio's module folder when kamailio and its TLS module are installed (CI=true: throws otherwise). */
export function kamailioTlsModules(): string | undefined {
  if (!havePeer('kamailio')) return undefined;
  const dir = MODULE_DIRS.find((d) => existsSync(join(d, 'tls.so')));
  if (!dir && process.env.CI === 'true') throw new Error('kamailio tls.so is required in CI but not installed (apt-get install kamailio-tls-modules; scripts/setup-test-env.sh)');
  return dir;
}

export interface KamailioTlsOptions {
  modules: string;
  tlsPort: number;
  udpPort: number;
  uasPort: number;
  certPath: string;
  keyPath: string;
}

export async function startKamailioTls(o: KamailioTlsOptions, template: string): Promise<KamailioProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'outcall-kamailio-tls-'));
  const tlsCfg = join(dir, 'tls.cfg');
  // The server presents the test's certificate; it asks nothing of clients (we connect with none).
  writeFileSync(tlsCfg, `[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\nprivate_key = ${o.keyPath}\ncertificate = ${o.certPath}\n\n[client:default]\nverify_certificate = no\nrequire_certificate = no\n`);
  const fill: Record<string, string> = { TLS_PORT: String(o.tlsPort), UDP_PORT: String(o.udpPort), UAS_PORT: String(o.uasPort), MODULES: o.modules, TLS_CFG: tlsCfg };
  const cfg = readFileSync(template, 'utf8').replace(/@@([A-Z_]+)@@/g, (_, k: string) => {
    const v = fill[k];
    if (v === undefined) throw new Error(`unknown placeholder ${k}`);
    return v;
  });
  const cfgPath = join(dir, 'kamailio.cfg');
  writeFileSync(cfgPath, cfg);
  const child = spawn('kamailio', ['-f', cfgPath, '-P', join(dir, 'kamailio.pid'), '-E', '-DD', '-Y', dir, '-w', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await Promise.race([
      Promise.all([waitForListen(o.tlsPort, 'tcp'), waitForListen(o.udpPort, 'udp')]),
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
    port: o.tlsPort,
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
