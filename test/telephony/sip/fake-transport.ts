/** In-memory SIP transport for unit tests: records what is sent and lets the test inject messages. */
import type { SipMessage, SipRequest, SipResponse } from '../../../src/telephony/sip/message.js';
import { parseMessage } from '../../../src/telephony/sip/parser.js';
import type { HostPort, SipTransport, TransportListener, TransportProtocol, TransportStats } from '../../../src/telephony/sip/transport.js';

export interface Sent {
  readonly raw: string;
  readonly msg: SipMessage;
  readonly dest: HostPort;
}

export class FakeTransport implements SipTransport {
  readonly stats: TransportStats = { received: 0, sent: 0, dropped: 0 };
  readonly sent: Sent[] = [];
  readonly reliable: boolean;
  private listener: TransportListener | undefined;
  /** When set, the next send rejects with this error. */
  failNext: Error | undefined;

  constructor(
    readonly protocol: TransportProtocol = 'UDP',
    readonly local: HostPort = { host: '10.0.0.1', port: 5060 },
  ) {
    this.reliable = protocol !== 'UDP';
  }

  attach(listener: TransportListener): void {
    this.listener = listener;
  }

  send(data: Buffer, dest: HostPort): Promise<void> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      return Promise.reject(err);
    }
    const parsed = parseMessage(data);
    if (!parsed.ok) return Promise.reject(new Error(`fake transport: we sent an unparsable message: ${parsed.error.message}`));
    this.sent.push({ raw: data.toString('utf8'), msg: parsed.value, dest });
    this.stats.sent++;
    return Promise.resolve();
  }

  /** Injects raw bytes as if received from source. */
  deliver(raw: string | Buffer, source: HostPort = { host: '10.0.0.2', port: 5060 }): void {
    this.stats.received++;
    const parsed = parseMessage(typeof raw === 'string' ? Buffer.from(raw) : raw);
    if (!parsed.ok) {
      this.stats.dropped++;
      this.listener?.onDrop?.(parsed.error, source);
      return;
    }
    this.listener?.onMessage(parsed.value, source, this);
  }

  requests(method?: string): SipRequest[] {
    return this.sent.map((s) => s.msg).filter((m): m is SipRequest => m.kind === 'request' && (method === undefined || m.method === method));
  }

  responses(status?: number): SipResponse[] {
    return this.sent.map((s) => s.msg).filter((m): m is SipResponse => m.kind === 'response' && (status === undefined || m.status === status));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Builds a response to one of our requests the way a UAS would (§8.2.6.2). */
export function respondTo(
  req: SipRequest,
  status: number,
  opts: { toTag?: string; headers?: string[]; body?: string; reason?: string } = {},
): string {
  const lines = [`SIP/2.0 ${status} ${opts.reason ?? 'X'}`];
  for (const v of req.headers.getAll('Via')) lines.push(`Via: ${v}`);
  lines.push(`From: ${req.headers.get('From') ?? ''}`);
  const to = req.headers.get('To') ?? '';
  lines.push(`To: ${opts.toTag !== undefined && !/;tag=/.test(to) ? `${to};tag=${opts.toTag}` : to}`);
  lines.push(`Call-ID: ${req.core.callId}`, `CSeq: ${req.core.cseq.seq} ${req.core.cseq.method}`);
  for (const h of opts.headers ?? []) lines.push(h);
  const body = opts.body ?? '';
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
  return lines.join('\r\n');
}
