import { isIP } from 'node:net';
import { OutcallError } from '../errors.js';

/**
 * SSRF guard for URLs the platform will call (callbacks, tools). Refuses loopback, private,
 * link-local, CGNAT, unspecified and cloud-metadata addresses unless the operator allows private
 * URLs (OUTCALL_ALLOW_PRIVATE_URLS). At creation this checks literal addresses and local host names;
 * delivery re-checks the resolved address, because DNS can change between the two.
 */
export function isPrivateAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 4) return isPrivateV4(ip);
  if (v === 6) {
    const lower = ip.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isPrivateV4(mapped[1] as string);
    return (
      lower === '::' ||
      lower === '::1' ||
      /^f[cd][0-9a-f]{2}:/.test(lower) || // fc00::/7 unique local
      /^fe[89ab][0-9a-f]:/.test(lower) || // fe80::/10 link-local
      lower.startsWith('fd00:ec2::') // AWS metadata over IPv6 (inside fc00::/7 too)
    );
  }
  return false;
}

function isPrivateV4(ip: string): boolean {
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return (
    a === 0 || // "this" network
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT 100.64/10
    (a === 169 && b === 254) || // link-local, incl. 169.254.169.254 metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) || // benchmarking 198.18/15
    a >= 224 // multicast and reserved
  );
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain)$/i;

/** Throws private_url_not_allowed if the URL's host is a private literal or a local name. */
export function assertPublicUrl(url: string, param: string, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isPrivateAddress(host) || LOCAL_NAMES.test(host) || host === 'metadata.google.internal') {
    throw new OutcallError(
      'private_url_not_allowed',
      `"${param}" points to a private or local address (${host}); set OUTCALL_ALLOW_PRIVATE_URLS=true to allow it`,
      param,
    );
  }
}
