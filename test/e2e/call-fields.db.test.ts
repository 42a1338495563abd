/**
 * Create-call fields that act on the INVITE and on when it is sent, through the API on live calls
 * against SIPp (the proofs test/contract/field-proofs.ts names):
 * - from picks the registered number (the INVITE's From user) and its trunk; caller_id_name is the
 *   From display name (RFC 3261 §20.20); each custom_sip_headers entry is a header of the INVITE; the
 *   call is known by its call_id (GET /v1/calls/{call_id}).
 * - scheduled_at: nothing is dialed before that time; the call dials once it is due.
 * - record.status_callback.method GET: the recording event arrives as a query string, signed over it.
 * - max_concurrent_calls of an agent and of a trunk: a second call waits for the first to end; an
 *   agent with on_limit reject answers 429 instead while its one call is live.
 * RTP ports: 34800-34858 (this file's range).
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freeUdpPort, startSipp, waitExit, type SippProcess } from '../helpers/sipp.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const haveTools = toolAvailable('sipp') && toolAvailable('espeak-ng');
const skip = haveTools ? false : 'sipp or espeak-ng is not installed (scripts/setup-test-env.sh)';
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));

let t: TestApp;
let plane: CallPlane;
let deliverer: WebhookDeliverer;
let hooks: WebhookReceiver;
const sipps: SippProcess[] = [];

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  hooks = await new WebhookReceiver().start();
  deliverer = new WebhookDeliverer(t.ctx, { pollMs: 100 });
  await deliverer.start();
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 34800, rtpPortMax: 34858 });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await deliverer.stop();
  await hooks.stop();
  await t.close();
});
afterEach(async () => {
  for (const s of sipps.splice(0)) await s.stop();
});

async function sipp(scenario: string, calls = 1): Promise<SippProcess> {
  // -rtp_echo: an answering peer sends the agent's audio back, as a phone would send its own.
  const extraArgs = scenario === 'uas_answer.xml' ? ['-mp', String(await freeUdpPort()), '-rtp_echo'] : [];
  const p = await startSipp({ scenario: fixture(scenario), port: await freeUdpPort(), calls, extraArgs });
  sipps.push(p);
  return p;
}

const uniq = () => String(Math.floor(Math.random() * 9e6) + 1e6);

async function created(path: string, body: Record<string, unknown>): Promise<string> {
  const r = await t.org.req('POST', path, body);
  assert.equal(r.status, 201, r.raw);
  return r.body.id as string;
}

/** A greeting-only agent, and a trunk to the peer with a number on it (the agent's only when `own`). */
async function setup(
  peerPort: number,
  own: boolean,
  o: { agent?: Record<string, unknown>; trunk?: Record<string, unknown> } = {},
): Promise<{ agentId: string; number: string }> {
  const trunkId = await created('/v1/trunks', { name: `fields-${uniq()}`, host: '127.0.0.1', port: peerPort, ...o.trunk });
  const agentId = await created('/v1/agents', { name: `fields-${uniq()}`, greeting: 'Hi.', max_cps: 50, ...o.agent });
  const number = `+1415${uniq()}`;
  await created('/v1/phone-numbers', { number, trunk_id: trunkId, ...(own ? { outbound_agent_id: agentId } : {}) });
  return { agentId, number };
}

async function ended(callId: string) {
  return waitFor(
    `call ${callId} to end`,
    async () => {
      const got = await t.org.req('GET', `/v1/calls/${callId}`);
      return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got : undefined;
    },
    30_000,
  );
}

const invitesOf = (p: SippProcess) => p.received().filter((m) => m.startsWith('INVITE '));
const header = (msg: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(msg)?.[1]?.trim() ?? '';

describe('create-call fields on live calls against SIPp', { skip }, () => {
  test('from, caller_id_name, custom_sip_headers and call_id: the INVITE carries them, the call is known by its call_id', async () => {
    const peer = await sipp('uas_busy.xml');
    // The number is not the agent's default: only `from` can pick it (without it: 422 no_from_number).
    const { agentId, number } = await setup(peer.port, false);
    const callId = `order-${uniq()}`;
    const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, {
      to: '+14155550123',
      from: number,
      caller_id_name: 'Acme Clinic',
      custom_sip_headers: [
        { name: 'X-Campaign', value: 'fall-2026' },
        { name: 'X-Order-Ref', value: 'A 17/b' },
      ],
      call_id: callId,
    });
    assert.equal(r.status, 202, r.raw);
    assert.equal(r.body.id, callId);
    const got = await ended(callId);
    assert.deepEqual([got.body.id, got.body.status, got.body.from], [callId, 'busy', number], got.raw);
    assert.equal(await waitExit(peer), 0);
    const invites = invitesOf(peer);
    assert.equal(invites.length, 1, 'one INVITE');
    const invite = invites[0] as string;
    assert.match(header(invite, 'From'), new RegExp(`^"Acme Clinic" <sip:\\${number}@127\\.0\\.0\\.1:${peer.port}>;tag=`), 'display name and number');
    assert.equal(header(invite, 'X-Campaign'), 'fall-2026');
    assert.equal(header(invite, 'X-Order-Ref'), 'A 17/b');
    const list = await t.org.req('GET', `/v1/calls?to=${encodeURIComponent('+14155550123')}`);
    assert.ok((list.body.data as Array<{ id: string }>).some((c) => c.id === callId), 'listed under its call_id');
  });

  test('scheduled_at: the call is not dialed before its time', async () => {
    const peer = await sipp('uas_busy.xml');
    const { agentId } = await setup(peer.port, true);
    const scheduledAt = new Date(Date.now() + 5_000);
    const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', scheduled_at: scheduledAt.toISOString() });
    assert.equal(r.status, 202, r.raw);
    assert.equal(r.body.status, 'queued');
    assert.equal(new Date(r.body.scheduled_at).getTime(), scheduledAt.getTime());
    const callId = r.body.id as string;
    // Until a second before its time the call stays queued and the peer has seen nothing.
    while (Date.now() < scheduledAt.getTime() - 1_000) {
      assert.equal(invitesOf(peer).length, 0, `an INVITE ${scheduledAt.getTime() - Date.now()} ms before scheduled_at`);
      assert.equal((await t.org.req('GET', `/v1/calls/${callId}`)).body.status, 'queued');
      await new Promise((res) => setTimeout(res, 250));
    }
    const got = await ended(callId);
    assert.equal(got.body.status, 'busy', got.raw);
    assert.ok(new Date(got.body.dispatched_at).getTime() >= scheduledAt.getTime(), `dispatched at ${got.body.dispatched_at}, due ${scheduledAt.toISOString()}`);
    assert.equal(await waitExit(peer), 0);
    assert.equal(invitesOf(peer).length, 1, 'dialed once it was due');
  });

  test('record.status_callback method GET: the recording event comes as a query string, signed over exactly that', async () => {
    const peer = await sipp('uas_busy.xml');
    const { agentId } = await setup(peer.port, true);
    const url = hooks.url('/rec-get?tenant=3');
    const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, {
      to: '+14155550123',
      record: { enabled: true, status_callback: { url, method: 'GET' } },
    });
    assert.equal(r.status, 202, r.raw);
    assert.deepEqual(r.body.record.status_callback, { url, method: 'GET' });
    const callId = r.body.id as string;
    assert.equal((await ended(callId)).body.status, 'busy');
    const ofCall = () => hooks.received.filter((h) => h.url.startsWith('/rec-get?') && new URL(h.url, 'http://x').searchParams.get('call_id') === callId);
    const got = await waitFor('the GET recording callback', () => ofCall()[0], 15_000);
    assert.equal(got.method, 'GET');
    assert.equal(got.body, '', 'no body: the event is the query');
    const query = got.url.slice(got.url.indexOf('?') + 1);
    assert.ok(query.startsWith('tenant=3&'), `the URL's own query first: ${query}`);
    const q = new URLSearchParams(query);
    assert.deepEqual([q.get('type'), q.get('reason')], ['recording.absent', 'not_answered'], query);
    const whsec = ((await t.org.req('GET', '/v1/webhook-secrets')).body.data as Array<{ secret: string }>)[0]!.secret;
    assert.doesNotThrow(() => new Webhook(whsec).verify(query, got.headers as Record<string, string>, { jsonParse: false }), 'standardwebhooks verifies the query as received');
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(ofCall().length, 1, 'once');
  });

  /** Two calls of one agent at once; each ends (the greeting-only agent hangs up after its greeting). */
  async function twoCalls(agentId: string): Promise<Array<{ status: string; dispatched_at: string; ended_at: string }>> {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: `+1415555011${i}` });
      assert.equal(r.status, 202, r.raw);
      ids.push(r.body.id as string);
    }
    const calls = await Promise.all(ids.map(async (id) => (await ended(id)).body as { status: string; dispatched_at: string; ended_at: string }));
    for (const c of calls) assert.equal(c.status, 'completed');
    return calls.sort((a, b) => Date.parse(a.dispatched_at) - Date.parse(b.dispatched_at));
  }

  const GREETING = 'Hello, this is a short reminder from the clinic about tomorrow.';

  test("max_concurrent_calls of the agent, then of the trunk: the second call is dialed only after the first ended", async () => {
    let peer = await sipp('uas_answer.xml', 2);
    let s = await setup(peer.port, true, { agent: { greeting: GREETING, max_concurrent_calls: 1 } });
    let [a, b] = await twoCalls(s.agentId);
    assert.ok(Date.parse(b!.dispatched_at) >= Date.parse(a!.ended_at), `agent limit: dispatched ${b!.dispatched_at}, first ended ${a!.ended_at}`);

    peer = await sipp('uas_answer.xml', 2);
    s = await setup(peer.port, true, { agent: { greeting: GREETING }, trunk: { max_concurrent_calls: 1 } });
    [a, b] = await twoCalls(s.agentId);
    assert.ok(Date.parse(b!.dispatched_at) >= Date.parse(a!.ended_at), `trunk limit: dispatched ${b!.dispatched_at}, first ended ${a!.ended_at}`);

    // The same two calls without a limit overlap: the waits above are the limits' doing.
    peer = await sipp('uas_answer.xml', 2);
    s = await setup(peer.port, true, { agent: { greeting: GREETING } });
    [a, b] = await twoCalls(s.agentId);
    assert.ok(Date.parse(b!.dispatched_at) < Date.parse(a!.ended_at), `no limit: dispatched ${b!.dispatched_at}, first ended ${a!.ended_at}`);
  });

  test('on_limit reject: while the one call the agent may have is live, another is refused with 429 and Retry-After; after it, accepted', async () => {
    const peer = await sipp('uas_answer.xml', 2);
    const { agentId } = await setup(peer.port, true, { agent: { greeting: GREETING, max_concurrent_calls: 1, on_limit: 'reject' } });
    const first = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550120' });
    assert.equal(first.status, 202, first.raw);
    await waitFor('the first call live', async () => ((await t.org.req('GET', `/v1/calls/${first.body.id}`)).body.status === 'in_progress' ? true : undefined), 15_000);
    const second = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550121' });
    assert.equal(second.status, 429, second.raw);
    assert.equal(second.body.error.code, 'rate_limited');
    assert.ok(Number(second.headers['retry-after']) >= 1, `Retry-After: ${String(second.headers['retry-after'])}`);
    assert.equal((await ended(first.body.id as string)).body.status, 'completed');
    const third = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550121' });
    assert.equal(third.status, 202, third.raw);
    assert.equal((await ended(third.body.id as string)).body.status, 'completed');
  });
});
