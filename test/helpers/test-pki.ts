/**
 * A throwaway PKI made with the openssl CLI in a temp dir: certificate authorities and server
 * certificates they sign (EC P-256, valid one day), for TLS peers in tests.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** The CA certificate, PEM. */
  readonly pem: string;
}

export interface TestServerCert {
  readonly certPath: string;
  readonly keyPath: string;
  readonly pem: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'outcall-pki-'));

  /** A self-signed CA (basicConstraints CA:TRUE, keyCertSign). */
  ca(name: string): TestCa {
    const certPath = join(this.dir, `${name}-ca.crt`);
    const keyPath = join(this.dir, `${name}-ca.key`);
    openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=Outcall test CA ${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', keyPath, '-out', certPath],
      this.dir,
    );
    return { name, certPath, keyPath, pem: readFileSync(certPath, 'utf8') };
  }

  /** A server certificate for `dnsName` (and `ip` when given: its only subjectAltNames), signed by `ca`. */
  server(ca: TestCa, dnsName: string, ip?: string): TestServerCert {
    const base = join(this.dir, `${dnsName}${ip ? `-${ip}` : ''}-by-${ca.name}`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${dnsName}`, '-keyout', `${base}.key`, '-out', `${base}.csr`], this.dir);
    writeFileSync(`${base}.ext`, `subjectAltName=DNS:${dnsName}${ip ? `,IP:${ip}` : ''}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
    openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial', '-days', '1', '-extfile', `${base}.ext`, '-out', `${base}.crt`], this.dir);
    return { certPath: `${base}.crt`, keyPath: `${base}.key`, pem: readFileSync(`${base}.crt`, 'utf8') };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
