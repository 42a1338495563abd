/** Builders for outgoing messages. Every built message carries a validated `core`. */
import { SipHeaders, type HeaderField } from './headers.js';
import { parseCore, serializeVia, type SipRequest, type SipResponse, type Via } from './message.js';
import type { HostPort } from './transport.js';
import { serializeNameAddr } from './uri.js';

/** Our own construction produced invalid headers: a programming error, not a network one. */
export class SipBuildError extends Error {
  override name = 'SipBuildError';
}

export function makeRequest(method: string, uri: string, headers: SipHeaders, body = ''): SipRequest {
  const core = parseCore(headers);
  if (!core.ok) throw new SipBuildError(`cannot build ${method}: ${core.error.message}`);
  return { kind: 'request', method, uri, headers, body, core: core.value };
}

export function makeResponse(status: number, reason: string, headers: SipHeaders, body = ''): SipResponse {
  const core = parseCore(headers);
  if (!core.ok) throw new SipBuildError(`cannot build ${status}: ${core.error.message}`);
  return { kind: 'response', status, reason, headers, body, core: core.value };
}

export const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 202: 'Accepted', 400: 'Bad Request',
  403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
  415: 'Unsupported Media Type', 416: 'Unsupported URI Scheme', 420: 'Bad Extension', 481: 'Call/Transaction Does Not Exist', 487: 'Request Terminated',
  488: 'Not Acceptable Here', 491: 'Request Pending', 500: 'Server Internal Error', 501: 'Not Implemented',
  503: 'Service Unavailable',
};

/**
 * §8.2.6.2: a response copies Via (all, in order), From, To, Call-ID and CSeq from the request, and adds a
 * To tag when the request had none (except on 100).
 */
export function buildResponse(
  req: SipRequest,
  status: number,
  opts: { toTag?: string; extra?: HeaderField[]; body?: string; reason?: string } = {},
): SipResponse {
  const h = new SipHeaders();
  for (const v of req.headers.getAll('Via')) h.append('Via', v);
  h.append('From', req.headers.get('From') ?? '');
  let to = req.headers.get('To') ?? '';
  if (status > 100 && req.core.to.params.get('tag') === undefined && opts.toTag !== undefined) to += `;tag=${opts.toTag}`;
  h.append('To', to);
  h.append('Call-ID', req.core.callId);
  h.append('CSeq', `${req.core.cseq.seq} ${req.core.cseq.method}`);
  for (const f of opts.extra ?? []) h.append(f.name, f.value);
  return makeResponse(status, opts.reason ?? REASONS[status] ?? 'Unknown', h, opts.body ?? '');
}

/**
 * §17.1.1.3: the ACK for a non-2xx final response belongs to the INVITE transaction: same Request-URI,
 * Call-ID, From, CSeq number and top Via (same branch) as the INVITE, To from the response, and the
 * INVITE's Route headers.
 */
export function buildNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const h = new SipHeaders();
  h.append('Via', serializeVia(invite.core.vias[0] as Via));
  for (const r of invite.headers.getAll('Route')) h.append('Route', r);
  h.append('Max-Forwards', '70');
  h.append('From', invite.headers.get('From') ?? '');
  h.append('To', response.headers.get('To') ?? serializeNameAddr(response.core.to));
  h.append('Call-ID', invite.core.callId);
  h.append('CSeq', `${invite.core.cseq.seq} ACK`);
  return makeRequest('ACK', invite.uri, h);
}

/**
 * §9.1: CANCEL copies Request-URI, Call-ID, To, From, CSeq number and Route from the INVITE, and carries a
 * single Via equal to the INVITE's top Via, so the far end matches it to the INVITE transaction.
 */
export function buildCancel(invite: SipRequest): SipRequest {
  const h = new SipHeaders();
  h.append('Via', serializeVia(invite.core.vias[0] as Via));
  for (const r of invite.headers.getAll('Route')) h.append('Route', r);
  h.append('Max-Forwards', '70');
  h.append('From', invite.headers.get('From') ?? '');
  h.append('To', invite.headers.get('To') ?? '');
  h.append('Call-ID', invite.core.callId);
  h.append('CSeq', `${invite.core.cseq.seq} CANCEL`);
  return makeRequest('CANCEL', invite.uri, h);
}

/**
 * Where to send a response (§18.2.2 with RFC 3581 §4): reliable transports answer on the connection the
 * request came in on; otherwise maddr, then received/rport, then sent-by.
 */
export function responseDestination(via: Via, source: HostPort, reliable: boolean): HostPort {
  if (reliable) return source;
  const maddr = via.params.get('maddr');
  if (maddr) return { host: maddr, port: via.port ?? 5060 };
  const received = via.params.get('received');
  if (via.params.has('rport')) return { host: received ?? source.host, port: source.port };
  if (received) return { host: received, port: via.port ?? 5060 };
  return { host: via.host, port: via.port ?? 5060 };
}
