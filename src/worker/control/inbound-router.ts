/**
 * Inbound calls, on the control side: a media thread reports an INVITE it holds (`incoming`, 180
 * already sent); this finds who answers it and either refuses it or records the call (ringing,
 * direction inbound, held by this worker) and has the dialer answer it with the number's agent.
 *
 * Who may call in: the INVITE must come from the trunk the dialed number belongs to (its host, what
 * that host resolves to, or one of its inbound_addresses ranges); anything else is 403 Forbidden, whatever it dials, so a
 * scanner learns nothing about which numbers exist. From a trunk, a number that is not ours or has
 * no inbound agent is 404. Over the agent's, trunk's or organization's concurrent-call limit the call
 * is recorded failed / over_limit and the caller hears 486 Busy Here.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { AppContext } from '../../app-context.js';
import { inRanges } from '../../agents/address-ranges.js';
import { optionsFrom } from '../../calls/call-object.js';
import { askInboundWebhook, INBOUND_WEBHOOK_TIMEOUT_MS, type InboundAnswer } from '../../calls/inbound-webhook.js';
import { checkHearing } from '../../calls/hearing.js';
import { checkAdmissionNow, limitKeys, lockLimitKeys, readCallLimits } from '../../calls/limits.js';
import { transitionCall } from '../../calls/transitions.js';
import { readHeldCall } from '../../dispatch/claim.js';
import type { ClaimedCall } from '../../dispatch/types.js';
import { newId } from '../../ids.js';
import { findAgentRow } from '../../store/agent-rows.js';
import { sql } from '../../store/sql.js';
import type { WorkerEvent } from '../protocol.js';
import type { MediaLink } from './call-dialer.js';
import { DigestVerifier } from '../../telephony/sip/digest-server.js';

type Incoming = Extract<WorkerEvent, { type: 'incoming' }>;

/** What the router needs of the worker it serves. */
export interface InboundHost {
  workerId: string;
  leaseMs: number;
  media: MediaLink;
  /** Answers the recorded call on the held INVITE; settles when the call has ended. */
  answer(call: ClaimedCall, inviteId: string): Promise<void>;
  /** Keeps the call's lease while it lives (the dispatcher's heartbeat). */
  adopt(callId: string, done: Promise<void>): void;
}

/** The E.164 spellings a Request-URI or To user may stand for: "+14155550123", "14155550123". */
export function numberCandidates(users: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of users) {
    // RFC 3966 visual separators may appear in a telephone-subscriber user part.
    const u = decodeURIComponentSafe(raw).replace(/[-.() ]/g, '');
    if (/^\+[1-9]\d{5,14}$/.test(u)) out.add(u);
    else if (/^[1-9]\d{5,14}$/.test(u)) out.add(`+${u}`);
  }
  return [...out];
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A trunk host's addresses, resolved at most once per TTL (a DNS name's addresses may change). */
class HostAddresses {
  readonly #cache = new Map<string, { at: number; addresses: string[] }>();
  constructor(private readonly ttlMs = 60_000) {}

  async matches(host: string, address: string): Promise<boolean> {
    const norm = (a: string) => a.replace(/^::ffff:/i, '').toLowerCase();
    if (isIP(host)) return norm(host) === norm(address);
    const hit = this.#cache.get(host);
    let addresses = hit && Date.now() - hit.at < this.ttlMs ? hit.addresses : undefined;
    if (!addresses) {
      try {
        addresses = (await lookup(host, { all: true })).map((a) => norm(a.address));
      } catch {
        addresses = [];
      }
      this.#cache.set(host, { at: Date.now(), addresses });
    }
    return addresses.includes(norm(address));
  }
}

interface NumberRow {
  phone_number_id: string;
  org_id: string;
  number: string;
  inbound_agent_id: string | null;
  trunk_id: string;
  host: string;
  inbound_addresses: string[];
  username: string | null;
  password_enc: string | null;
  inbound_webhook_url: string | null;
  inbound_webhook_timeout_ms: number | null;
}

export class InboundRouter {
  readonly #hosts = new HostAddresses();
  /** Challenges and checks the digest answers of callers not on a trunk's address (realm "outcall"). */
  readonly #digest = new DigestVerifier('outcall');
  #stopping = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly host: InboundHost,
  ) {}

  /** No new inbound call is answered (a stopping worker): 503, so the carrier tries another. */
  stop(): void {
    this.#stopping = true;
  }

  route(e: Incoming): void {
    void this.#route(e).catch((err: unknown) => {
      this.ctx.logger?.error({ err, inviteId: e.inviteId }, 'could not route an inbound call');
      this.#reject(e, 500, 'Server Internal Error');
    });
  }

  #reject(e: Incoming, status: number, reason: string, o: { headers?: Array<{ name: string; value: string }>; strike?: boolean } = {}): void {
    this.ctx.metrics.inboundRefused.inc({ status: String(status), where: 'router' });
    try {
      this.host.media.send({ type: 'reject', inviteId: e.inviteId, status, reason, ...o });
    } catch (err) {
      // The thread holding it is gone: so is the INVITE.
      this.ctx.logger?.warn({ err, inviteId: e.inviteId }, 'could not refuse an inbound call');
    }
  }

  async #route(e: Incoming): Promise<void> {
    if (this.#stopping) return this.#reject(e, 503, 'Service Unavailable');
    const candidates = numberCandidates([e.dialed, e.toUser]);
    const rows =
      candidates.length === 0
        ? []
        : (
            await this.ctx.db.query<NumberRow>(sql`select pn.id as phone_number_id, pn.org_id, pn.number, pn.inbound_agent_id, pn.inbound_webhook_url, pn.inbound_webhook_timeout_ms, t.id as trunk_id, t.host, t.inbound_addresses,
                t.username, t.password_enc
              from phone_numbers pn join trunks t on t.org_id = pn.org_id and t.id = pn.trunk_id and t.deleted_at is null
              where pn.deleted_at is null and pn.number = any(${candidates}::text[])`)
          ).rows;
    const fromTrunk: NumberRow[] = [];
    for (const r of rows) if (await this.#fromTrunk(r, e.source.address)) fromTrunk.push(r);
    if (fromTrunk.length === 0) {
      // Not from a trunk's address: a trunk with credentials admits a caller that proves them (a
      // PBX, or a carrier signalling from addresses not listed).
      const verdict = this.#digestAdmits(rows, e);
      if (verdict.admitted) fromTrunk.push(verdict.admitted);
      else {
        // A trunk dialing a number we do not have: 404. Anyone else: challenged when the number's
        // trunk has credentials, else 403, whether the number exists or not.
        const trunkAsking = rows.length === 0 && (await this.#fromAnyTrunk(e.source.address));
        if (trunkAsking) return this.#reject(e, 404, 'Not Found');
        if (verdict.challenge) {
          return this.#reject(e, 401, 'Unauthorized', { headers: this.#digest.challenge(verdict.challenge === 'stale').map((value) => ({ name: 'WWW-Authenticate', value })) });
        }
        return this.#reject(e, 403, 'Forbidden');
      }
    }
    // The Request-URI's number first, then To's.
    const pick = candidates.map((c) => fromTrunk.find((r) => r.number === c)).find((r) => r !== undefined && r.inbound_agent_id !== null);
    if (!pick || pick.inbound_agent_id === null) return this.#reject(e, 404, 'Not Found');
    let agent = await findAgentRow(this.ctx.db, pick.org_id, pick.inbound_agent_id);
    if (!agent || agent.kind !== 'voice') return this.#reject(e, 404, 'Not Found');
    const id = newId('call');
    // The number's webhook may personalise the call (or hand it to another agent) while it rings.
    let personal: InboundAnswer = {};
    let lookup: Record<string, unknown> | undefined;
    if (pick.inbound_webhook_url) {
      const l = await askInboundWebhook(this.ctx, pick.inbound_webhook_url, pick.inbound_webhook_timeout_ms ?? INBOUND_WEBHOOK_TIMEOUT_MS, {
        callId: id,
        orgId: pick.org_id,
        from: e.from,
        callerName: e.callerName,
        to: pick.number,
        phoneNumberId: pick.phone_number_id,
        agentId: agent.id,
      });
      lookup = l.ok ? { ms: l.ms } : { ms: l.ms, error: l.error };
      if (l.ok) personal = l.answer;
      if (personal.agentId !== undefined && personal.agentId !== agent.id) {
        const other = await findAgentRow(this.ctx.db, pick.org_id, personal.agentId);
        if (other && other.kind === 'voice') agent = other;
        else lookup = { ...lookup, error: `agent_id ${personal.agentId} is not a voice agent of this organization; the number's agent answers` };
      }
      if (!l.ok) this.ctx.logger?.warn({ inviteId: e.inviteId, callId: id, error: l.error }, 'inbound webhook failed; the call goes on with the defaults');
    }
    const chosen = agent;
    try {
      // Edited since it was given the number (or named by the webhook): an agent that cannot hear
      // the caller does not answer. 480: the number exists, but nobody can take the call now.
      checkHearing(chosen, 'inbound_agent_id');
    } catch (err) {
      this.ctx.logger?.warn({ inviteId: e.inviteId, agentId: chosen.id, err: (err as Error).message }, 'inbound call refused: its agent cannot hear the caller');
      return this.#reject(e, 480, 'Temporarily Unavailable');
    }
    const now = this.ctx.now();
    const lease = new Date(now.getTime() + this.host.leaseMs);
    const outcome = await this.ctx.db.transaction(async (tx) => {
      const limits = await readCallLimits(tx, pick.org_id, chosen.id, pick.trunk_id);
      if (limits) await lockLimitKeys(tx, limitKeys(limits));
      // Only concurrency limits an inbound call: calls-per-second paces what we dial.
      const admission = limits ? await checkAdmissionNow(tx, { ...limits, agentCps: null, trunkCps: null }, now) : { ok: true as const };
      const options = optionsFrom({ to: e.from }, chosen.webhook_url);
      await tx.query(sql`insert into calls
        (id, org_id, agent_id, agent_name, trunk_id, phone_number_id, to_address, from_number, status, direction, options,
         metadata, call_context, dynamic_variables, scheduled_at, created_at, worker_id, lease_expires_at)
        values (${id}, ${pick.org_id}, ${chosen.id}, ${chosen.name}, ${pick.trunk_id}, ${pick.phone_number_id}, ${pick.number},
          ${e.from || 'anonymous'}, 'ringing', 'inbound', ${JSON.stringify(options)}, ${personal.metadataJson ?? null},
          ${personal.callContext ?? null}, ${JSON.stringify(personal.dynamicVariables ?? {})}, ${now}, ${now}, ${this.host.workerId}, ${lease})`);
      const data = { worker_id: this.host.workerId, source: e.source.address, ...(lookup ? { inbound_webhook: lookup } : {}) };
      await tx.query(sql`insert into call_events (org_id, call_id, from_status, to_status, terminal, at, data)
        values (${pick.org_id}, ${id}, null, 'ringing', false, ${now}, ${JSON.stringify(data)})`);
      if (!admission.ok) {
        await transitionCall(tx, {
          orgId: pick.org_id,
          callId: id,
          to: 'failed',
          at: now,
          facts: { endReason: 'over_limit', sipStatusCode: 486, errorMessage: `refused: over the ${admission.reason.replace('_', "'s ")} limit` },
        });
        await tx.query(sql`update calls set lease_expires_at = null where org_id = ${pick.org_id} and id = ${id}`);
        return 'over_limit' as const;
      }
      return readHeldCall(tx, pick.org_id, id, this.host.workerId, lease);
    });
    if (outcome === 'over_limit') return this.#reject(e, 486, 'Busy Here');
    if (!outcome) throw new Error(`inbound call ${id} vanished after it was written`);
    const call: ClaimedCall = { ...outcome, inbound: true };
    this.host.adopt(call.id, this.host.answer(call, e.inviteId));
  }

  /**
   * Digest authentication (RFC 3261 §22.4) for an INVITE from an address no trunk of the dialed number
   * lists: admitted when its Authorization proves the credentials of the number's trunk; challenged
   * (401) when it carries no answer yet or its nonce expired; otherwise refused (403). A number whose
   * trunk has no credentials is 403 at once.
   */
  #digestAdmits(rows: NumberRow[], e: Incoming): { admitted?: NumberRow; challenge?: 'fresh' | 'stale' } {
    const secrets = this.ctx.secrets;
    const withCreds = secrets ? rows.filter((r) => r.username !== null && r.password_enc !== null) : [];
    if (withCreds.length === 0 || !secrets) return {};
    let challenge: 'fresh' | 'stale' | undefined = 'fresh';
    for (const r of withCreds) {
      const v = this.#digest.verify(e.authorization, 'INVITE', { username: r.username as string, password: secrets.decrypt(r.password_enc as string) });
      if (v.kind === 'ok') return { admitted: r };
      if (v.kind === 'stale') challenge = 'stale';
      else if (v.kind === 'bad' && challenge === 'fresh') challenge = undefined;
    }
    return challenge ? { challenge } : {};
  }

  /** Whether a request from `address` comes from the trunk: its host, or one of its inbound_addresses. */
  async #fromTrunk(t: { host: string; inbound_addresses: string[] }, address: string): Promise<boolean> {
    return inRanges(t.inbound_addresses, address) || (await this.#hosts.matches(t.host, address));
  }

  /** Whether the address is any trunk's (a number we do not have is then 404, not 403). */
  async #fromAnyTrunk(address: string): Promise<boolean> {
    const r = await this.ctx.db.query<{ host: string; inbound_addresses: string[] }>(sql`select distinct host, inbound_addresses from trunks where deleted_at is null`);
    for (const row of r.rows) if (await this.#fromTrunk(row, address)) return true;
    return false;
  }
}
