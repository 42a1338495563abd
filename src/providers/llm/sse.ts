/**
 * Incremental parser for text/event-stream (WHATWG HTML, "server-sent events"): bytes arrive in
 * arbitrary chunks, so a line or a multi-byte character may be split across them. Only `data:`
 * fields matter for chat completions; comments (": keep-alive", OpenRouter's ": PROCESSING") and
 * event/id/retry fields are skipped.
 */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  private data: string[] = [];
  /** A chunk ended in '\r': a following '\n' belongs to the same line ending. */
  private skipLf = false;

  /** Feeds bytes; returns the data of every event completed by them, in order. */
  push(chunk: Uint8Array): string[] {
    return this.lines(this.decoder.decode(chunk, { stream: true }));
  }

  /** End of stream: an event not closed by a blank line is still delivered (some servers omit it). */
  end(): string[] {
    const out = this.lines(this.decoder.decode() + '\n');
    if (this.data.length > 0) out.push(this.data.join('\n'));
    this.data = [];
    return out;
  }

  private lines(text: string): string[] {
    const out: string[] = [];
    let s = this.buffer + text;
    if (this.skipLf && s.startsWith('\n')) s = s.slice(1);
    this.skipLf = false;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(s.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else this.skipLf = true;
      }
      start = i + 1;
    }
    this.buffer = s.slice(start);
    return out;
  }

  private line(line: string, out: string[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push(this.data.join('\n'));
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.data.push(value);
  }
}
