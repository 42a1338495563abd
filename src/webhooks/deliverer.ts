import type { AppContext } from '../app-context.js';
import { sql } from '../store/sql.js';
import { classify, RETRY_WINDOW_MS, retryDelayMs } from './backoff.js';
import { sendWebhook, type SendResult } from '../http-client/send.js';
import { signingSecrets } from './secrets.js';
import { signatureHeaders } from '../http-client/signing.js';
import { WEBHOOKS_CHANNEL } from '../store/channels.js';
import { topLevelMembers } from '../contract/json-scan.js';

interface DueDelivery {
  id: string;
  org_id: string;
  event_id: string;
  url: string;
  method: 'POST' | 'GET';
  attempts: number;
  created_at: Date;
  body: string;
}

export interface DelivererOptions {
  /** Per attempt, connect to last byte. */
  timeoutMs?: number;
  pollMs?: number;
  batchSize?: number;
  random?: () => number;
}

/**
 * A GET status callback carries the event as query parameters: `type`, `created_at`, then each
 * member of `data` (strings as their text, numbers, booleans, objects and arrays as the JSON text
 * they have in the body, so the metadata is the client's own bytes; null members left out).
 */
export function toQuery(body: string): string {
  const q = new URLSearchParams();
  for (const m of topLevelMembers(body)) {
    if (m.name === 'type' || m.name === 'created_at') q.set(m.name, JSON.parse(m.raw) as string);
  }
  const data = topLevelMembers(body).find((m) => m.name === 'data');
  for (const m of data ? topLevelMembers(data.raw) : []) {
    if (m.raw === 'null') continue;
    q.set(m.name, m.raw.startsWith('"') ? (JSON.parse(m.raw) as string) : m.raw);
  }
  return q.toString();
}

/**
 * What goes on the wire for one delivery, and what is signed: exactly what the receiver gets. POST:
 * the body. GET: the URL's own query (if it has one), `&`, the event's parameters, and the signature
 * covers that whole query string as sent (what follows `?` in the request line, undecoded); the
 * receiver passes it to its verifier as the payload.
 */
export function deliveryRequest(d: { url: string; method: 'POST' | 'GET'; body: string }): { url: string; body: string | undefined; signed: string } {
  if (d.method === 'POST') return { url: d.url, body: d.body, signed: d.body };
  const u = new URL(d.url);
  const own = u.search.slice(1);
  const event = toQuery(d.body);
  u.search = own ? `${own}&${event}` : event;
  // Read back: URL may percent-encode what it was given, and the signature must cover what is sent.
  return { url: u.toString(), body: undefined, signed: u.search.slice(1) };
}

/**
 * Delivers the outbox: claims due deliveries (SKIP LOCKED, with a lock that expires so a crashed
 * deliverer's work is picked up again), signs and sends each, and records the outcome. A delivery
 * is marked delivered only after a 2xx; failures are retried with backoff until the window ends.
 */
export class WebhookDeliverer {
  readonly #ctx: AppContext;
  readonly #timeoutMs: number;
  readonly #pollMs: number;
  readonly #batch: number;
  readonly #random: () => number;
  #timer: NodeJS.Timeout | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(ctx: AppContext, opts: DelivererOptions = {}) {
    this.#ctx = ctx;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#pollMs = opts.pollMs ?? 1_000;
    this.#batch = opts.batchSize ?? 32;
    this.#random = opts.random ?? Math.random;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#unlisten = await this.#ctx.db.listen(WEBHOOKS_CHANNEL, () => this.wake());
    this.#schedule();
    this.wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#unlisten?.();
    await this.#running;
  }

  /** Runs a pass now, or right after the current one (bursts of wake-ups coalesce). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.runOnce()
      .then(() => undefined, (err: unknown) => this.#ctx.logger?.error({ err }, 'webhook delivery pass failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.wake();
      this.#schedule();
    }, this.#pollMs);
    this.#timer.unref();
  }

  /** One pass: claim what is due and attempt each. Returns how many were attempted. */
  async runOnce(): Promise<number> {
    const now = this.#ctx.now();
    const lockUntil = new Date(now.getTime() + this.#timeoutMs + 30_000);
    const r = await this.#ctx.db.query<DueDelivery>(sql`
      with due as (
        select id from webhook_deliveries
        where (status = 'pending' or (status = 'delivering' and locked_until < ${now})) and next_attempt_at <= ${now}
        order by next_attempt_at limit ${this.#batch} for update skip locked
      ), claimed as (
        update webhook_deliveries d set status = 'delivering', locked_until = ${lockUntil},
          attempts = d.attempts + 1, last_attempt_at = ${now}
        from due where d.id = due.id
        returning d.id, d.org_id, d.event_id, d.url, d.method, d.attempts, d.created_at
      )
      select claimed.*, e.body from claimed join webhook_events e on e.id = claimed.event_id`);
    await Promise.all(r.rows.map((d) => this.#attempt(d)));
    return r.rows.length;
  }

  async #attempt(d: DueDelivery): Promise<void> {
    const secrets = await signingSecrets(this.#ctx, d.org_id);
    const timestamp = Math.floor(this.#ctx.now().getTime() / 1000);
    const req = deliveryRequest(d);
    const headers: Record<string, string> = { ...signatureHeaders(secrets, d.event_id, timestamp, req.signed) };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const result = await sendWebhook({ url: req.url, method: d.method }, headers, req.body, {
      timeoutMs: this.#timeoutMs,
      allowPrivate: this.#ctx.allowPrivateUrls,
    });
    await this.#record(d, result);
  }

  async #record(d: DueDelivery, result: SendResult): Promise<void> {
    const now = this.#ctx.now();
    const outcome = result.blocked
      ? ({ kind: 'give_up' } as const)
      : classify({ ...(result.status !== undefined ? { status: result.status } : {}), ...(result.retryAfterS !== undefined ? { retryAfterS: result.retryAfterS } : {}), networkError: result.error !== undefined });
    const code = result.status ?? null;
    const error = result.error ?? (code !== null && (code < 200 || code >= 300) ? `HTTP ${code}` : null);
    if (outcome.kind === 'delivered') {
      await this.#ctx.db.query(sql`update webhook_deliveries set status = 'delivered', delivered_at = ${now}, locked_until = null,
        last_status_code = ${code}, last_error = null where id = ${d.id} and status = 'delivering'`);
      return;
    }
    const delay = Math.max(retryDelayMs(d.attempts, this.#random), outcome.kind === 'retry' ? (outcome.minDelayMs ?? 0) : 0);
    const next = new Date(now.getTime() + delay);
    const windowEnds = d.created_at.getTime() + RETRY_WINDOW_MS;
    if (outcome.kind === 'give_up' || next.getTime() > windowEnds) {
      await this.#ctx.db.query(sql`update webhook_deliveries set status = 'failed', locked_until = null,
        last_status_code = ${code}, last_error = ${error} where id = ${d.id} and status = 'delivering'`);
      return;
    }
    await this.#ctx.db.query(sql`update webhook_deliveries set status = 'pending', locked_until = null, next_attempt_at = ${next},
      last_status_code = ${code}, last_error = ${error} where id = ${d.id} and status = 'delivering'`);
  }
}
