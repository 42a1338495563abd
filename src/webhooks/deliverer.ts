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
  /** Deliveries one runOnce() claims (tests); the background loop claims what `concurrency` leaves free. */
  batchSize?: number;
  /** Attempts in flight at once in this process (default 128): what bounds the outbox in memory. */
  concurrency?: number;
  /**
   * Attempts in flight at once to one endpoint (a callback URL), counted over every deliverer sharing
   * the store (default 16). A receiver that answers slowly or hangs holds at most this many; the rest
   * of the slots keep serving everyone else's endpoints.
   */
  perEndpoint?: number;
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
 *
 * Each attempt runs on its own: a slot that frees claims the next due delivery at once, so one slow
 * or hanging receiver (up to timeoutMs per attempt) never holds up the others' deliveries, and no
 * endpoint gets more than `perEndpoint` attempts in flight, whatever its backlog (claimed in
 * next-attempt order within each endpoint).
 */
export class WebhookDeliverer {
  readonly #ctx: AppContext;
  readonly #timeoutMs: number;
  readonly #pollMs: number;
  readonly #batch: number;
  readonly #concurrency: number;
  readonly #perEndpoint: number;
  readonly #random: () => number;
  /** Attempts started by the background loop and not yet recorded. */
  readonly #inFlight = new Set<Promise<void>>();
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
    this.#concurrency = Math.max(1, opts.concurrency ?? 128);
    this.#perEndpoint = Math.max(1, opts.perEndpoint ?? 16);
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
    await Promise.all(this.#inFlight);
  }

  /** Runs a pass now, or right after the current one (bursts of wake-ups coalesce). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#fill()
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

  /** Claims what is due into the free slots and starts each attempt; a finished attempt wakes the next pass. */
  async #fill(): Promise<void> {
    const free = this.#concurrency - this.#inFlight.size;
    if (free <= 0) return;
    for (const d of await this.#claim(free)) {
      const attempt: Promise<void> = this.#attempt(d)
        .catch((err: unknown) => this.#ctx.logger?.error({ err, delivery_id: d.id }, 'webhook delivery attempt failed'))
        .finally(() => {
          this.#inFlight.delete(attempt);
          this.wake();
        });
      this.#inFlight.add(attempt);
    }
  }

  /** One pass, waited for: claim what is due (up to batchSize) and attempt each. Returns how many were attempted. */
  async runOnce(): Promise<number> {
    const rows = await this.#claim(this.#batch);
    await Promise.all(rows.map((d) => this.#attempt(d)));
    return rows.length;
  }

  /**
   * Claims up to `limit` due deliveries, at most perEndpoint in flight per URL: those being attempted
   * now (by any deliverer: status delivering under a live lock) count against it, and within a URL
   * the earliest due go first.
   */
  async #claim(limit: number): Promise<DueDelivery[]> {
    const now = this.#ctx.now();
    const lockUntil = new Date(now.getTime() + this.#timeoutMs + 30_000);
    const r = await this.#ctx.db.query<DueDelivery>(sql`
      with busy as (
        select url, count(*) as n from webhook_deliveries
        where status = 'delivering' and locked_until >= ${now} group by url
      ), ranked as (
        select d.id, row_number() over (partition by d.url order by d.next_attempt_at, d.id) + coalesce(b.n, 0) as place
        from webhook_deliveries d left join busy b on b.url = d.url
        where (d.status = 'pending' or (d.status = 'delivering' and d.locked_until < ${now})) and d.next_attempt_at <= ${now}
      ), due as (
        select id from webhook_deliveries
        where id in (select id from ranked where place <= ${this.#perEndpoint})
        order by next_attempt_at limit ${limit} for update skip locked
      ), claimed as (
        update webhook_deliveries d set status = 'delivering', locked_until = ${lockUntil},
          attempts = d.attempts + 1, last_attempt_at = ${now}
        from due where d.id = due.id
        returning d.id, d.org_id, d.event_id, d.url, d.method, d.attempts, d.created_at
      )
      select claimed.*, e.body from claimed join webhook_events e on e.id = claimed.event_id`);
    return r.rows;
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
