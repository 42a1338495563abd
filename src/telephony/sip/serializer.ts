/** Serializes a message to wire bytes (RFC 3261 §7). Content-Length is always recomputed from the body. */
import type { SipMessage } from './message.js';

export function serializeMessage(msg: SipMessage): Buffer {
  // A received body goes out as the bytes it came in (binary parts stay intact); a built one is UTF-8.
  const body = msg.bodyBytes ?? Buffer.from(msg.body, 'utf8');
  const start = msg.kind === 'request' ? `${msg.method} ${msg.uri} SIP/2.0` : `SIP/2.0 ${msg.status} ${msg.reason}`;
  let head = `${start}\r\n`;
  for (const f of msg.headers.entries()) {
    if (f.name === 'Content-Length') continue;
    head += `${f.name}: ${f.value}\r\n`;
  }
  // §18.3: Content-Length is mandatory on streams; we write it everywhere.
  head += `Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), body]);
}
