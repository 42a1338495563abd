import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { isPrivateAddress } from './url-guard.js';

export interface SendResult {
  status?: number;
  retryAfterS?: number;
  /** Set when no HTTP answer came: refused, reset, timeout, DNS failure, or blocked address. */
  error?: string;
  /** The address was refused by the SSRF guard: a final failure, not a network hiccup. */
  blocked?: boolean;
}

export class BlockedAddressError extends Error {}

/**
 * A DNS lookup that refuses private addresses. It runs when the socket connects, so the address
 * checked is the address used: a DNS answer that changes after the URL was accepted (rebinding)
 * cannot slip a private address through.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: object, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      const bad = list.find((a) => isPrivateAddress(a.address));
      if (!allowPrivate && bad) return callback(new BlockedAddressError(`${hostname} resolves to private address ${bad.address}`), '', 0);
      if ((options as { all?: boolean }).all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`no address for ${hostname}`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** One HTTP attempt with a hard timeout; reads at most a few KB of the answer. */
export function sendWebhook(
  target: { url: string; method: 'POST' | 'GET' },
  headers: Record<string, string>,
  body: string | undefined,
  opts: { timeoutMs: number; allowPrivate: boolean },
): Promise<SendResult> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      resolve({ error: 'invalid URL', blocked: true });
      return;
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !opts.allowPrivate && isPrivateAddress(host)) {
      resolve({ error: `private address ${host} refused`, blocked: true });
      return;
    }
    const mod = url.protocol === 'https:' ? https : http;
    let done = false;
    const finish = (r: SendResult) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        resolve(r);
      }
    };
    const req = mod.request(
      url,
      {
        method: target.method,
        headers: { 'user-agent': 'Outcall-Webhooks/1', ...headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) },
        lookup: guardedLookup(opts.allowPrivate) as never,
        agent: false,
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > 8192) res.destroy();
        });
        const ra = Number(res.headers['retry-after']);
        const answer: SendResult = { status: res.statusCode ?? 0, ...(Number.isFinite(ra) && ra >= 0 ? { retryAfterS: ra } : {}) };
        res.on('end', () => finish(answer));
        res.on('close', () => finish(answer));
        res.on('error', () => finish(answer));
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    req.on('error', (err) => finish({ error: err.message, blocked: err instanceof BlockedAddressError }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}
