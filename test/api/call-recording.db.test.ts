/**
 * GET /v1/calls/{id}/recording with a stored recording row: the WAV bytes as stored, HEAD, one byte
 * range, 404s with their codes, org isolation, the recording on the call object, the OpenAPI entry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWav } from '../../src/media/wav.js';
import { insertRecording } from '../../src/store/recordings.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let agentId: string;
let wav: Buffer;

before(async () => {
  t = await startTestApp();
  agentId = (await callFixture(t.org)).agentId;
  const left = Int16Array.from({ length: 8000 }, (_, i) => (i * 37) % 2000);
  const right = Int16Array.from({ length: 8000 }, (_, i) => -((i * 13) % 3000));
  wav = Buffer.from(encodeWav([left, right], 8000));
});
after(async () => t.close());

async function newCall(): Promise<string> {
  const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', record: { enabled: true, channels: 'dual' } });
  assert.equal(r.status, 202, r.raw);
  return r.body.id as string;
}

async function store(callId: string, orgId = t.org.id): Promise<void> {
  await t.db.transaction((tx) => insertRecording(tx, { orgId, callId, channels: 'dual', sampleRate: 8000, durationMs: 1000, wav: new Uint8Array(wav) }));
}

/** A raw request (the body as bytes). */
async function raw(method: 'GET' | 'HEAD', url: string, key = t.org.key, headers: Record<string, string> = {}) {
  const res = await t.app.inject({ method, url, headers: { authorization: `Bearer ${key}`, ...headers } });
  return { status: res.statusCode, headers: res.headers, bytes: res.rawPayload, json: () => JSON.parse(res.body) };
}

test('the stored WAV comes back byte for byte as audio/wav, and the call object points at it', async () => {
  const callId = await newCall();
  const before = await t.org.req('GET', `/v1/calls/${callId}`);
  assert.equal(before.body.recording, null, 'no recording yet');
  await store(callId);
  const r = await raw('GET', `/v1/calls/${callId}/recording`);
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^audio\/wav/);
  assert.equal(r.headers['accept-ranges'], 'bytes');
  assert.equal(Number(r.headers['content-length']), wav.length);
  assert.ok(r.bytes.equals(wav), 'identical bytes');
  const call = await t.org.req('GET', `/v1/calls/${callId}`);
  assert.deepEqual(call.body.recording, { url: `/v1/calls/${callId}/recording`, duration_ms: 1000, channels: 'dual', sample_rate: 8000 });
  const listed = await t.org.req('GET', `/v1/agents/${agentId}/outbound-calls`);
  assert.equal(listed.body.data.find((c: { id: string }) => c.id === callId)?.recording?.url, `/v1/calls/${callId}/recording`);
});

test('HEAD gives the headers without the body; a byte range gives 206 with exactly those bytes', async () => {
  const callId = await newCall();
  await store(callId);
  const h = await raw('HEAD', `/v1/calls/${callId}/recording`);
  assert.equal(h.status, 200);
  assert.match(String(h.headers['content-type']), /^audio\/wav/);
  assert.equal(h.bytes.length, 0);

  const part = await raw('GET', `/v1/calls/${callId}/recording`, t.org.key, { range: 'bytes=40-99' });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes 40-99/${wav.length}`);
  assert.ok(part.bytes.equals(wav.subarray(40, 100)));

  const open = await raw('GET', `/v1/calls/${callId}/recording`, t.org.key, { range: `bytes=${wav.length - 10}-` });
  assert.equal(open.status, 206);
  assert.ok(open.bytes.equals(wav.subarray(wav.length - 10)));

  const suffix = await raw('GET', `/v1/calls/${callId}/recording`, t.org.key, { range: 'bytes=-4' });
  assert.equal(suffix.status, 206);
  assert.equal(suffix.headers['content-range'], `bytes ${wav.length - 4}-${wav.length - 1}/${wav.length}`);
  assert.ok(suffix.bytes.equals(wav.subarray(wav.length - 4)));

  const past = await raw('GET', `/v1/calls/${callId}/recording`, t.org.key, { range: `bytes=${wav.length}-` });
  assert.equal(past.status, 416);
  assert.equal(past.json().error.code, 'range_not_satisfiable');
  assert.equal(past.headers['content-range'], `bytes */${wav.length}`);

  const several = await raw('GET', `/v1/calls/${callId}/recording`, t.org.key, { range: 'bytes=0-1,5-6' });
  assert.equal(several.status, 200, 'several ranges: the whole file (a server may ignore Range)');
  assert.ok(several.bytes.equals(wav));
});

test('404 recording_not_found for a call without one, call_not_found for an unknown call', async () => {
  const callId = await newCall();
  const none = await raw('GET', `/v1/calls/${callId}/recording`);
  assert.equal(none.status, 404);
  assert.equal(none.json().error.code, 'recording_not_found');
  const unknown = await raw('GET', '/v1/calls/call_nope/recording');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json().error.code, 'call_not_found');
  const noKey = await t.app.inject({ method: 'GET', url: `/v1/calls/${callId}/recording` });
  assert.equal(noKey.statusCode, 401);
});

test("another organization cannot fetch (or learn of) a call's recording", async () => {
  const callId = await newCall();
  await store(callId);
  const other = await t.newOrg('org B');
  const r = await raw('GET', `/v1/calls/${callId}/recording`, other.key);
  assert.equal(r.status, 404);
  assert.equal(r.json().error.code, 'call_not_found');
  assert.equal((await raw('HEAD', `/v1/calls/${callId}/recording`, other.key)).status, 404);
  // The same call id in org B, without a recording, does not see org A's.
  const b = await callFixture(other, {}, '+14155550188');
  const mine = await other.req('POST', `/v1/agents/${b.agentId}/outbound-calls`, { to: '+14155550123', call_id: callId });
  assert.equal(mine.status, 202, mine.raw);
  const again = await raw('GET', `/v1/calls/${callId}/recording`, other.key);
  assert.equal(again.json().error.code, 'recording_not_found');
});

test('the OpenAPI document describes the route as audio/wav, and the call schema has recording and metrics', async () => {
  const doc = JSON.parse((await t.app.inject({ method: 'GET', url: '/openapi.json' })).body);
  const op = doc.paths['/v1/calls/{callId}/recording']?.get;
  assert.ok(op, 'the route is documented');
  assert.ok(op.responses['200'].content['audio/wav'], JSON.stringify(op.responses['200']));
  assert.ok(op.responses['206'].content['audio/wav']);
  const call = JSON.stringify(doc);
  for (const field of ['answer_to_greeting_ms', 'end_to_end_p50_ms', 'summary_source', 'analyzed_at']) assert.ok(call.includes(field), field);
});
