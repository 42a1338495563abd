/**
 * The response a request we could not parse still deserves (RFC 3261 §8.2: 400 Bad Request for a
 * malformed one, §8.2.2.1 416 for a Request-URI scheme we do not serve, §21.5.7 505 for another SIP
 * version), built statelessly from whatever of it can be read. A response needs the request's Via
 * lines, From, To, Call-ID and CSeq (§8.2.6.2); without them, or for an ACK (never answered, §17.1.1.1)
 * or a response, there is nothing to send and the message is only dropped. The first of each header is
 * taken: a request refused for carrying two of one still learns why.
 */
import { SipHeaders } from './headers.js';
import type { SipParseError } from './errors.js';
import { newTag } from './ids.js';

/** Reason phrases say what was wrong, cut short: a reply must not echo an attacker's bytes at length. */
const REASON_MAX = 60;

export function malformedRequestReply(raw: Buffer, error: SipParseError): Buffer | undefined {
  if (error.code === 'too-large' || error.code === 'empty') return undefined;
  const text = raw.toString('latin1', 0, Math.min(raw.length, 8192));
  const headEnd = text.search(/\r?\n\r?\n/);
  const lines = (headEnd >= 0 ? text.slice(0, headEnd) : text).replace(/^[\r\n]+/, '').split(/\r?\n/);
  const start = lines.shift() ?? '';
  // Lenient on purpose: what broke may be the start line itself (RFC 4475 lwsruri, lwsstart, trws: spaces inside
  // the Request-URI, several spaces between the parts, trailing whitespace), and it still deserves 400.
  const m = /^([A-Za-z0-9!%*+._`'~-]+)[ \t]+\S.*[ \t]SIP\/\d+\.\d+[ \t]*$/i.exec(start);
  if (!m || m[1] === 'ACK') return undefined;
  const h = new SipHeaders();
  for (const line of lines) {
    if (/^[ \t]/.test(line)) continue; // folded lines: the first line of each header is enough here
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (!/^[A-Za-z0-9!%*+._`'~-]+$/.test(name)) continue;
    h.append(name, line.slice(colon + 1).trim());
  }
  const vias = h.getAll('Via');
  const from = h.get('From');
  let to = h.get('To');
  const callId = h.get('Call-ID');
  const cseq = h.get('CSeq');
  if (vias.length === 0 || !from || !to || !callId || !cseq) return undefined;
  if (!/;\s*tag=/i.test(to)) to = `${to};tag=${newTag()}`;
  const status = error.code === 'unsupported-uri-scheme' ? 416 : error.code === 'sip-version' ? 505 : 400;
  const reason =
    status === 416 ? 'Unsupported URI Scheme' : status === 505 ? 'Version Not Supported' : `Bad Request (${error.message.replace(/[^\x20-\x7e]/g, '?').slice(0, REASON_MAX)})`;
  const out = [
    `SIP/2.0 ${status} ${reason}`,
    ...vias.map((v) => `Via: ${v}`),
    `From: ${from}`,
    `To: ${to}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq}`,
    'Content-Length: 0',
    '',
    '',
  ];
  return Buffer.from(out.join('\r\n'), 'latin1');
}
