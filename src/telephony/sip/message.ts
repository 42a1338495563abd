/**
 * SIP message model (RFC 3261 §7) and the typed view of the headers every layer relies on
 * (§8.1.1: Via, From, To, Call-ID, CSeq, Max-Forwards).
 */
import { fail, ok, type Result } from './errors.js';
import type { SipHeaders } from './headers.js';
import { parseHostPort, parseNameAddr, parseParams, serializeParams, type NameAddr, type Params } from './uri.js';

export interface Via {
  /** UDP, TCP, TLS, ... upper-cased. */
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  readonly params: Params;
}

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** The parsed core headers; present on every message that left the parser or a builder. */
export interface CoreHeaders {
  readonly vias: readonly Via[];
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly callId: string;
  readonly cseq: CSeq;
}

export interface SipRequest {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
  readonly headers: SipHeaders;
  /** The body as UTF-8 text (what SDP and the other bodies we read are). */
  readonly body: string;
  /** The body's bytes as received (absent on messages we build): serialized as they are, never re-encoded. */
  readonly bodyBytes?: Buffer;
  readonly core: CoreHeaders;
}

export interface SipResponse {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
  readonly headers: SipHeaders;
  /** The body as UTF-8 text. */
  readonly body: string;
  /** The body's bytes as received (absent on messages we build). */
  readonly bodyBytes?: Buffer;
  readonly core: CoreHeaders;
}

export type SipMessage = SipRequest | SipResponse;

/** RFC 3261 §20.42: sent-protocol LWS sent-by *(SEMI via-params). */
export function parseVia(text: string): Result<Via> {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9-]+)\s+([^;\s]+(?:\s*:\s*\d+)?)\s*(;.*)?$/i.exec(text.trim());
  if (!m) return fail('bad-header', `bad Via: ${text.slice(0, 80)}`);
  const transport = (m[1] ?? '').toUpperCase();
  const hp = parseHostPort((m[2] ?? '').replace(/\s+/g, ''));
  if (!hp.ok) return hp;
  const params = parseParams(m[3] ?? '');
  if (!params.ok) return params;
  const rport = params.value.get('rport');
  if (rport !== undefined && rport !== null && !/^\d{1,5}$/.test(rport)) return fail('bad-header', 'bad rport');
  return ok({ transport, host: hp.value.host, port: hp.value.port, params: params.value });
}

export function serializeVia(via: Via): string {
  return `SIP/2.0/${via.transport} ${via.host}${via.port !== undefined ? `:${via.port}` : ''}${serializeParams(via.params)}`;
}

/** RFC 3261 §20.16: CSeq = 1*DIGIT LWS Method; the number is < 2**31. */
export function parseCSeq(text: string): Result<CSeq> {
  const m = /^(\d{1,10})\s+([A-Za-z0-9!%*+._`'~-]+)$/.exec(text.trim());
  if (!m) return fail('bad-header', `bad CSeq: ${text.slice(0, 40)}`);
  const seq = Number(m[1]);
  if (seq >= 2 ** 31) return fail('bad-header', 'CSeq out of range');
  // §7.1: method names are case-sensitive ("invite" is not INVITE), in CSeq as on the request line.
  return ok({ seq, method: m[2] ?? '' });
}

const SINGLE_CORE = ['From', 'To', 'Call-ID', 'CSeq'] as const;

/** Extracts and validates the core headers; a message missing any of them is malformed (§8.1.1). */
export function parseCore(headers: SipHeaders): Result<CoreHeaders> {
  const viaValues = headers.getAll('Via');
  if (viaValues.length === 0) return fail('missing-header', 'missing Via');
  const vias: Via[] = [];
  for (const v of viaValues) {
    const via = parseVia(v);
    if (!via.ok) return via;
    vias.push(via.value);
  }
  // §7.3.1, §20: From, To, Call-ID and CSeq appear once; two of one leave the dialog and transaction
  // ambiguous (RFC 4475 multi01), so the message is malformed.
  for (const name of SINGLE_CORE) {
    if (headers.count(name) > 1) return fail('bad-header', `more than one ${name} header`);
  }
  const fromText = headers.get('From');
  const toText = headers.get('To');
  const callId = headers.get('Call-ID')?.trim();
  const cseqText = headers.get('CSeq');
  if (fromText === undefined) return fail('missing-header', 'missing From');
  if (toText === undefined) return fail('missing-header', 'missing To');
  if (callId === undefined || callId === '' || /\s/.test(callId)) return fail('missing-header', 'missing or bad Call-ID');
  if (cseqText === undefined) return fail('missing-header', 'missing CSeq');
  const from = parseNameAddr(fromText);
  if (!from.ok) return from;
  const to = parseNameAddr(toText);
  if (!to.ok) return to;
  const cseq = parseCSeq(cseqText);
  if (!cseq.ok) return cseq;
  return ok({ vias, from: from.value, to: to.value, callId, cseq: cseq.value });
}

export function tagOf(addr: NameAddr): string | undefined {
  return addr.params.get('tag') ?? undefined;
}

export function topVia(msg: SipMessage): Via {
  // parseCore guarantees at least one Via.
  return msg.core.vias[0] as Via;
}
