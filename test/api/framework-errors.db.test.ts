/** What the router refuses before any route runs comes in the error envelope too, and never echoes the URL. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

test('an over-long path parameter is 414 uri_too_long; a URL that cannot be decoded is 400 invalid_request; both in the envelope', async () => {
  const long = 'x'.repeat(5000);
  const r = await t.org.req('GET', `/v1/calls/${long}`);
  assert.equal(r.status, 414, r.raw);
  assert.deepEqual(Object.keys(r.body), ['error']);
  assert.equal(r.body.error.code, 'uri_too_long');
  assert.ok(!r.raw.includes('xxxxxxxxxx'), 'the URL is not echoed back');
  // Under the router's limit, the route's own validation speaks (ids are at most 64 characters).
  const ok = await t.org.req('GET', `/v1/calls/call_${'y'.repeat(90)}`);
  assert.deepEqual([ok.status, ok.body.error.code, ok.body.error.param], [400, 'invalid_request', 'callId'], ok.raw);
  const bad = await t.org.req('GET', '/v1/calls/%E0%A4%A');
  assert.deepEqual([bad.status, bad.body.error.code], [400, 'invalid_request'], bad.raw);
  for (const [method, url, body, headers, status, code] of [
    ['GET', '/v1/nope', undefined, undefined, 404, 'not_found'],
    ['POST', '/v1/agents', '{bad', undefined, 400, 'invalid_json'],
    ['POST', '/v1/agents', '<a/>', { 'content-type': 'text/xml' }, 415, 'unsupported_media_type'],
  ] as const) {
    const x = await t.org.req(method, url, body, headers);
    assert.deepEqual([x.status, x.body?.error?.code], [status, code], `${method} ${url}: ${x.raw}`);
  }
});
