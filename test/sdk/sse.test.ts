import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readServerSentEvents, type ServerSentEvent } from '../../src/sdk/sse.js';

async function* chunks(parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

async function all(parts: string[]): Promise<ServerSentEvent[]> {
  const out: ServerSentEvent[] = [];
  for await (const e of readServerSentEvents(chunks(parts))) out.push(e);
  return out;
}

test('events split across chunks, comments, ids, multi-line data', async () => {
  const got = await all([': keep-alive\n\nid: 7\neve', 'nt: status\ndata: {"a":', '1}\n\ndata: line1\ndata: line2\n\n']);
  assert.deepEqual(got, [
    { event: 'status', data: '{"a":1}', id: '7' },
    { event: 'message', data: 'line1\nline2' },
  ]);
});

test('CRLF and CR line ends (a CR split from its LF across chunks is one line end)', async () => {
  const got = await all(['event: turn\r', '\ndata: x\r\n\r\nevent: end\rdata: y\r\r']);
  assert.deepEqual(got, [
    { event: 'turn', data: 'x' },
    { event: 'end', data: 'y' },
  ]);
});

test('an unterminated last block is not emitted; a field without a colon is a name with empty value', async () => {
  assert.deepEqual(await all(['data\n\nevent: half\ndata: z']), [{ event: 'message', data: '' }]);
});
