/**
 * The call object and its webhooks say exactly what happened, on live calls (API -> store ->
 * dispatcher -> media worker thread -> SIP/RTP -> SIPp): metadata echoed byte for byte, status
 * callbacks signed over what the receiver gets (checked with the reference `standardwebhooks`
 * library), one call.ringing however often the callee's side rings, a failed call's error, the
 * call's direction, agent name and disconnection, and several status callback URLs.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { freePort, freeUdpPort, startSipp, type SippProcess } from '../helpers/sipp.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver, type Received } from '../helpers/webhook-receiver.js';

const haveTools = toolAvailable('sipp') && toolAvailable('espeak-ng');
const skip = haveTools ? false : 'sipp or espeak-ng is not installed (scripts/setup-test-env.sh)';
const fixture = (dir: string, name: string) => fileURLToPath(new URL(`../fixtures/${dir}/${name}`, import.meta.url));

// RTP: of 43000-43998 this file has 43000-43640 (the call plane 43000-43498, SIPp media 43500+);
// conversation-events.db.test.ts has the rest.
const RTP_MIN = 43000;
const RTP_MAX = 43498;
let sippMediaPort = 43500;
const sippMedia = () => ['-mp', String((sippMediaPort += 4))];

/** The brief's metadata: a number past 2^64, a float with a zero fraction, an exponent, escapes. */
const META = String.raw`{"id": 18446744073709551617, "f": 1.0, "e": 1e2, "s": "\u00e9\/"}`;

let t: TestApp;
let plane: CallPlane;
let deliverer: WebhookDeliverer;
let hooks: WebhookReceiver;
let flaky: WebhookReceiver;
let sipp: SippProcess | undefined;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  hooks = await new WebhookReceiver().start();
  flaky = await new WebhookReceiver().start();
  // random 0: the shortest retry delay (4 s), so the flaky receiver's retry comes within the test.
  deliverer = new WebhookDeliverer(t.ctx, { pollMs: 100, random: () => 0 });
  await deliverer.start();
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: RTP_MIN, rtpPortMax: RTP_MAX });
});
after(async () => {
  if (skip) return;
  // A before() that failed half way leaves some of these unset.
  const started = <T>(x: T) => x as T | undefined;
  await started(plane)?.stop();
  await started(deliverer)?.stop();
  await started(hooks)?.stop();
  await started(flaky)?.stop();
  await started(t)?.close();
});
afterEach(async () => {
  await sipp?.stop();
  sipp = undefined;
});

async function sippAt(scenario: string): Promise<number> {
  const port = await freeUdpPort();
  sipp = await startSipp({ scenario, port, extraArgs: sippMedia() });
  return port;
}

/** A trunk to the peer, an agent that greets and hangs up, a number: the agent's id. */
async function setup(port: number, o: { trunk?: Record<string, unknown>; name?: string; greeting?: string } = {}): Promise<string> {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `peer-${n}`, host: '127.0.0.1', port, ...o.trunk });
  assert.equal(trunk.status, 201, trunk.raw);
  const agent = await t.org.req('POST', '/v1/agents', { name: o.name ?? `agent-${n}`, greeting: o.greeting ?? 'Hi.', max_cps: 50 });
  assert.equal(agent.status, 201, agent.raw);
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1415${n}`, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  assert.equal(pn.status, 201, pn.raw);
  return agent.body.id as string;
}

/** Places a call with the body as given (text: sent byte for byte). */
async function place(agentId: string, body: Record<string, unknown> | string) {
  const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, body);
  assert.equal(r.status, 202, r.raw);
  return r;
}

async function secret(): Promise<string> {
  return ((await t.org.req('GET', '/v1/webhook-secrets')).body.data as Array<{ secret: string }>)[0]!.secret;
}

/**
 * What a receiver passes to the reference verifier: POST, the body as received; GET, the whole
 * query string as received (everything after "?" in the request line, undecoded).
 */
const signedPayload = (h: Received) => (h.method === 'GET' ? h.url.slice(h.url.indexOf('?') + 1) : h.body);

function verifyReference(whsec: string, h: Received): void {
  new Webhook(whsec).verify(signedPayload(h), h.headers as Record<string, string>, { jsonParse: false });
}

/** The event a request carries, POST (JSON body) or GET (query). */
function eventOf(h: Received): { type: string; callId: string } {
  if (h.method === 'GET') {
    const q = new URL(h.url, 'http://x').searchParams;
    return { type: q.get('type') ?? '', callId: q.get('call_id') ?? '' };
  }
  const b = JSON.parse(h.body) as { type: string; data: { call_id: string } };
  return { type: b.type, callId: b.data.call_id };
}

const hooksOf = (r: WebhookReceiver, callId: string, type?: string) =>
  r.received.filter((h) => eventOf(h).callId === callId && (type === undefined || eventOf(h).type === type));

async function resultOf(callId: string) {
  const h = await waitFor(`call.result of ${callId}`, () => hooksOf(hooks, callId, 'call.result')[0], 30_000);
  verifyReference(await secret(), h);
  return { hook: h, data: JSON.parse(h.body).data as Record<string, unknown> };
}

/** The SSE stream of an ended call: it sends `call` and `end`, then closes. */
async function streamOf(callId: string): Promise<string> {
  const r = await t.app.inject({ method: 'GET', url: `/v1/calls/${callId}/stream`, headers: { authorization: `Bearer ${t.org.key}` } });
  assert.equal(r.statusCode, 200);
  return r.body;
}

describe('what the call object and its webhooks report, on live calls (SIPp)', { skip }, () => {
  test('metadata comes back byte for byte: the 202, GET, both lists, the stream, cancel, the signed call.result and a GET status callback', async () => {
    const port = await sippAt(fixture('sipp', 'uas_answer.xml'));
    const agentId = await setup(port);
    const body = `{"to": "+14155550123", "callback_url": "${hooks.url('/result')}",
      "status_callback": {"url": "${hooks.url('/status-get?tenant=7')}", "method": "GET", "events": ["answered"]},
      "metadata": ${META}}`;
    const created = await place(agentId, body);
    const callId = created.body.id as string;
    const echoed = `"metadata":${META}`;
    assert.ok(created.raw.includes(echoed), `the 202: ${created.raw}`);

    const { hook, data } = await resultOf(callId);
    assert.equal(data.status, 'completed');
    assert.ok(hook.body.includes(echoed), `the signed call.result body: ${hook.body}`);
    const get = await t.org.req('GET', `/v1/calls/${callId}`);
    assert.ok(get.raw.includes(echoed), `GET /v1/calls/{id}: ${get.raw}`);
    assert.ok((await t.org.req('GET', `/v1/agents/${agentId}/outbound-calls/${callId}`)).raw.includes(echoed), 'GET the nested call');
    assert.ok((await t.org.req('GET', `/v1/calls?agent_id=${agentId}`)).raw.includes(echoed), 'GET /v1/calls');
    assert.ok((await t.org.req('GET', `/v1/agents/${agentId}/outbound-calls`)).raw.includes(echoed), "the agent's list");
    const stream = await streamOf(callId);
    assert.equal(stream.split(`data: `).filter((d) => d.includes(echoed)).length, 2, `the stream's call and end events: ${stream}`);

    const status = await waitFor('the GET status callback', () => hooksOf(hooks, callId, 'call.answered')[0]);
    assert.equal(new URL(status.url, 'http://x').searchParams.get('metadata'), META, 'the GET callback carries the metadata text as sent');
    verifyReference(await secret(), status);

    // Cancel answers with the call too (a call scheduled for later is canceled at once).
    const later = await place(agentId, `{"to": "+14155550124", "scheduled_at": "${new Date(Date.now() + 3_600_000).toISOString()}", "metadata": ${META}}`);
    const canceled = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls/${later.body.id}/cancel`);
    assert.equal(canceled.status, 202);
    assert.ok(canceled.raw.includes(echoed), `cancel: ${canceled.raw}`);
    for (const text of [created.raw, hook.body, get.raw, stream, canceled.raw]) assert.ok(!text.includes('18446744073709552000'), 'never the rounded double');
  });

  test('status callbacks are signed over exactly what each receiver gets: POST and GET, with and without a query of the URL\'s own; several URLs get each event as their own delivery, with the same webhook-id', async () => {
    const whsec = await secret();
    const events = ['initiated', 'answered', 'completed'];
    // POST: a plain URL, one with a query of its own, and a receiver that fails the first attempt.
    let port = await sippAt(fixture('sipp', 'uas_answer.xml'));
    let agentId = await setup(port);
    flaky.answer({ status: 500 });
    const postUrls = [hooks.url('/post'), hooks.url('/post?tenant=7&x=a%20b'), flaky.url('/post-flaky')];
    const post = (await place(agentId, { to: '+14155550123', status_callback: { urls: postUrls, events } })).body.id as string;
    await waitFor('every POST delivery', () => (hooksOf(hooks, post).length === 6 && hooksOf(flaky, post).length === 4 ? true : undefined), 30_000);
    await sipp!.stop();

    // GET: a plain URL and one with a query of its own (the event's parameters follow it).
    port = await sippAt(fixture('sipp', 'uas_answer.xml'));
    agentId = await setup(port);
    const getUrls = [hooks.url('/get'), hooks.url('/get?tenant=7&x=a%20b')];
    const get = (await place(agentId, { to: '+14155550123', status_callback: { urls: getUrls, method: 'GET', events } })).body.id as string;
    await waitFor('every GET delivery', () => (hooksOf(hooks, get).length === 6 ? true : undefined), 30_000);

    for (const h of [...hooksOf(hooks, post), ...hooksOf(flaky, post), ...hooksOf(hooks, get)]) {
      assert.doesNotThrow(() => verifyReference(whsec, h), `${h.method} ${h.url} verifies with standardwebhooks`);
    }
    const ownQuery = hooksOf(hooks, get).find((h) => h.url.startsWith('/get?tenant=7&x=a%20b&'));
    assert.ok(ownQuery, "the GET URL's own query comes first, as given, then the event");
    // Without the URL's own parameters the signature does not match: it covers the whole query.
    assert.throws(() => new Webhook(whsec).verify(ownQuery.url.replace('tenant=7&x=a%20b&', '').split('?')[1]!, ownQuery.headers as Record<string, string>, { jsonParse: false }));

    for (const [callId, urls] of [[post, postUrls], [get, getUrls]] as const) {
      for (const event of events) {
        const got = [...hooksOf(hooks, callId, `call.${event}`), ...hooksOf(flaky, callId, `call.${event}`)];
        const ids = new Set(got.map((h) => h.headers['webhook-id']));
        assert.equal(ids.size, 1, `call.${event}: one event id across its URLs`);
        for (const u of urls) {
          const path = u.slice(u.indexOf('/', 'http://'.length));
          assert.ok(got.some((h) => h.url === path || h.url.startsWith(`${path}${path.includes('?') ? '&' : '?'}`)), `call.${event} reached ${path}`);
        }
      }
    }
    // The flaky URL's first attempt failed and was retried on its own; the others were sent once.
    const deliveries = (await t.org.req('GET', `/v1/webhook-deliveries?call_id=${post}`)).body.data as Array<{ url: string; status: string; attempts: number; webhook_id: string }>;
    assert.equal(deliveries.length, 9, 'three deliveries per event');
    assert.ok(deliveries.every((d) => d.status === 'delivered'), JSON.stringify(deliveries));
    assert.deepEqual(deliveries.filter((d) => d.attempts > 1).map((d) => d.url), [flaky.url('/post-flaky')]);
    assert.equal(hooksOf(hooks, post).length, 6, 'the healthy receivers got each event once');
  });

  test('one call.ringing for a 180, a 183 and a repeated 180', async () => {
    const port = await sippAt(fixture('sipp', 'uas_ring_180_183_180.xml'));
    const agentId = await setup(port);
    const callId = (await place(agentId, { to: '+14155550123', callback_url: hooks.url('/result'), status_callback: { url: hooks.url('/ring'), events: ['ringing', 'answered', 'completed'] } })).body.id as string;
    await resultOf(callId);
    await waitFor('call.completed', () => hooksOf(hooks, callId, 'call.completed')[0]);
    const sent = sipp!.trace().split(/\n(?=-{10,} )/).filter((b) => /message sent/.test(b));
    assert.equal(sent.filter((b) => /SIP\/2\.0 180 Ringing/.test(b)).length, 2, 'SIPp sent 180 twice');
    assert.equal(sent.filter((b) => /SIP\/2\.0 183 Session Progress/.test(b)).length, 1, 'and 183 once');
    await new Promise((r) => setTimeout(r, 500)); // anything late would have been delivered by now
    assert.equal(hooksOf(hooks, callId, 'call.ringing').length, 1, 'one call.ringing');
    const deliveries = (await t.org.req('GET', `/v1/webhook-deliveries?call_id=${callId}`)).body.data as Array<{ type: string }>;
    assert.equal(deliveries.filter((d) => d.type === 'call.ringing').length, 1, 'one ringing event was ever enqueued');
  });

  test('a failed call says why on the call: a 503 from the peer, an unreachable trunk; busy has no error', async () => {
    let port = await sippAt(fixture('e2e', 'uas_503.xml'));
    let agentId = await setup(port);
    const failed = (await place(agentId, { to: '+14155550123', callback_url: hooks.url('/result') })).body.id as string;
    const r503 = (await resultOf(failed)).data;
    const expected = { code: 'sip_error', message: 'Service Unavailable' };
    assert.deepEqual([r503.status, r503.sip_status_code, r503.error, r503.disconnection], ['failed', 503, expected, 'failed']);
    const got = (await t.org.req('GET', `/v1/calls/${failed}`)).body;
    assert.deepEqual([got.error, got.disconnection], [expected, 'failed']);
    const listed = (await t.org.req('GET', `/v1/calls?agent_id=${agentId}`)).body.data[0];
    assert.deepEqual(listed.error, expected);
    const end = (await streamOf(failed)).split('event: end\n')[1]!;
    assert.deepEqual(JSON.parse(end.replace(/^data: /, '')).error, expected, "the stream's end event");
    await sipp!.stop();

    // Nothing listens on the trunk's TCP port: the connection is refused, the call fails dial_error.
    const closed = await freePort();
    agentId = await setup(closed, { trunk: { transport: 'tcp' } });
    const unreachable = (await place(agentId, { to: '+14155550123', callback_url: hooks.url('/result') })).body.id as string;
    const rDial = (await resultOf(unreachable)).data as { status: string; error: { code: string; message: string }; disconnection: string };
    assert.equal(rDial.status, 'failed');
    assert.equal(rDial.error.code, 'dial_error');
    assert.match(rDial.error.message, /ECONNREFUSED/, 'the transport error, in words');
    assert.equal(rDial.disconnection, 'failed');
    assert.deepEqual((await t.org.req('GET', `/v1/calls/${unreachable}`)).body.error, rDial.error);

    port = await sippAt(fixture('sipp', 'uas_busy.xml'));
    agentId = await setup(port);
    const busy = (await resultOf((await place(agentId, { to: '+14155550123', callback_url: hooks.url('/result') })).body.id as string)).data;
    assert.deepEqual([busy.status, busy.error, busy.disconnection], ['busy', null, 'busy']);
  });

  test('direction, agent_name (kept through a rename and a delete) and disconnection, in the 202, GET, list and call.result', async () => {
    const port = await sippAt(fixture('sipp', 'uas_answer.xml'));
    const name = `Reminders ${Math.floor(Math.random() * 1e6)}`;
    const agentId = await setup(port, { name });
    const created = await place(agentId, { to: '+14155550123', callback_url: hooks.url('/result') });
    assert.deepEqual([created.body.direction, created.body.agent_name, created.body.disconnection, created.body.error], ['outbound', name, null, null]);
    const callId = created.body.id as string;
    const { data } = await resultOf(callId);
    assert.deepEqual([data.status, data.end_reason, data.disconnection, data.direction, data.agent_name, data.error], ['completed', 'agent_hangup', 'agent_hangup', 'outbound', name, null]);

    assert.equal((await t.org.req('PATCH', `/v1/agents/${agentId}`, { name: 'Renamed' })).status, 200);
    assert.equal((await t.org.req('GET', `/v1/calls/${callId}`)).body.agent_name, name, 'kept through a rename');
    assert.equal((await t.org.req('DELETE', `/v1/agents/${agentId}`)).status, 204);
    const after = (await t.org.req('GET', `/v1/calls/${callId}`)).body;
    assert.deepEqual([after.agent_name, after.direction, after.disconnection], [name, 'outbound', 'agent_hangup'], 'kept through a delete');
    const listed = ((await t.org.req('GET', '/v1/calls?limit=200')).body.data as Array<{ id: string; agent_name: string }>).find((c) => c.id === callId);
    assert.equal(listed?.agent_name, name);
  });
});
