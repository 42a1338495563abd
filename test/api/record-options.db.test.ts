/**
 * The call's record options through the API: track, trim_silence and status_callback are accepted,
 * stored with their defaults and echoed on the call; dual with a single track is refused (422
 * conflicting_fields, param record.track); the recording status callback URL is checked like the
 * other callback URLs. The recording webhooks a call's transitions produce (recording.in-progress,
 * recording.completed with the stored recording, recording.absent) go exactly once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { transitionCall } from '../../src/calls/transitions.js';
import { insertRecording } from '../../src/store/recordings.js';
import { sql } from '../../src/store/sql.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let agentId: string;

before(async () => {
  t = await startTestApp();
  agentId = (await callFixture(t.org)).agentId;
});
after(async () => t.close());

const create = (record: unknown) => t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', record });

test('defaults: both tracks, no trimming, no recording callback; the options are echoed on the call', async () => {
  const r = await create({ enabled: true });
  assert.equal(r.status, 202, r.raw);
  assert.deepEqual(r.body.record, { enabled: true, channels: 'mono', track: 'both', trim_silence: false });
  const cb = { url: 'https://client.example.com/recordings', method: 'GET' };
  const full = await create({ enabled: true, channels: 'mono', track: 'inbound', trim_silence: true, status_callback: cb });
  assert.equal(full.status, 202, full.raw);
  assert.deepEqual(full.body.record, { enabled: true, channels: 'mono', track: 'inbound', trim_silence: true, status_callback: cb });
  const got = await t.org.req('GET', `/v1/calls/${full.body.id}`);
  assert.deepEqual(got.body.record, full.body.record);
  const post = await create({ enabled: true, status_callback: { url: 'https://client.example.com/r' } });
  assert.deepEqual(post.body.record.status_callback, { url: 'https://client.example.com/r', method: 'POST' }, 'method defaults to POST');
});

test('dual with one track is 422 conflicting_fields on record.track; both tracks in dual, one in mono are fine', async () => {
  for (const track of ['inbound', 'outbound']) {
    const r = await create({ enabled: true, channels: 'dual', track });
    assert.equal(r.status, 422, r.raw);
    assert.equal(r.body.error.code, 'conflicting_fields');
    assert.equal(r.body.error.param, 'record.track');
    assert.match(r.body.error.message, /mono/);
  }
  assert.equal((await create({ enabled: true, channels: 'dual', track: 'both' })).status, 202);
  assert.equal((await create({ enabled: true, channels: 'mono', track: 'outbound' })).status, 202);
  const before = await t.db.query<{ n: number }>(sql`select count(*)::int as n from calls`);
  await create({ enabled: true, channels: 'dual', track: 'inbound' });
  assert.equal((await t.db.query<{ n: number }>(sql`select count(*)::int as n from calls`)).rows[0]?.n, before.rows[0]?.n, 'nothing written');
});

test('bad values are 400 naming the field; a private recording callback URL is refused', async () => {
  const bad = await create({ enabled: true, track: 'callee' });
  assert.equal(bad.status, 400, bad.raw);
  assert.match(bad.body.error.param ?? '', /record/);
  assert.equal((await create({ enabled: true, trim_silence: 'yes' })).status, 400);
  assert.equal((await create({ enabled: true, status_callback: { url: 'https://x.example.com', events: ['completed'] } })).status, 400, 'unknown field');
  const priv = await create({ enabled: true, status_callback: { url: 'http://127.0.0.1:9/hook' } });
  assert.equal(priv.status, 400, priv.raw);
  assert.equal(priv.body.error.code, 'private_url_not_allowed');
  assert.equal(priv.body.error.param, 'record.status_callback.url');
});

async function recordingHooks(callId: string) {
  const r = await t.db.query<{ type: string; body: string; url: string; method: string }>(sql`select e.type, e.body, d.url, d.method
    from webhook_events e join webhook_deliveries d on d.event_id = e.id where e.call_id = ${callId} and e.type like 'recording.%' order by e.created_at, e.id`);
  return r.rows.map((x) => ({ type: x.type, url: x.url, method: x.method, data: JSON.parse(x.body).data }));
}

async function walk(callId: string, path: Array<'dispatching' | 'dialing' | 'in_progress' | 'completed' | 'no_answer' | 'failed'>) {
  for (const to of path) await t.db.transaction((tx) => transitionCall(tx, { orgId: t.org.id, callId, to, at: new Date() }));
}

test('recording callbacks: in-progress at answer and completed with the recording; absent when unanswered or nothing stored; each once', async () => {
  const cb = { url: 'https://client.example.com/rec', method: 'POST' };
  const recorded = await create({ enabled: true, track: 'inbound', status_callback: cb });
  const id = recorded.body.id as string;
  await walk(id, ['dispatching', 'dialing', 'in_progress']);
  assert.deepEqual((await recordingHooks(id)).map((h) => h.type), ['recording.in-progress']);
  await t.db.transaction(async (tx) => {
    await insertRecording(tx, { orgId: t.org.id, callId: id, channels: 'mono', sampleRate: 8000, durationMs: 1234, wav: new Uint8Array(44) });
    await transitionCall(tx, { orgId: t.org.id, callId: id, to: 'completed', at: new Date() });
  });
  const hooks = await recordingHooks(id);
  assert.deepEqual(hooks.map((h) => [h.type, h.url, h.method]), [['recording.in-progress', cb.url, 'POST'], ['recording.completed', cb.url, 'POST']]);
  assert.equal(hooks[0]?.data.event, 'in-progress');
  assert.equal(hooks[0]?.data.track, 'inbound');
  assert.deepEqual(hooks[1]?.data.recording, { url: `/v1/calls/${id}/recording`, duration_ms: 1234, channels: 'mono', sample_rate: 8000 });

  const unanswered = await create({ enabled: true, status_callback: cb });
  await walk(unanswered.body.id, ['dispatching', 'dialing', 'no_answer']);
  const u = await recordingHooks(unanswered.body.id);
  assert.deepEqual(u.map((h) => [h.type, h.data.reason]), [['recording.absent', 'not_answered']]);

  const lost = await create({ enabled: true, status_callback: cb });
  await walk(lost.body.id, ['dispatching', 'dialing', 'in_progress', 'failed']);
  assert.deepEqual((await recordingHooks(lost.body.id)).map((h) => [h.type, h.data.reason]), [['recording.in-progress', undefined], ['recording.absent', 'nothing_recorded']]);

  // Without a recording callback, or with record off: none.
  const plain = await create({ enabled: true });
  await walk(plain.body.id, ['dispatching', 'dialing', 'in_progress', 'completed']);
  assert.deepEqual(await recordingHooks(plain.body.id), []);
  const off = await create({ enabled: false, status_callback: cb });
  await walk(off.body.id, ['dispatching', 'dialing', 'in_progress', 'completed']);
  assert.deepEqual(await recordingHooks(off.body.id), []);
});
