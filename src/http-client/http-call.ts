/**
 * One HTTP exchange whose answer matters (an http tool, an inbound call's webhook): like a webhook
 * delivery (same connect-time SSRF guard, no redirects followed, a hard timeout), but the answer's
 * body is the point, so it is read, up to a cap. Its errors carry tool_* codes (the tools' catalog).
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { OutcallError } from '../errors.js';
import { BlockedAddressError, guardedLookup } from './send.js';
import { isPrivateAddress } from './url-guard.js';

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface HttpCallOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  maxBytes: number;
  signal: AbortSignal;
}

/** Resolves with any HTTP answer (2xx or not); rejects with an OutcallError (tool_*) when there is none. */
export function httpCall(
  target: { url: string; method: 'GET' | 'POST' },
  headers: Record<string, string>,
  body: string | undefined,
  o: HttpCallOptions,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      return reject(new OutcallError('tool_url_refused', `invalid tool URL ${JSON.stringify(target.url)}`));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return reject(new OutcallError('tool_url_refused', `tool URL must be http(s), got ${url.protocol}`));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // Literal addresses never go through DNS, so the lookup guard would not see them.
    if (isIP(host) && !o.allowPrivate && isPrivateAddress(host)) {
      return reject(new OutcallError('tool_url_refused', `private address ${host} refused (OUTCALL_ALLOW_PRIVATE_URLS is off)`));
    }
    if (o.signal.aborted) return reject(new OutcallError('tool_unavailable', 'the tool call was canceled'));
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const fail = (e: OutcallError) => {
      settle(() => reject(e));
      req.destroy();
    };
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(
      url,
      {
        method: target.method,
        headers: { 'user-agent': 'Outcall-Tools/1', ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
        lookup: guardedLookup(o.allowPrivate) as never,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > o.maxBytes) return fail(new OutcallError('tool_response_too_large', `the tool answered more than ${o.maxBytes} bytes`));
          chunks.push(c);
        });
        res.on('end', () =>
          settle(() =>
            resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }),
          ),
        );
        res.on('error', (err) => fail(new OutcallError('tool_http_error', `the tool's answer broke off: ${err.message}`)));
        // Closed before the end (a reset mid-body): no answer to use. After 'end' this is a no-op.
        res.on('close', () => fail(new OutcallError('tool_http_error', "the tool's answer broke off")));
      },
    );
    const timer = setTimeout(() => fail(new OutcallError('tool_timeout', `the tool did not answer within ${o.timeoutMs} ms`)), o.timeoutMs);
    const onAbort = () => fail(new OutcallError('tool_unavailable', 'the tool call was canceled'));
    o.signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) =>
      fail(
        err instanceof BlockedAddressError
          ? new OutcallError('tool_url_refused', `${err.message} (OUTCALL_ALLOW_PRIVATE_URLS is off)`)
          : new OutcallError('tool_http_error', `could not reach the tool: ${err.message}`),
      ),
    );
    if (body !== undefined) req.write(body);
    req.end();
  });
}
