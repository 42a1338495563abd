/**
 * Trunk registrations, on the control side of one worker. Every trunk with `register` is kept
 * registered by exactly one worker at a time: a lease on its trunk_registrations row, taken when
 * nobody holds it (or its holder stopped renewing) and renewed on every pass while this worker lives.
 * Two workers registering one trunk would each overwrite the other's Contact at the registrar (or
 * both be called), so the lease is the only way in. The media thread does the SIP work
 * (registration.ts); what it reports is written beside the lease, where the API reads it.
 */
import { createHash } from 'node:crypto';
import type { AppContext } from '../../app-context.js';
import type { TrunkRow } from '../../agents/trunks.js';
import { sql } from '../../store/sql.js';
import type { WorkerEvent } from '../protocol.js';
import type { MediaLink } from './call-dialer.js';

type RegistrationEvent = Extract<WorkerEvent, { type: 'registration' }>;

export interface RegistrationKeeperOptions {
  workerId: string;
  media: MediaLink;
  /** How often leases are renewed and new or changed trunks picked up (default 5 s). */
  intervalMs?: number;
  /** How long a lease outlives its last renewal (default 30 s): a dead worker's trunks move after this. */
  leaseMs?: number;
  /** The most trunks one worker registers (default 2000). */
  maxTrunks?: number;
}

/** What a registration was started with: a change (edited through the API) registers it again. */
function configHash(t: TrunkRow): string {
  return createHash('sha256')
    .update(JSON.stringify([t.host, t.port, t.transport, t.username, t.password_enc, t.registration_expires_s]))
    .digest('hex')
    .slice(0, 32);
}

export class RegistrationKeeper {
  /** Trunks this worker registers, with the settings each was started with. */
  readonly #held = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> = Promise.resolve();
  #stopped = false;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: AppContext,
    private readonly opts: RegistrationKeeperOptions,
  ) {}

  /** Trunk ids this worker registers now (tests, metrics). */
  get held(): string[] {
    return [...this.#held.keys()];
  }

  start(): void {
    void this.kick();
    this.#timer = setInterval(() => void this.kick(), this.opts.intervalMs ?? 5000);
    this.#timer.unref();
  }

  /** Runs a pass now (after the one running, if any). */
  kick(): Promise<void> {
    this.#pass = this.#pass
      .then(() => (this.#stopped ? undefined : this.#run()))
      .catch((err: unknown) => this.ctx.logger?.error({ err, workerId: this.opts.workerId }, 'trunk registration pass failed'));
    return this.#pass;
  }

  /** A media thread's report: kept beside this worker's lease (a report for a lease lost meanwhile is dropped). */
  onEvent(e: RegistrationEvent): void {
    if (!this.#held.has(e.trunkId)) return;
    if (e.gone) {
      // The thread that held it died: the next pass registers it again on a live one.
      this.#held.delete(e.trunkId);
      void this.kick();
    }
    const ts = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));
    this.#writes = this.#writes
      .then(() =>
        this.ctx.db.query(sql`update trunk_registrations set state = ${e.state}, expires_at = ${e.state === 'registered' ? ts(e.expiresAt) : null},
          last_error = ${e.state === 'registered' ? null : (e.lastError ?? null)}, last_success_at = coalesce(${ts(e.lastSuccessAt)}, last_success_at),
          updated_at = ${new Date(e.at)}
          where trunk_id = ${e.trunkId} and worker_id = ${this.opts.workerId}`),
      )
      .catch((err: unknown) => this.ctx.logger?.error({ err, trunkId: e.trunkId }, 'could not record a registration state'));
  }

  async #run(): Promise<void> {
    const now = this.ctx.now();
    const { workerId } = this.opts;
    await this.ctx.db.query(sql`insert into trunk_registrations (trunk_id)
      select id from trunks where register and deleted_at is null on conflict (trunk_id) do nothing`);
    // Ours, free, or left by a worker that stopped renewing. SKIP LOCKED: a row another worker is
    // claiming right now is theirs this time.
    const claimed = await this.ctx.db.transaction(async (tx) => {
      const ids = await tx.query<{ trunk_id: string }>(sql`select r.trunk_id from trunk_registrations r join trunks t on t.id = r.trunk_id
        where t.register and t.deleted_at is null
          and (r.worker_id = ${workerId} or r.worker_id is null or r.lease_expires_at is null or r.lease_expires_at < ${now})
        order by (r.worker_id = ${workerId}) desc nulls last, r.trunk_id
        limit ${this.opts.maxTrunks ?? 2000}
        for update of r skip locked`);
      const list = ids.rows.map((r) => r.trunk_id);
      if (list.length === 0) return [];
      await tx.query(sql`update trunk_registrations set worker_id = ${workerId},
        lease_expires_at = ${new Date(now.getTime() + (this.opts.leaseMs ?? 30_000))},
        state = case when worker_id is distinct from ${workerId} then 'registering' else state end
        where trunk_id = any(${list}::text[])`);
      const rows = await tx.query<TrunkRow>(sql`select * from trunks where id = any(${list}::text[])`);
      return rows.rows;
    });
    if (this.#stopped) return;
    for (const t of claimed) {
      const hash = configHash(t);
      if (this.#held.get(t.id) === hash) continue;
      if (!t.username) continue; // the API refuses register without one; a row edited by hand is skipped
      const password = t.password_enc && this.ctx.secrets ? this.ctx.secrets.decrypt(t.password_enc) : undefined;
      this.opts.media.send({
        type: 'register',
        trunkId: t.id,
        registrar: { host: t.host, port: t.port, transport: t.transport === 'tcp' ? 'tcp' : 'udp' },
        user: t.username,
        ...(password !== undefined ? { credentials: { username: t.username, password } } : {}),
        expiresS: t.registration_expires_s,
      });
      this.#held.set(t.id, hash);
    }
    // What is still ours, read without locks: a row skipped above because a write of ours held it
    // is still ours (its lease is renewed on the next pass).
    const mine = await this.ctx.db.query<{ trunk_id: string }>(sql`select r.trunk_id from trunk_registrations r join trunks t on t.id = r.trunk_id
      where r.worker_id = ${workerId} and t.register and t.deleted_at is null`);
    const keep = new Set(mine.rows.map((r) => r.trunk_id));
    // Turned off, deleted, or taken over by another worker after we missed renewals: let go.
    for (const id of [...this.#held.keys()]) {
      if (keep.has(id)) continue;
      this.#held.delete(id);
      this.opts.media.send({ type: 'unregister', trunkId: id });
      await this.ctx.db.query(sql`update trunk_registrations set worker_id = null, lease_expires_at = null, state = 'unregistered',
        expires_at = null, updated_at = ${now} where trunk_id = ${id} and worker_id = ${workerId}`);
    }
  }

  /** Removes this worker's bindings and frees its leases, so another worker can register at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#pass;
    for (const id of this.#held.keys()) this.opts.media.send({ type: 'unregister', trunkId: id });
    this.#held.clear();
    await this.#writes;
    await this.ctx.db.query(sql`update trunk_registrations set worker_id = null, lease_expires_at = null, state = 'unregistered',
      expires_at = null, updated_at = ${this.ctx.now()} where worker_id = ${this.opts.workerId}`);
  }
}
