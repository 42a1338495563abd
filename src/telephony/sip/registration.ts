/**
 * A registration with a carrier's registrar (RFC 3261 §10.2), kept alive for as long as it is wanted:
 * REGISTER with our Contact, answer the digest challenge (§22.2), honour the expiry the registrar
 * grants, refresh before it runs out, retry with backoff when it fails (RFC 5626 §4.5), keep the
 * NAT binding open between refreshes (RFC 5626 §3.5.1 CRLF keepalives) and follow the address the
 * registrar sees us at (the Via's received/rport, RFC 3581 §4) so that calls reach a host behind NAT.
 * stop() removes our binding (Expires: 0, §10.2.2) and never touches anyone else's.
 */
import { NamedTimers } from '../../time/named-timers.js';
import { makeRequest } from './builder.js';
import { ALLOW, type CallHost, type SipTarget } from './call-types.js';
import type { ClientTxEvent } from './client-transaction.js';
import { DigestClient, type DigestCredentials } from './digest.js';
import { DigestRetry } from './digest-retry.js';
import { SipHeaders, splitList, type HeaderField } from './headers.js';
import { newBranch, newCallId, newTag } from './ids.js';
import type { SipResponse } from './message.js';
import { defaultPort, toProtocol, type HostPort, type SipTransport } from './transport.js';
import { parseNameAddr } from './uri.js';

export type RegistrationState = 'registering' | 'registered' | 'failed' | 'unregistered';

export interface RegistrationStatus {
  readonly state: RegistrationState;
  /** Wall-clock ms when the binding runs out (registered only). */
  readonly expiresAtMs?: number;
  /** Why the last attempt failed (failed, or registering again after a failure). */
  readonly lastError?: string;
  /** Wall-clock ms of the last 2xx. */
  readonly lastSuccessAtMs?: number;
  /** The Contact the registrar holds for us. */
  readonly contact?: string;
}

export interface RegistrationOptions {
  /** The registrar (the trunk): REGISTER goes to sip:<host>[:port]. */
  readonly registrar: SipTarget;
  /** The user of our address-of-record, sip:<user>@<registrar host> (the trunk's username). */
  readonly user: string;
  readonly credentials?: DigestCredentials;
  /** Seconds asked for (the registrar may grant less, or ask for more with 423). */
  readonly expiresS: number;
  /** CRLF keepalive interval; default 25 s on UDP (NAT bindings often last 30 s), 120 s on streams (RFC 5626 §4.4.1). */
  readonly keepaliveMs?: number;
  /** Backoff after a failure (RFC 5626 §4.5): base 30 s, doubling, at most 1800 s, a random 50-100 % of it. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly random?: () => number;
  readonly onStatus: (status: RegistrationStatus) => void;
}

/** Refresh this long before the binding runs out (but never before half of it has passed). */
const REFRESH_MARGIN_S = 60;

export class Registration {
  readonly callId: string;
  private readonly timers: NamedTimers<'refresh' | 'retry' | 'keepalive'>;
  private readonly transport: SipTransport;
  private readonly dest: HostPort;
  private readonly digest = new DigestClient();
  private readonly fromTag = newTag();
  private readonly aor: string;
  private readonly requestUri: string;
  private cseq = 0;
  private expiresS: number;
  /** Where the registrar sees us (received/rport), once it differs from the transport's own address. */
  private publicAddress: HostPort | undefined;
  /** A Contact we registered before learning our public address: removed with the next REGISTER. */
  private staleContact: string | undefined;
  private failures = 0;
  private status: RegistrationStatus = { state: 'registering' };
  private stopped = false;
  private inFlight = false;

  constructor(
    private readonly host: CallHost,
    private readonly opts: RegistrationOptions,
  ) {
    const protocol = toProtocol(opts.registrar.transport ?? 'udp');
    const transport = host.transportFor(protocol);
    if (!transport) throw new TypeError(`no ${protocol} transport configured on this user agent`);
    if (!/^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$/.test(opts.user)) throw new TypeError('registration user is not a valid SIP user part');
    this.transport = transport;
    this.timers = new NamedTimers(host.clock);
    const port = opts.registrar.port ?? defaultPort(protocol);
    this.dest = { host: opts.registrar.host, port };
    const hostPart = `${opts.registrar.host}${opts.registrar.port !== undefined ? `:${port}` : ''}`;
    const transportParam = protocol === 'UDP' ? '' : `;transport=${protocol.toLowerCase()}`;
    // §10.2: the Request-URI names the registrar's domain, no user; To and From carry the AOR.
    this.requestUri = `sip:${hostPart}${transportParam}`;
    this.aor = `sip:${opts.user}@${hostPart}`;
    // §10.2: one Call-ID for every REGISTER this UA sends to this registrar, CSeq rising.
    this.callId = newCallId(transport.local.host);
    this.expiresS = opts.expiresS;
  }

  get current(): RegistrationStatus {
    return this.status;
  }

  /** stop() or abort() was called: it sends nothing more (but a removal's answer may be pending). */
  get ended(): boolean {
    return this.stopped;
  }

  start(): void {
    this.send();
    this.armKeepalive();
  }

  /** Removes our binding (Expires: 0) and stops refreshing; resolves when the registrar answered or gave up. */
  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    this.timers.clearAll();
    // A REGISTER still in flight may yet create a binding: remove it too.
    const wasBound = this.status.state === 'registered' || this.status.lastSuccessAtMs !== undefined || this.inFlight;
    this.setStatus({ state: 'unregistered' });
    if (!wasBound) return Promise.resolve();
    return new Promise((resolve) => this.transact(0, () => resolve()));
  }

  /**
   * Ends without signalling: the user agent is closing, or a new registration of the same contact
   * takes over (removing this one's binding would remove the new one's too, whichever lands last).
   */
  abort(): void {
    this.stopped = true;
    this.timers.clearAll();
  }

  private contactUri(): string {
    const at = this.publicAddress ?? this.transport.local;
    const t = this.transport.protocol === 'UDP' ? '' : `;transport=${this.transport.protocol.toLowerCase()}`;
    return `sip:${this.opts.user}@${at.host.includes(':') && !at.host.startsWith('[') ? `[${at.host}]` : at.host}:${at.port}${t}`;
  }

  private send(): void {
    if (this.stopped || this.inFlight) return;
    this.inFlight = true;
    this.timers.clear('refresh');
    this.timers.clear('retry');
    this.transact(this.expiresS, (res, error) => {
      this.inFlight = false;
      if (!this.stopped) this.onFinal(res, error);
    });
  }

  /**
   * One REGISTER, answered challenge included (a new request, CSeq + 1, §22.2). `done` gets the
   * final response, or undefined and why for a timeout or a transport failure (§8.1.3.1: 408 / 503).
   */
  private transact(expiresS: number, done: (res: SipResponse | undefined, error?: string) => void): void {
    const auth = new DigestRetry(this.digest, this.opts.credentials, 2, () => undefined);
    const attempt = (fields: readonly HeaderField[]): void =>
      this.sendRegister(expiresS, fields, (res, error) => {
        // A refresh overtaken by stop() is not retried: its binding would outlive the removal.
        const abandoned = this.stopped && expiresS > 0;
        const field = res && !abandoned ? auth.answer(res, 'REGISTER', this.requestUri, '') : undefined;
        if (field) attempt([field]);
        else done(res, error);
      });
    attempt([]);
  }

  private sendRegister(expiresS: number, auth: readonly HeaderField[], done: (res: SipResponse | undefined, error?: string) => void): void {
    const h = new SipHeaders();
    const t = this.transport;
    h.append('Via', `SIP/2.0/${t.protocol} ${t.local.host}:${t.local.port};branch=${newBranch()};rport`);
    h.append('Max-Forwards', '70');
    h.append('From', `<${this.aor}>;tag=${this.fromTag}`);
    h.append('To', `<${this.aor}>`);
    h.append('Call-ID', this.callId);
    h.append('CSeq', `${++this.cseq} REGISTER`);
    const contacts = [`<${this.contactUri()}>`];
    if (this.staleContact !== undefined && expiresS > 0) contacts.push(`<${this.staleContact}>;expires=0`);
    h.append('Contact', contacts.join(', '));
    h.append('Expires', String(expiresS));
    h.append('Allow', ALLOW);
    h.append('User-Agent', this.host.userAgentName);
    for (const a of auth) h.append(a.name, a.value);
    const req = makeRequest('REGISTER', this.requestUri, h);
    this.host.layer.sendRequest(req, t, this.dest, (ev: ClientTxEvent) => {
      if (ev.type === 'response') {
        if (ev.response.status >= 200) done(ev.response);
        return;
      }
      done(undefined, ev.type === 'timeout' ? 'the registrar did not answer (408, Timer F)' : `could not send REGISTER: ${ev.error.message}`);
    });
  }

  private onFinal(res: SipResponse | undefined, error: string | undefined): void {
    if (!res) {
      this.fail(error ?? 'no response', undefined);
      return;
    }
    if (res.status === 423) {
      // §10.2.8: Interval Too Brief: ask again with at least Min-Expires.
      const min = Number.parseInt(res.headers.get('Min-Expires') ?? '', 10);
      if (Number.isFinite(min) && min > this.expiresS && min <= 86_400) {
        this.expiresS = min;
        this.send();
        return;
      }
    }
    if (res.status >= 300) {
      const why = res.status === 401 || res.status === 407 ? `${res.status} ${res.reason}: the registrar refused the trunk's credentials` : `${res.status} ${res.reason}`;
      this.fail(why, retryAfterMs(res));
      return;
    }
    this.onRegistered(res);
  }

  private onRegistered(res: SipResponse): void {
    const now = this.host.clock.wallClockMs();
    const mine = this.contactUri();
    let granted: number | undefined;
    for (const value of res.headers.getAll('Contact')) {
      for (const item of splitList(value)) {
        const c = parseNameAddr(item);
        if (!c.ok) continue;
        const u = c.value.uri;
        if (u.user === this.opts.user && sameHost(u.host, this.publicAddress?.host ?? this.transport.local.host) && (u.port ?? 5060) === (this.publicAddress ?? this.transport.local).port) {
          const e = Number.parseInt(c.value.params.get('expires') ?? '', 10);
          if (Number.isFinite(e)) granted = e;
        }
      }
    }
    // §10.2.4: the registrar's word is the Contact's expires, else the Expires header, else what we asked.
    if (granted === undefined) {
      const e = Number.parseInt(res.headers.get('Expires') ?? '', 10);
      granted = Number.isFinite(e) ? e : this.expiresS;
    }
    this.failures = 0;
    this.staleContact = undefined;
    // RFC 3581 §4: received/rport say where the registrar saw us. Behind a NAT that is not our own
    // address, and calls sent to our own address would never arrive: register the address it saw.
    const seen = viaSeen(res, this.transport.local);
    if (seen && (seen.host !== (this.publicAddress ?? this.transport.local).host || seen.port !== (this.publicAddress ?? this.transport.local).port)) {
      this.staleContact = mine;
      this.publicAddress = seen;
      this.setStatus({ state: 'registering', lastSuccessAtMs: now });
      this.send();
      return;
    }
    if (granted <= 0) {
      this.fail('the registrar kept no binding for our contact', undefined);
      return;
    }
    // Calls and answers towards this peer carry the address it sees us at in their Contact, so its
    // in-dialog requests (ACK, BYE) come back through the NAT too.
    this.host.learnSeenAs(this.dest.host, this.transport, this.publicAddress);
    this.setStatus({ state: 'registered', expiresAtMs: now + granted * 1000, lastSuccessAtMs: now, contact: mine });
    const refreshS = Math.max(granted / 2, granted - REFRESH_MARGIN_S);
    this.timers.set('refresh', refreshS * 1000, () => this.send());
  }

  private fail(why: string, retryAfter: number | undefined): void {
    this.failures++;
    const base = this.opts.retryBaseMs ?? 30_000;
    const max = this.opts.retryMaxMs ?? 1_800_000;
    const ceiling = Math.min(max, base * 2 ** (this.failures - 1));
    // RFC 5626 §4.5: a random wait between half and all of the ceiling, so many UAs do not retry in step.
    const wait = Math.max(retryAfter ?? 0, ceiling * (0.5 + 0.5 * (this.opts.random ?? Math.random)()));
    this.setStatus({ state: 'failed', lastError: why, ...(this.status.lastSuccessAtMs !== undefined ? { lastSuccessAtMs: this.status.lastSuccessAtMs } : {}) });
    this.timers.set('retry', wait, () => this.send());
  }

  private armKeepalive(): void {
    const every = this.opts.keepaliveMs ?? (this.transport.reliable ? 120_000 : 25_000);
    if (every <= 0) return;
    this.timers.set('keepalive', every, () => {
      // RFC 5626 §3.5.1: a double CRLF keeps the NAT binding (and the connection) open; the
      // registrar ignores it (§7.5 allows CRLFs before a message).
      if (this.status.state === 'registered') this.transport.send(Buffer.from('\r\n\r\n'), this.dest).catch(() => undefined);
      this.armKeepalive();
    });
  }

  private setStatus(s: RegistrationStatus): void {
    const lastSuccess = s.lastSuccessAtMs ?? this.status.lastSuccessAtMs;
    this.status = { ...s, ...(lastSuccess !== undefined ? { lastSuccessAtMs: lastSuccess } : {}) };
    this.opts.onStatus(this.status);
  }
}

function sameHost(a: string, b: string): boolean {
  const n = (h: string) => h.replace(/^\[|\]$/g, '').toLowerCase();
  return n(a) === n(b);
}

/** Where the top Via says the registrar saw the request come from (received, rport), if it says. */
function viaSeen(res: SipResponse, local: HostPort): HostPort | undefined {
  const via = res.core.vias[0];
  if (!via) return undefined;
  const received = via.params.get('received');
  const rport = Number.parseInt(via.params.get('rport') ?? '', 10);
  if (received === undefined && !Number.isFinite(rport)) return undefined;
  return { host: received ?? local.host, port: Number.isFinite(rport) ? rport : local.port };
}

/** Retry-After (RFC 3261 §20.33) in ms, if the response has one. */
function retryAfterMs(res: SipResponse): number | undefined {
  const v = Number.parseInt(res.headers.get('Retry-After') ?? '', 10);
  return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
}
