/**
 * The whole path with real programs: API -> store -> dispatcher -> media worker thread -> SIP/RTP
 * -> SIPp as the callee, and back: lifecycle in the store, signed result webhook to a receiver.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import type { resultData } from '../../src/calls/outbox.js';
import { decodeMuLaw } from '../../src/media/index.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import { verifyWebhook } from '../../src/http-client/signing.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { freeUdpPort, startSipp, waitExit, type SippProcess } from '../helpers/sipp.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const haveTools = toolAvailable('sipp') && toolAvailable('espeak-ng');
const skip = haveTools ? false : 'sipp or espeak-ng is not installed (scripts/setup-test-env.sh)';
const fixture = (dir: string, name: string) => fileURLToPath(new URL(`../fixtures/${dir}/${name}`, import.meta.url));

let t: TestApp;
let plane: CallPlane;
let deliverer: WebhookDeliverer;
let receiver: WebhookReceiver;
let sipp: SippProcess | undefined;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  receiver = await new WebhookReceiver().start();
  deliverer = new WebhookDeliverer(t.ctx, { pollMs: 100 });
  await deliverer.start();
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 31000, rtpPortMax: 31998, threads: 2 });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await deliverer.stop();
  await receiver.stop();
  await t.close();
});
afterEach(async () => {
  await sipp?.stop();
  sipp = undefined;
});

/** A trunk pointing at SIPp, credentials optional, and a voice agent with a number on it. */
async function setup(sippPort: number, trunkExtra: Record<string, unknown> = {}, greeting = 'Hello, this is Outcall calling about your appointment.') {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `sipp-${n}`, host: '127.0.0.1', port: sippPort, ...trunkExtra });
  const agent = await t.org.req('POST', '/v1/agents', { name: `agent-${n}`, greeting, max_cps: 50 });
  const number = `+1415${n}`;
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  assert.equal(pn.status, 201, pn.raw);
  return { agentId: agent.body.id as string };
}

async function place(agentId: string, body: Record<string, unknown> = {}) {
  const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, {
    to: '+14155550123',
    callback_url: receiver.url('/result'),
    metadata: { case: 'e2e', z: 1, a: [1, 2] },
    ...body,
  });
  assert.equal(r.status, 202, r.raw);
  return r.body.id as string;
}

/** The signed result webhook for a call, verified. */
async function resultWebhook(callId: string, timeoutMs = 20_000) {
  const [secret] = (await t.org.req('GET', '/v1/webhook-secrets')).body.data.map((s: { secret: string }) => s.secret);
  const got = await waitFor(
    `result webhook of ${callId}`,
    () => receiver.received.find((r) => r.url === '/result' && JSON.parse(r.body).data.call_id === callId),
    timeoutMs,
  );
  verifyWebhook(secret, got.headers as Record<string, string>, got.body);
  assert.ok(got.body.includes('"metadata":{"case":"e2e","z":1,"a":[1,2]}'), 'metadata echoed verbatim');
  assert.equal(receiver.received.filter((r) => r.url === '/result' && JSON.parse(r.body).data.call_id === callId).length, 1, 'exactly one result webhook');
  return JSON.parse(got.body).data as ReturnType<typeof resultData>;
}

async function statuses(callId: string): Promise<string[]> {
  return (await t.org.req('GET', `/v1/calls/${callId}/events`)).body.data.map((e: { to_status: string }) => e.to_status);
}

describe('live calls against SIPp', { skip }, () => {
  test('answered: the greeting is heard after the answer (not on early media), then we hang up: completed', async () => {
    const sink: Socket = createSocket('udp4');
    const heard: Array<{ at: number; payload: Buffer }> = [];
    sink.on('message', (m) => heard.push({ at: Date.now(), payload: m.subarray(12) }));
    const sinkPort = await freeUdpPort();
    await new Promise<void>((r) => sink.bind(sinkPort, '127.0.0.1', r));
    try {
      const port = await freeUdpPort();
      sipp = await startSipp({ scenario: fixture('e2e', 'uas_early_media_sink.xml'), port, keys: { sink_port: String(sinkPort) } });
      const { agentId } = await setup(port);
      const callId = await place(agentId, { status_callback: { url: receiver.url('/status'), events: ['initiated', 'ringing', 'answered', 'completed'] } });
      const result = await resultWebhook(callId);
      assert.equal(result.status, 'completed');
      assert.equal(result.end_reason, 'agent_hangup');
      assert.equal(result.sip_status_code, 200);
      assert.ok(result.duration_s! > 1, `the greeting took time to play: ${result.duration_s} s`);
      assert.deepEqual(await statuses(callId), ['queued', 'dispatching', 'dialing', 'in_progress', 'completed']);
      assert.equal(await waitExit(sipp), 0, 'SIPp saw the whole dialog, our BYE included');
      const answeredAt = Date.parse(result.answered_at!);
      assert.ok(heard.length > 50, `greeting audio arrived: ${heard.length} packets`);
      assert.ok(heard[0]!.at >= answeredAt - 5, 'no audio before the answer, even with early media');
      const pcm = heard.flatMap((h) => [...decodeMuLaw(new Uint8Array(h.payload))]);
      const rms = Math.sqrt(pcm.reduce((a, v) => a + v * v, 0) / pcm.length);
      assert.ok(rms > 300, `the greeting is speech, not silence (rms ${rms.toFixed(0)})`);
      const status = await waitFor('status callbacks', () => {
        const s = receiver.received.filter((r) => r.url === '/status' && JSON.parse(r.body).data.call_id === callId);
        return s.length >= 4 ? s : undefined;
      });
      assert.deepEqual(status.map((s) => JSON.parse(s.body).type).sort(), ['call.answered', 'call.completed', 'call.initiated', 'call.ringing']);
    } finally {
      sink.close();
    }
  });

  test('busy: 486 ends busy', async () => {
    const port = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('sipp', 'uas_busy.xml'), port });
    const { agentId } = await setup(port);
    const r = await resultWebhook(await place(agentId));
    assert.deepEqual([r.status, r.sip_status_code, r.end_reason, r.transcript_id, r.answered_at], ['busy', 486, 'busy', null, null]);
  });

  test('503 and 403 end failed with their SIP code; the right password gets through digest auth', async () => {
    let port = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('e2e', 'uas_503.xml'), port });
    let { agentId } = await setup(port);
    let r = await resultWebhook(await place(agentId));
    assert.deepEqual([r.status, r.sip_status_code, r.end_reason], ['failed', 503, 'sip_error']);
    await sipp.stop();

    port = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('sipp', 'uas_auth.xml'), port });
    ({ agentId } = await setup(port, { username: 'alice', password: 'wrong-password' }));
    r = await resultWebhook(await place(agentId));
    assert.deepEqual([r.status, r.sip_status_code], ['failed', 403]);
    await sipp.stop();

    port = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('sipp', 'uas_auth.xml'), port });
    ({ agentId } = await setup(port, { username: 'alice', password: 's3cret' }, 'Hi.'));
    r = await resultWebhook(await place(agentId));
    assert.deepEqual([r.status, r.sip_status_code, r.end_reason], ['completed', 200, 'agent_hangup']);
  });

  test('no answer: the ring timeout sends CANCEL and ends no_answer', async () => {
    const port = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('sipp', 'uas_ring_noanswer.xml'), port });
    const { agentId } = await setup(port);
    const r = await resultWebhook(await place(agentId, { ring_timeout_s: 5 }));
    assert.deepEqual([r.status, r.end_reason], ['no_answer', 'ring_timeout']);
    assert.ok(sipp.received().some((m) => m.startsWith('CANCEL ')), 'SIPp received our CANCEL');
  });

  test('cancel while ringing sends CANCEL and ends canceled', async () => {
    const port = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('sipp', 'uas_ring_noanswer.xml'), port });
    const { agentId } = await setup(port);
    const callId = await place(agentId);
    await waitFor('dialing', async () => ((await t.org.req('GET', `/v1/calls/${callId}`)).body.status === 'dialing' ? true : undefined));
    await waitFor('ringing', () => (sipp!.received().some((m) => m.startsWith('INVITE ')) ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    const c = await t.org.req('POST', `/v1/agents/${(await t.org.req('GET', `/v1/calls/${callId}`)).body.agent_id}/outbound-calls/${callId}/cancel`);
    assert.equal(c.status, 202);
    const r = await resultWebhook(callId);
    assert.deepEqual([r.status, r.end_reason, r.sip_status_code], ['canceled', 'canceled_by_api', 487]);
    assert.ok(sipp.received().some((m) => m.startsWith('CANCEL ')));
  });

  test('cancel after answer hangs up with BYE: completed, canceled_by_api', async () => {
    const port = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('sipp', 'uas_answer.xml'), port });
    const long = 'This is a long message that keeps talking. '.repeat(30);
    const { agentId } = await setup(port, {}, long);
    const callId = await place(agentId);
    await waitFor('in_progress', async () => ((await t.org.req('GET', `/v1/calls/${callId}`)).body.status === 'in_progress' ? true : undefined));
    await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls/${callId}/cancel`);
    const r = await resultWebhook(callId);
    assert.deepEqual([r.status, r.end_reason, r.sip_status_code], ['completed', 'canceled_by_api', 200]);
    assert.equal(await waitExit(sipp), 0);
  });

  test('max_duration: the platform hangs up a call that is still talking', async () => {
    const port = await freeUdpPort();
    // The callee echoes our RTP: a silent peer would hit the 30 s RTP timeout at the same instant as
    // the 30 s limit, and which one ended the call would be a race (CI once saw media_timeout).
    const mediaPort = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('sipp', 'uas_answer.xml'), port, extraArgs: ['-timeout', '120s', '-mp', String(mediaPort), '-rtp_echo'] });
    const { agentId } = await setup(port, {}, 'This message keeps going for a long while. '.repeat(40));
    const r = await resultWebhook(await place(agentId, { max_duration_s: 30 }), 60_000);
    assert.deepEqual([r.status, r.end_reason, r.sip_status_code], ['completed', 'max_duration_reached', 200]);
    assert.ok(r.duration_s! >= 29.9 && r.duration_s! < 40, `ended at the limit, not before: ${r.duration_s} s`);
    assert.equal(await waitExit(sipp), 0, 'SIPp got our BYE');
  });

  test('two media threads: concurrent calls are spread over both, each with its own SIP port', async () => {
    assert.equal(new Set(plane.media.sipPorts).size, 2);
    const port = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('sipp', 'uas_answer.xml'), port, calls: 2 });
    const { agentId } = await setup(port, {}, 'This message keeps going for a long while. '.repeat(20));
    const ids = [await place(agentId), await place(agentId)];
    await waitFor('both calls in progress', async () => {
      const s = await Promise.all(ids.map(async (id) => (await t.org.req('GET', `/v1/calls/${id}`)).body.status));
      return s.every((x) => x === 'in_progress') ? true : undefined;
    });
    assert.deepEqual(plane.media.load, [1, 1], 'one call on each thread');
    const contacts = new Set(sipp.received().filter((m) => m.startsWith('INVITE ')).map((m) => /\nContact:[^\n]*:(\d+)/i.exec(m)?.[1]));
    assert.equal(contacts.size, 2, 'the INVITEs came from two SIP ports');
    for (const id of ids) await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls/${id}/cancel`);
    for (const id of ids) assert.equal((await resultWebhook(id)).end_reason, 'canceled_by_api');
    assert.deepEqual(plane.media.load, [0, 0]);
  });
});
