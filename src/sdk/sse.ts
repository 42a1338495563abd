/**
 * A minimal reader of server-sent events (WHATWG HTML §9.2 "Server-sent events", the
 * text/event-stream format): blocks separated by a blank line, `event:`, `data:` (joined with
 * newlines when repeated), `id:`, comment lines starting with ':'. CR, LF and CRLF all end a line.
 */
export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
}

export async function* readServerSentEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buf = '';
  let cur: { event?: string; data: string[]; id?: string } = { data: [] };
  let last = false;
  const iterator = body[Symbol.asyncIterator]();
  while (!last) {
    const next = await iterator.next();
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
          yield { event: cur.event ?? 'message', data: cur.data.join('\n'), ...(cur.id !== undefined ? { id: cur.id } : {}) };
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
}
