/**
 * Server-sent events read from a fetch() body (WHATWG HTML §9.2, text/event-stream): EventSource
 * cannot send an Authorization header, so the dashboard reads the stream itself. Blocks end at a
 * blank line; `event:`, `data:` (repeated lines joined with "\n"), `id:`; lines starting with ':'
 * are comments (the server's keep-alives). CR, LF and CRLF all end a line. The same rules as
 * src/sdk/sse.ts, for the browser.
 */
export async function* readServerSentEvents(stream) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let cur = { data: [] };
  let last = false;
  try {
    while (!last) {
      const next = await reader.read();
      if (next.done) last = true;
      else buf += decoder.decode(next.value, { stream: true });
      for (;;) {
        const m = /\r\n|\r|\n/.exec(buf);
        // A lone CR at the end may be the first half of a CRLF: wait for more, unless nothing more comes.
        if (!m || (!last && m[0] === '\r' && m.index === buf.length - 1)) break;
        const line = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        if (line === '') {
          if (cur.data.length > 0 || cur.event !== undefined) {
            const ev = { event: cur.event ?? 'message', data: cur.data.join('\n') };
            if (cur.id !== undefined) ev.id = cur.id;
            yield ev;
          }
          cur = { data: [] };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') cur.event = value;
        else if (field === 'data') cur.data.push(value);
        else if (field === 'id') cur.id = value;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
