/**
 * Transaction layer (RFC 3261 §17): creates client transactions, matches responses to them (§17.1.3),
 * matches requests to server transactions (§17.2.3) and hands everything else to the transaction user.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../time/clock.js';
import { InviteClientTransaction, NonInviteClientTransaction, type ClientTxEvent } from './client-transaction.js';
import { SipHeaders } from './headers.js';
import { MAGIC_COOKIE } from './ids.js';
import type { Logger } from './logger.js';
import { serializeVia, type SipMessage, type SipRequest, type SipResponse, type Via } from './message.js';
import { buildResponse, responseDestination } from './builder.js';
import { serializeMessage } from './serializer.js';
import { InviteServerTransaction, NonInviteServerTransaction } from './server-transaction.js';
import type { TimerConfig } from './timers.js';
import type { HostPort, SendTarget, SipTransport } from './transport.js';

export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;

export interface IncomingRequest {
  readonly request: SipRequest;
  /** Undefined for ACK, which never creates a server transaction (§17.2.3 / §13.2.2.4 ACK for 2xx). */
  readonly serverTx: ServerTransaction | undefined;
  readonly source: HostPort;
  readonly transport: SipTransport;
}

export interface TransactionUser {
  onRequest(incoming: IncomingRequest): void;
  /** A response that matched no client transaction (e.g. a 2xx retransmitted after Timer M). */
  onStrayResponse(response: SipResponse, source: HostPort, transport: SipTransport): void;
}

export class TransactionLayer {
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  private tu: TransactionUser | undefined;
  private inviteScreen: ((source: HostPort) => number | undefined) | undefined;
  /** INVITEs refused statelessly by the screen (setInviteScreen). */
  screenedInvites = 0;

  constructor(
    private readonly clock: Clock,
    private readonly timers: TimerConfig,
    private readonly logger: Logger,
  ) {}

  setUser(tu: TransactionUser): void {
    this.tu = tu;
  }

  /**
   * Consulted for every new INVITE outside a dialog (no To tag) before a transaction is made: a status
   * refuses it at once, statelessly (RFC 3261 §8.2.7). A flood from a blocked scanner then costs one
   * datagram back per INVITE and no state: a transaction would keep 32 s (Timer H) of retransmitting
   * its 403 to a peer that never ACKs, ten datagrams per INVITE.
   */
  setInviteScreen(screen: ((source: HostPort) => number | undefined) | undefined): void {
    this.inviteScreen = screen;
  }

  /** Live transactions (client + server); the fuzz test asserts it returns to zero. */
  get size(): number {
    return this.clients.size + this.servers.size;
  }

  sendRequest(req: SipRequest, transport: SipTransport, dest: SendTarget, onEvent: (ev: ClientTxEvent) => void): ClientTransaction {
    const key = clientKey(req.core.vias[0]?.params.get('branch') ?? '', req.core.cseq.method);
    const ctx = {
      clock: this.clock,
      timers: this.timers,
      transport,
      dest,
      logger: this.logger,
      onEvent,
      onTerminated: () => {
        if (this.clients.get(key) === tx) this.clients.delete(key);
      },
    };
    const tx: ClientTransaction = req.method === 'INVITE' ? new InviteClientTransaction(req, ctx) : new NonInviteClientTransaction(req, ctx);
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /** Transaction-less sends by the TU: ACK for 2xx (§13.2.2.4) and 2xx retransmissions (§13.3.1.4). */
  sendStateless(msg: SipMessage, transport: SipTransport, dest: SendTarget): Promise<void> {
    return transport.send(serializeMessage(msg), dest);
  }

  receive(msg: SipMessage, source: HostPort, transport: SipTransport): void {
    if (msg.kind === 'response') {
      // §8.1.3.3: a response with more than one Via was not meant for us (a UAC adds exactly one).
      if (msg.core.vias.length !== 1) {
        this.logger.debug({ vias: msg.core.vias.length, source }, 'response with several Vias discarded');
        return;
      }
      const tx = this.clients.get(clientKey(msg.core.vias[0]?.params.get('branch') ?? '', msg.core.cseq.method));
      if (tx) tx.receive(msg);
      else this.tu?.onStrayResponse(msg, source, transport);
      return;
    }
    const req = stampVia(msg, source);
    const key = serverKey(req);
    const existing = this.servers.get(key);
    if (existing) {
      existing.retransmission(req);
      return;
    }
    if (req.method === 'ACK') {
      this.tu?.onRequest({ request: req, serverTx: undefined, source, transport });
      return;
    }
    const top = req.core.vias[0] as Via;
    if (req.method === 'INVITE' && this.inviteScreen && req.core.to.params.get('tag') === undefined) {
      const status = this.inviteScreen(source);
      if (status !== undefined) {
        this.screenedInvites++;
        // §8.2.7: a stateless UAS's To tag is the same for a retransmission of the same request.
        const toTag = createHash('sha1').update(`${key}|${req.core.callId}|${req.core.from.params.get('tag') ?? ''}`).digest('hex').slice(0, 16);
        const dest = responseDestination(top, source, transport.reliable);
        this.sendStateless(buildResponse(req, status, { toTag }), transport, dest).catch((err: unknown) => this.logger.debug({ err, source }, 'stateless refusal not sent'));
        return;
      }
    }
    const ctx = {
      clock: this.clock,
      timers: this.timers,
      transport,
      dest: responseDestination(top, source, transport.reliable),
      logger: this.logger,
      onTerminated: () => {
        if (this.servers.get(key) === tx) this.servers.delete(key);
      },
    };
    const tx: ServerTransaction = req.method === 'INVITE' ? new InviteServerTransaction(req, ctx) : new NonInviteServerTransaction(req, ctx);
    this.servers.set(key, tx);
    this.tu?.onRequest({ request: req, serverTx: tx, source, transport });
  }

  /** §9.2: the INVITE server transaction a CANCEL refers to (same branch and sent-by, method INVITE). */
  findInviteServerTx(cancel: SipRequest): InviteServerTransaction | undefined {
    const tx = this.servers.get(serverKey(cancel, 'INVITE'));
    return tx instanceof InviteServerTransaction ? tx : undefined;
  }

  close(): void {
    for (const tx of [...this.clients.values()]) tx.abort();
    for (const tx of [...this.servers.values()]) tx.abort();
  }
}

function clientKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

/** §17.2.3: branch + sent-by + method, with ACK matching the INVITE; RFC 2543 fallback without the cookie. */
function serverKey(req: SipRequest, forceMethod?: string): string {
  const via = req.core.vias[0] as Via;
  const method = forceMethod ?? (req.method === 'ACK' ? 'INVITE' : req.method);
  const branch = via.params.get('branch') ?? '';
  const sentBy = `${via.host.toLowerCase()}:${via.port ?? 5060}`;
  if (branch.startsWith(MAGIC_COOKIE)) return `${branch}|${sentBy}|${method}`;
  const fromTag = req.core.from.params.get('tag') ?? '';
  return `2543|${req.core.callId}|${req.core.cseq.seq}|${fromTag}|${sentBy}|${method}`;
}

/**
 * §18.2.1 and RFC 3581 §4: record where the request really came from in the top Via (received, and the
 * rport value when the client asked for it) so responses copy it back.
 */
function stampVia(req: SipRequest, source: HostPort): SipRequest {
  const top = req.core.vias[0] as Via;
  const needsReceived = top.host.replace(/^\[|\]$/g, '') !== source.host;
  const needsRport = top.params.has('rport') && top.params.get('rport') === null;
  if (!needsReceived && !needsRport) return req;
  const params = new Map(top.params);
  if (needsReceived) params.set('received', source.host);
  if (needsRport) params.set('rport', String(source.port));
  const stamped: Via = { ...top, params };
  const headers = new SipHeaders();
  let first = true;
  for (const f of req.headers.entries()) {
    if (f.name === 'Via' && first) {
      first = false;
      const vias = req.headers.getAll('Via');
      // Re-emit the first Via line value by value so the stamped top Via replaces only itself.
      const firstLineCount = new SipHeaders([f]).getAll('Via').length;
      headers.append('Via', serializeVia(stamped));
      for (const v of vias.slice(1, firstLineCount)) headers.append('Via', v);
      continue;
    }
    headers.append(f.name, f.value);
  }
  return { ...req, headers, core: { ...req.core, vias: [stamped, ...req.core.vias.slice(1)] } };
}
