/**
 * A trunk's CA bundle (tls_ca_pem): checked when it is written, so a call never finds out at dial
 * time that its trust anchors do not parse. Only CERTIFICATE blocks are allowed (a private key pasted
 * by mistake is refused, never stored); text between blocks (the "# Subject:" comments of common
 * bundles) is ignored. Each block must be an X.509 certificate Node can load.
 */
import { X509Certificate } from 'node:crypto';
import { OutcallError } from '../errors.js';

/** At most this many certificates in one bundle. */
export const TLS_CA_MAX_CERTIFICATES = 50;

export interface CaSummary {
  subject: string;
  fingerprint_sha256: string;
  not_after: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

function refuse(message: string): never {
  throw new OutcallError('invalid_tls_ca', message, 'tls_ca_pem');
}

/** The certificates of a bundle, or 422 invalid_tls_ca saying what is wrong with it. */
export function parseCaBundle(pem: string): X509Certificate[] {
  const certs: X509Certificate[] = [];
  for (const m of pem.matchAll(BLOCK)) {
    const label = m[1] ?? '';
    if (label !== 'CERTIFICATE') refuse(`tls_ca_pem may hold only CERTIFICATE blocks; found a ${label} block (never send a private key)`);
    if (certs.length === TLS_CA_MAX_CERTIFICATES) refuse(`tls_ca_pem holds more than ${TLS_CA_MAX_CERTIFICATES} certificates`);
    try {
      certs.push(new X509Certificate(m[0]));
    } catch (err) {
      refuse(`certificate ${certs.length + 1} of tls_ca_pem does not parse: ${(err as Error).message}`);
    }
  }
  if (certs.length === 0) refuse('tls_ca_pem holds no PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)');
  // A BEGIN without its END would otherwise be skipped silently.
  const begins = pem.match(/-----BEGIN /g)?.length ?? 0;
  if (begins !== certs.length) refuse('tls_ca_pem has a PEM block that is not closed by its matching END line');
  return certs;
}

/** The bundle's certificates as the trunk shows them (the PEM text itself is not returned). */
export function summarizeCaBundle(pem: string | null): CaSummary[] {
  if (pem === null) return [];
  // Stored bundles were checked on write; one that no longer parses is shown as empty rather than failing reads.
  try {
    return parseCaBundle(pem).map((c) => ({ subject: c.subject.replace(/\n/g, ', '), fingerprint_sha256: c.fingerprint256, not_after: c.validTo }));
  } catch {
    return [];
  }
}
