/**
 * Frames SIP messages on a byte stream (TCP/TLS) by Content-Length (RFC 3261 §18.3): a chunk may hold
 * part of a message or several messages. A framing error is unrecoverable for the connection (we cannot
 * find the next message boundary), so the caller closes it.
 */
import { fail, ok, type Result, type SipParseError } from './errors.js';
import type { SipMessage } from './message.js';
import { findHeaderEnd, leadingCrlf, MAX_MESSAGE_BYTES, parseMessage } from './parser.js';

export type FramedItem =
  | { readonly type: 'message'; readonly message: SipMessage }
  /** The message was framed correctly but did not parse: skip it, the stream stays usable. */
  | { readonly type: 'malformed'; readonly error: SipParseError; readonly raw: Buffer };

export class StreamFramer {
  /** Growable buffer: appends are amortized O(1), so tiny chunks cannot make framing quadratic. */
  private buf: Buffer = Buffer.alloc(4096);
  private start = 0;
  private end = 0;
  /** Bytes of the current message already scanned for the blank line. */
  private scanned = 0;
  private broken = false;

  private append(chunk: Buffer): void {
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      const size = Math.max(this.buf.length, (live + chunk.length) * 2);
      const next = size === this.buf.length ? this.buf : Buffer.alloc(size);
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
      this.start = 0;
      this.end = live;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  /** Feeds a chunk; returns complete items, or an error when the stream cannot be framed any more. */
  push(chunk: Buffer): Result<FramedItem[]> {
    if (this.broken) return fail('content-length', 'stream already broken');
    this.append(chunk);
    const items: FramedItem[] = [];
    for (;;) {
      let view = this.buf.subarray(this.start, this.end);
      const skip = leadingCrlf(view);
      if (skip > 0) {
        this.start += skip;
        this.scanned = Math.max(0, this.scanned - skip);
        view = view.subarray(skip);
      }
      if (view.length === 0) break;
      const end = findHeaderEnd(view, Math.max(0, this.scanned - 3));
      if (!end) {
        this.scanned = view.length;
        if (view.length > MAX_MESSAGE_BYTES) return this.breakWith('too-large', 'header section too large');
        break;
      }
      const head = view.toString('latin1', 0, end.headerEnd);
      const all = [...head.matchAll(/(?:^|\n)\s*(?:content-length|l)\s*:\s*([^\r\n]*)/gi)];
      const m = all[0];
      if (!m) return this.breakWith('content-length', 'missing Content-Length on stream transport');
      // Two of them: where this message ends, and so every later one, is unknown (§18.3).
      if (all.length > 1) return this.breakWith('content-length', 'more than one Content-Length on stream transport');
      const clText = (m[1] ?? '').trim();
      if (!/^\d{1,9}$/.test(clText)) return this.breakWith('content-length', `bad Content-Length: ${clText.slice(0, 20)}`);
      const total = end.bodyStart + Number(clText);
      if (total > MAX_MESSAGE_BYTES) return this.breakWith('too-large', `message of ${total} bytes`);
      if (view.length < total) {
        this.scanned = end.headerEnd;
        break;
      }
      // Copy out: the growable buffer is reused for later bytes.
      const raw = Buffer.from(view.subarray(0, total));
      this.start += total;
      this.scanned = 0;
      const parsed = parseMessage(raw);
      items.push(parsed.ok ? { type: 'message', message: parsed.value } : { type: 'malformed', error: parsed.error, raw });
    }
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    return ok(items);
  }

  private breakWith(code: 'content-length' | 'too-large', message: string): Result<FramedItem[]> {
    this.broken = true;
    this.start = 0;
    this.end = 0;
    return fail(code, message);
  }
}
