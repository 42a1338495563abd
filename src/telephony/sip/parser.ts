/**
 * SIP message parser (RFC 3261 §7, §25). Input is untrusted: every failure is a typed SipParseError
 * in the returned Result, never an exception.
 */
import { fail, ok, type Result } from './errors.js';
import { SipHeaders } from './headers.js';
import { parseCore, type SipMessage } from './message.js';
import { parseUri } from './uri.js';

/** Largest message accepted (a UDP datagram cannot exceed 65,535 bytes; streams get the same cap). */
export const MAX_MESSAGE_BYTES = 65_535;

const TOKEN_RE = /^[A-Za-z0-9!%*+._`'~-]+$/;

export interface HeaderBlockEnd {
  /** Index of the first byte of the blank line separator. */
  readonly headerEnd: number;
  /** Index of the first body byte. */
  readonly bodyStart: number;
}

/** Finds the blank line that ends the header section; tolerates bare LF line ends (robustness, §7.5). */
export function findHeaderEnd(buf: Buffer, from = 0): HeaderBlockEnd | undefined {
  const crlf = buf.indexOf('\r\n\r\n', from, 'latin1');
  const lf = buf.indexOf('\n\n', from, 'latin1');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { headerEnd: crlf, bodyStart: crlf + 4 };
  if (lf >= 0) return { headerEnd: lf, bodyStart: lf + 2 };
  return undefined;
}

/** Number of leading CR/LF bytes: §7.5 says stream receivers ignore CRLF before a start line (also keep-alives). */
export function leadingCrlf(buf: Buffer): number {
  let i = 0;
  while (i < buf.length && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
  return i;
}

/** Unfolds header lines: a line starting with SP/HT continues the previous one (§7.3.1 LWS). */
function headerLines(text: string): Result<string[]> {
  const raw = text.split(/\r?\n/);
  const lines: string[] = [];
  for (const line of raw) {
    if (line === '') continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (lines.length <= 1) return fail('header-line', 'continuation line before any header');
      lines[lines.length - 1] = `${lines[lines.length - 1] ?? ''} ${line.trim()}`;
    } else lines.push(line);
  }
  return ok(lines);
}

/**
 * Parses one complete message. With `stream` set the caller already framed it by Content-Length; on a
 * datagram a missing Content-Length means the body runs to the end (§18.3), and a shorter body than
 * Content-Length announces is an error (§18.3: the message is discarded).
 */
export function parseMessage(input: Buffer | string): Result<SipMessage> {
  const buf0 = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (buf0.length > MAX_MESSAGE_BYTES) return fail('too-large', `message of ${buf0.length} bytes`);
  const skip = leadingCrlf(buf0);
  const buf = skip > 0 ? buf0.subarray(skip) : buf0;
  if (buf.length === 0) return fail('empty', 'empty message');
  const end = findHeaderEnd(buf);
  // A datagram may legitimately end right after the last header's CRLF with no blank line only if
  // broken; be lenient and treat end-of-buffer as the end of headers.
  const headerEnd = end?.headerEnd ?? buf.length;
  const bodyStart = end?.bodyStart ?? buf.length;
  const head = buf.toString('utf8', 0, headerEnd);
  const lines = headerLines(head);
  if (!lines.ok) return lines;
  const [startLine, ...rest] = lines.value;
  if (startLine === undefined) return fail('empty', 'no start line');
  const resp = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/i.exec(startLine);
  const req = resp ? null : /^([A-Za-z0-9!%*+._`'~-]+) (\S+) SIP\/2\.0$/i.exec(startLine);
  if (!resp && !req) {
    if (/^[A-Za-z0-9!%*+._`'~-]+ \S+ SIP\/\d+\.\d+$/i.test(startLine)) return fail('sip-version', `SIP version not supported: ${startLine.slice(-12)}`);
    return fail('start-line', `bad start line: ${startLine.slice(0, 80)}`);
  }

  const headers = new SipHeaders();
  for (const line of rest) {
    const colon = line.indexOf(':');
    if (colon <= 0) return fail('header-line', `header line without name: ${line.slice(0, 60)}`);
    const name = line.slice(0, colon).trim();
    if (!TOKEN_RE.test(name)) return fail('header-line', `bad header name: ${name.slice(0, 60)}`);
    headers.append(name, line.slice(colon + 1).trim());
  }

  let body: Buffer = buf.subarray(bodyStart);
  // Two Content-Lengths leave the body's end unknown (RFC 4475 mcl01): malformed, whatever they say.
  if (headers.count('Content-Length') > 1) return fail('content-length', 'more than one Content-Length header');
  const cl = headers.get('Content-Length');
  if (cl !== undefined) {
    if (!/^\d{1,9}$/.test(cl)) return fail('content-length', `bad Content-Length: ${cl.slice(0, 20)}`);
    const n = Number(cl);
    if (n > body.length) return fail('truncated-body', `Content-Length ${n} > ${body.length} bytes received`);
    body = body.subarray(0, n);
  }
  const core = parseCore(headers);
  if (!core.ok) return core;
  // Bodies are bytes (RFC 4475 mpart01 carries binary parts): kept as received, with a text view.
  const bodyText = body.toString('utf8');
  const bodyBytes = Buffer.from(body);

  if (resp) {
    return ok({ kind: 'response', status: Number(resp[1]), reason: resp[2] ?? '', headers, body: bodyText, bodyBytes, core: core.value });
  }
  if (!req) return fail('start-line', 'unreachable');
  const method = req[1] ?? '';
  const uri = req[2] ?? '';
  const ruri = parseUri(uri);
  if (!ruri.ok) {
    // An absolute URI of another scheme (RFC 3986 §3.1) is well formed, just not ours to serve.
    if (ruri.error.code === 'unsupported-uri-scheme') return fail('unsupported-uri-scheme', `Request-URI scheme not supported: ${uri.slice(0, 40)}`);
    return fail('bad-uri', `bad Request-URI: ${uri.slice(0, 80)}`);
  }
  // §19.1.1 Table 1: a Request-URI carries no headers component (RFC 4475 escruri: 400).
  if (ruri.value.headers !== undefined) return fail('bad-uri', 'headers in the Request-URI');
  // §8.2 / §20.16: the CSeq method must match the request method.
  if (core.value.cseq.method !== method) return fail('bad-header', 'CSeq method does not match request method');
  // §7.1: the method is case-sensitive and kept as sent: "invite" is an unknown method, not an INVITE.
  return ok({ kind: 'request', method, uri, headers, body: bodyText, bodyBytes, core: core.value });
}
