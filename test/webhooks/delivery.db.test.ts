import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallStatus } from '../../src/contract/status.js';
import { transitionCall } from '../../src/calls/transitions.js';
import { sql } from '../../src/store/sql.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import type { listDeliveries } from '../../src/webhooks/deliveries.js';
import { verifyWebhook } from '../../src/http-client/signing.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

let clock = Date.parse('2026-06-01T12:00:00.000Z');
const now = () => new Date(clock);
let t: TestApp;
let agentId: string;
let receiver: WebhookReceiver;

before(async () => {
  t = await startTestApp({ allowPrivateUrls: true, now });
  agentId = (await callFixture(t.org)).agentId;
});
after(async () => t.close());
afterEach(async () => receiver?.stop());

const deliverer = (timeoutMs = 2000) => new WebhookDeliverer(t.ctx, { timeoutMs, random: () => 0.5 });

async function secrets(): Promise<string[]> {
  return (await t.org.req('GET', '/v1/webhook-secrets')).body.data.map((s: { secret: string }) => s.secret);
}

/** A call that ended busy, with its result webhook pointed at url. */
async function endedCall(url: string, extra: Record<string, unknown> = {}): Promise<string> {
  const c = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', callback_url: url, metadata: { order: 42, b: 1, a: 2 }, ...extra });
  assert.equal(c.status, 202, c.raw);
  for (const to of ['dispatching', 'dialing', 'busy'] as CallStatus[]) {
    await t.db.transaction((tx) => transitionCall(tx, { orgId: t.org.id, callId: c.body.id, to, at: now(), facts: to === 'busy' ? { sipStatusCode: 486, endReason: 'busy' } : {} }));
  }
  return c.body.id;
}

type Delivery = Awaited<ReturnType<typeof listDeliveries>>['data'][number];

async function deliveries(callId: string) {
  return (await t.org.req('GET', `/v1/webhook-deliveries?call_id=${callId}`)).body.data as Delivery[];
}

test('a result webhook is delivered once, signed, with the Standard Webhooks headers', async () => {
  receiver = await new WebhookReceiver().start();
  const callId = await endedCall(receiver.url());
  assert.equal(await deliverer().runOnce(), 1);
  assert.equal(receiver.received.length, 1);
  const r = receiver.received[0]!;
  assert.equal(r.method, 'POST');
  assert.equal(r.headers['content-type'], 'application/json');
  assert.match(String(r.headers['webhook-id']), /^evt_/);
  assert.equal(r.headers['webhook-timestamp'], String(Math.floor(clock / 1000)));
  const [secret] = await secrets();
  assert.doesNotThrow(() => verifyWebhook(secret!, r.headers as Record<string, string>, r.body, { now: now() }));
  const body = JSON.parse(r.body);
  assert.equal(body.type, 'call.result');
  assert.equal(body.data.call_id, callId);
  assert.ok(r.body.includes('"metadata":{"order":42,"b":1,"a":2}'));
  const [d] = await deliveries(callId);
  assert.equal(d!.status, 'delivered');
  assert.equal(d!.attempts, 1);
  assert.equal(d!.last_status_code, 200);
  assert.equal(await deliverer().runOnce(), 0, 'nothing left to send');
});

test('5xx is retried with backoff until a 2xx; never marked delivered before', async () => {
  receiver = await new WebhookReceiver().start();
  receiver.answer({ status: 500 }, { status: 503 });
  const callId = await endedCall(receiver.url());
  const dl = deliverer();
  await dl.runOnce();
  let [d] = await deliveries(callId);
  assert.equal(d!.status, 'pending');
  assert.equal(d!.last_status_code, 500);
  assert.equal(Date.parse(d!.next_attempt_at!), clock + 5000, 'first retry after 5 s');
  assert.equal(await dl.runOnce(), 0, 'not due yet');
  clock += 5000;
  await dl.runOnce();
  [d] = await deliveries(callId);
  assert.equal(d!.status, 'pending');
  assert.equal(Date.parse(d!.next_attempt_at!), clock + 15000, 'second retry after 15 s');
  clock += 15000;
  await dl.runOnce();
  [d] = await deliveries(callId);
  assert.equal(d!.status, 'delivered');
  assert.equal(d!.attempts, 3);
  assert.equal(receiver.received.length, 3);
  assert.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, 1, 'one event id across attempts');
});

test('a receiver that is down for a while, then up: every event delivered, none marked twice', async () => {
  const probe = await new WebhookReceiver().start();
  const port = probe.port;
  await probe.stop();
  const ids = [await endedCall(`http://127.0.0.1:${port}/hook`), await endedCall(`http://127.0.0.1:${port}/hook`)];
  const dl = deliverer();
  for (let i = 0; i < 3; i++) {
    await dl.runOnce();
    clock += 60 * 60 * 1000;
  }
  for (const id of ids) {
    const [d] = await deliveries(id);
    assert.equal(d!.status, 'pending');
    assert.match(d!.last_error!, /ECONNREFUSED/);
  }
  receiver = await new WebhookReceiver().start(port);
  clock += 5 * 60 * 60 * 1000;
  await dl.runOnce();
  await dl.runOnce();
  const [secret] = await secrets();
  assert.equal(receiver.received.length, 2);
  for (const r of receiver.received) verifyWebhook(secret!, r.headers as Record<string, string>, r.body, { now: now() });
  for (const id of ids) {
    const [d] = await deliveries(id);
    assert.equal(d!.status, 'delivered');
    assert.equal(d!.attempts, 4);
  }
});

test('4xx is final, 429 honors Retry-After, timeouts are retried, and the window ends in failed', async () => {
  receiver = await new WebhookReceiver().start();
  receiver.answer({ status: 404 }, { status: 429, headers: { 'retry-after': '120' } }, 'hang');
  const a = await endedCall(receiver.url('/gone'));
  const dl = deliverer(300);
  await dl.runOnce();
  assert.equal((await deliveries(a))[0]!.status, 'failed');
  assert.equal((await deliveries(a))[0]!.last_status_code, 404);
  const b = await endedCall(receiver.url('/busy'));
  await dl.runOnce();
  const db = (await deliveries(b))[0]!;
  assert.equal(db.status, 'pending');
  assert.equal(Date.parse(db.next_attempt_at!), clock + 120_000);
  clock += 120_000;
  await dl.runOnce();
  const dt = (await deliveries(b))[0]!;
  assert.equal(dt.status, 'pending');
  assert.match(dt.last_error!, /timed out/);
  // Past the retry window the next failure is final.
  await t.db.query(sql`update webhook_deliveries set created_at = created_at - interval '27 hours' where id = ${dt.id}`);
  clock += 60_000;
  receiver.answer({ status: 502 });
  await dl.runOnce();
  assert.equal((await deliveries(b))[0]!.status, 'failed');
});

test('GET status callbacks carry the event in the query, signed over the whole query string as sent (the URL\'s own parameters too)', async () => {
  receiver = await new WebhookReceiver().start();
  const c = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, {
    to: '+14155550123',
    status_callback: { url: receiver.url('/status?tenant=7'), events: ['initiated'], method: 'GET' },
  });
  for (const to of ['dispatching', 'dialing'] as CallStatus[]) await t.db.transaction((tx) => transitionCall(tx, { orgId: t.org.id, callId: c.body.id, to, at: now() }));
  await deliverer().runOnce();
  assert.equal(receiver.received.length, 1);
  const r = receiver.received[0]!;
  assert.equal(r.method, 'GET');
  const u = new URL(r.url, 'http://x');
  assert.equal(u.searchParams.get('tenant'), '7');
  assert.equal(u.searchParams.get('type'), 'call.initiated');
  assert.equal(u.searchParams.get('call_id'), c.body.id);
  assert.equal(u.searchParams.get('status'), 'dialing');
  assert.ok(u.search.startsWith('?tenant=7&type=call.initiated&'), `the URL's own query first, then the event: ${u.search}`);
  const [secret] = await secrets();
  // What the receiver has: everything after "?" in the request line, undecoded.
  verifyWebhook(secret!, r.headers as Record<string, string>, r.url.slice(r.url.indexOf('?') + 1), { now: now() });
  assert.throws(() => verifyWebhook(secret!, r.headers as Record<string, string>, u.search.slice(1).replace(/^tenant=7&/, ''), { now: now() }), /no matching signature/);
});

test('private addresses are refused at delivery time unless allowed; nothing is sent', async () => {
  receiver = await new WebhookReceiver().start();
  const callId = await endedCall(receiver.url());
  const strict = new WebhookDeliverer({ ...t.ctx, allowPrivateUrls: false }, { timeoutMs: 1000 });
  await strict.runOnce();
  assert.equal(receiver.received.length, 0);
  const [d] = await deliveries(callId);
  assert.equal(d!.status, 'failed');
  assert.match(d!.last_error!, /private address/);
  // A host name that resolves to loopback is caught by the lookup at connect time.
  const named = await endedCall(`http://localhost:${receiver.port}/hook`);
  await strict.runOnce();
  assert.equal(receiver.received.length, 0);
  assert.match((await deliveries(named))[0]!.last_error!, /resolves to private address/);
});

test('redeliver sends the same event again as a new delivery; other organizations cannot', async () => {
  receiver = await new WebhookReceiver().start();
  const callId = await endedCall(receiver.url());
  await deliverer().runOnce();
  const [first] = await deliveries(callId);
  const other = await t.newOrg();
  assert.equal((await other.req('POST', `/v1/webhook-deliveries/${first!.id}/redeliver`)).status, 404);
  assert.deepEqual((await other.req('GET', '/v1/webhook-deliveries')).body.data, []);
  const again = await t.org.req('POST', `/v1/webhook-deliveries/${first!.id}/redeliver`);
  assert.equal(again.status, 202, again.raw);
  assert.equal(again.body.webhook_id, first!.webhook_id);
  assert.notEqual(again.body.id, first!.id);
  await deliverer().runOnce();
  assert.equal(receiver.received.length, 2);
  assert.equal(receiver.received[0]!.headers['webhook-id'], receiver.received[1]!.headers['webhook-id']);
  const all = await deliveries(callId);
  assert.deepEqual(all.map((d) => d.status), ['delivered', 'delivered']);
});

test('after a rotation both secrets verify during the grace period, then only the new one signs', async () => {
  receiver = await new WebhookReceiver().start();
  const before = await secrets();
  const rotated = await t.org.req('POST', '/v1/webhook-secrets/rotate', { grace_period_s: 3600 });
  assert.equal(rotated.status, 200, rotated.raw);
  const [fresh, old] = rotated.body.data.map((s: { secret: string }) => s.secret);
  assert.equal(old, before[0]);
  await endedCall(receiver.url());
  await deliverer().runOnce();
  const r = receiver.received[0]!;
  assert.equal(String(r.headers['webhook-signature']).split(' ').length, 2);
  verifyWebhook(fresh!, r.headers as Record<string, string>, r.body, { now: now() });
  verifyWebhook(old!, r.headers as Record<string, string>, r.body, { now: now() });
  clock += 3601_000;
  await endedCall(receiver.url());
  await deliverer().runOnce();
  const r2 = receiver.received[1]!;
  assert.equal(String(r2.headers['webhook-signature']).split(' ').length, 1);
  assert.throws(() => verifyWebhook(old!, r2.headers as Record<string, string>, r2.body, { now: now() }));
});
