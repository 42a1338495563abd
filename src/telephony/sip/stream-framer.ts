/**
 * Frames SIP messages on a byte stream (TCP/TLS) by Content-Length (RFC 3261 §18.3): a chunk may hold
 * part of a message or several messages. A framing error is unrecoverable for the connection (we cannot
 * find the next message boundary), so the caller closes it.
 */
import { fail, ok, type Result } from './errors.js';
import type { SipMessage } from './message.js';
import { findHeaderEnd, leadingCrlf, MAX_MESSAGE_BYTES, parseMessage } from './parser.js';

export type FramedItem =
  | { readonly type: 'message'; readonly message: SipMessage }
  /** The message was framed correctly but did not parse: skip it, the stream stays usable. */
  | { readonly type: 'malformed'; readonly error: import('./errors.js').SipParseError };

export class StreamFramer {
  private buffer: Buffer = Buffer.alloc(0);
  private broken = false;

  /** Feeds a chunk; returns complete items, or an error when the stream cannot be framed any more. */
  push(chunk: Buffer): Result<FramedItem[]> {
    if (this.broken) return fail('content-length', 'stream already broken');
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const items: FramedItem[] = [];
    for (;;) {
      const skip = leadingCrlf(this.buffer);
      if (skip > 0) this.buffer = this.buffer.subarray(skip);
      if (this.buffer.length === 0) break;
      const end = findHeaderEnd(this.buffer);
      if (!end) {
        if (this.buffer.length > MAX_MESSAGE_BYTES) return this.breakWith('too-large', 'header section too large');
        break;
      }
      const head = this.buffer.toString('latin1', 0, end.headerEnd);
      const m = /(?:^|\n)\s*(?:content-length|l)\s*:\s*([^\r\n]*)/i.exec(head);
      if (!m) return this.breakWith('content-length', 'missing Content-Length on stream transport');
      const clText = (m[1] ?? '').trim();
      if (!/^\d{1,9}$/.test(clText)) return this.breakWith('content-length', `bad Content-Length: ${clText.slice(0, 20)}`);
      const total = end.bodyStart + Number(clText);
      if (total > MAX_MESSAGE_BYTES) return this.breakWith('too-large', `message of ${total} bytes`);
      if (this.buffer.length < total) break;
      const raw = this.buffer.subarray(0, total);
      this.buffer = this.buffer.subarray(total);
      const parsed = parseMessage(raw);
      items.push(parsed.ok ? { type: 'message', message: parsed.value } : { type: 'malformed', error: parsed.error });
    }
    return ok(items);
  }

  private breakWith(code: 'content-length' | 'too-large', message: string): Result<FramedItem[]> {
    this.broken = true;
    this.buffer = Buffer.alloc(0);
    return fail(code, message);
  }
}
