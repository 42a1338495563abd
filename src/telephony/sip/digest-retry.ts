/**
 * The UAC's answer to a digest challenge (RFC 3261 §22.2), for the INVITE and for the requests we send
 * inside the dialog alike: a 401 carries WWW-Authenticate and is answered with Authorization, a 407
 * (from a proxy) carries Proxy-Authenticate and is answered with Proxy-Authorization. The caller sends
 * the request again as a new request (new branch, CSeq + 1, §22.2) with the header field this returns.
 */
import { parseChallenge, type DigestChallenge, type DigestClient, type DigestCredentials } from './digest.js';
import type { SipParseError } from './errors.js';
import type { HeaderField } from './headers.js';
import type { SipResponse } from './message.js';

/** One per request being retried: it counts the retries and remembers the nonce it answered. */
export class DigestRetry {
  private retries = 0;
  private lastNonce: string | undefined;

  constructor(
    /** The call's client: nonce counts (nc, RFC 7616 §3.4) run on across the call's requests. */
    private readonly digest: DigestClient,
    private readonly credentials: DigestCredentials | undefined,
    /** 1: answer one challenge. 2: also answer a second one if it says the nonce went stale. */
    private readonly maxRetries: number,
    private readonly onUnusable: (error: SipParseError) => void,
  ) {}

  /**
   * The header field to send the request again with, or undefined when the response stands: not a
   * 401/407, no credentials, no usable challenge, or the credentials were already refused. A second
   * challenge for the same nonce, or one that is not stale, means they are wrong (RFC 2617 §3.2.1 /
   * RFC 7616 §3.3 stale).
   */
  answer(res: SipResponse, method: string, uri: string, body: string): HeaderField | undefined {
    if (!this.credentials || (res.status !== 401 && res.status !== 407)) return undefined;
    const proxy = res.status === 407;
    const challenges: DigestChallenge[] = [];
    for (const v of res.headers.getAll(proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate')) {
      const c = parseChallenge(v);
      if (c.ok) challenges.push(c.value);
      else this.onUnusable(c.error);
    }
    // Prefer the strongest algorithm offered (RFC 8760 §2.4: several challenges in preference order).
    const ch = challenges.find((c) => c.algorithm.startsWith('SHA-256')) ?? challenges[0];
    if (!ch) return undefined;
    if (this.retries > 0 && (ch.nonce === this.lastNonce || !ch.stale)) return undefined;
    if (this.retries >= this.maxRetries) return undefined;
    this.retries++;
    this.lastNonce = ch.nonce;
    const value = this.digest.authorize(ch, this.credentials, method, uri, body);
    return { name: proxy ? 'Proxy-Authorization' : 'Authorization', value };
  }
}
