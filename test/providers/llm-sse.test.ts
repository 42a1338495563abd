import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser } from '../../src/providers/llm/sse.js';
import { parseVendorError, retryAfterSeconds } from '../../src/providers/llm/http-errors.js';

const enc = new TextEncoder();

/** Feeds the bytes cut at every given offset, so lines and characters are split across chunks. */
function feed(bytes: Uint8Array, cuts: number[]): string[] {
  const p = new SseParser();
  const out: string[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...p.push(bytes.subarray(prev, c)));
    prev = c;
  }
  out.push(...p.end());
  return out;
}

test('SSE: events split at every byte still parse, including a multi-byte character and CRLF/CR endings', () => {
  const text = 'data: {"a":"héllo €"}\r\n\r\n: keep-alive comment\n\nevent: x\nid: 3\ndata: two\rdata: lines\r\rdata: [DONE]\n\ndata: a\r\ndata: b\r\n\r\n';
  const bytes = enc.encode(text);
  const expected = ['{"a":"héllo €"}', 'two\nlines', '[DONE]', 'a\nb'];
  assert.deepEqual(feed(bytes, []), expected);
  for (let cut = 1; cut < bytes.length; cut++) assert.deepEqual(feed(bytes, [cut]), expected, `cut at ${cut}`);
  assert.deepEqual(feed(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)), expected, 'one byte at a time');
});

test('SSE: data without a space after the colon, and a last event with no blank line, are delivered', () => {
  assert.deepEqual(feed(enc.encode('data:x\n\ndata: y'), []), ['x', 'y']);
  assert.deepEqual(feed(enc.encode('\n\n: only comments\n\n'), []), []);
});

test('vendor error bodies: OpenAI, vLLM, Ollama and plain text', () => {
  assert.deepEqual(parseVendorError('{"error":{"message":"bad key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}'), {
    message: 'bad key',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  });
  assert.deepEqual(parseVendorError('{"object":"error","message":"too long","type":"BadRequestError","code":400}'), { message: 'too long', type: 'BadRequestError', code: '400' });
  assert.deepEqual(parseVendorError('{"error":"model not found"}'), { message: 'model not found' });
  assert.deepEqual(parseVendorError('<html>Bad Gateway</html>'), { message: '<html>Bad Gateway</html>' });
  assert.deepEqual(parseVendorError(''), {});
});

test('Retry-After: seconds, an HTTP date, retry-after-ms, garbage', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(retryAfterSeconds(new Headers({ 'retry-after': '12' }), now), 12);
  assert.equal(retryAfterSeconds(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }), now), 30);
  assert.equal(retryAfterSeconds(new Headers({ 'retry-after-ms': '1500', 'retry-after': '9' }), now), 1.5);
  assert.equal(retryAfterSeconds(new Headers({ 'retry-after': 'soon' }), now), undefined);
  assert.equal(retryAfterSeconds(new Headers(), now), undefined);
});
