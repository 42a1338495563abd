/**
 * conversation.created and conversation.ended on live calls (baresip as the callee, L16/16000):
 * subscribed through status_callback.events like the status events, sent once each, created at the
 * answer and ended with the transcript's id and turn count; not sent to a subscription that did not
 * ask for them, nor for a call that was never answered.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import { calleeSpeech } from '../fixtures/voice/callee.js';
import { freeUdpPort, startSipp, type SippProcess } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver, type Received } from '../helpers/webhook-receiver.js';
import { callEnded, placeCall, startVoiceRig, voiceSkip, type PlacedCall, type VoiceRig } from './voice-helpers.js';
import { fileURLToPath } from 'node:url';

const skip = voiceSkip();
// This file's share of 43000-43998 (call-report.db.test.ts has 43000-43640).
const RTP_MIN = 43700;
const RTP_MAX = 43998;

let rig: VoiceRig;
let deliverer: WebhookDeliverer;
let hooks: WebhookReceiver;
let placed: PlacedCall | undefined;
let sipp: SippProcess | undefined;

before(async () => {
  if (skip) return;
  rig = await startVoiceRig(RTP_MIN, RTP_MAX);
  hooks = await new WebhookReceiver().start();
  deliverer = new WebhookDeliverer(rig.t.ctx, { pollMs: 100 });
  await deliverer.start();
});
after(async () => {
  if (skip) return;
  await deliverer.stop();
  await hooks.stop();
  await rig.stop();
});
afterEach(async () => {
  await placed?.callee.stop();
  placed = undefined;
  await sipp?.stop();
  sipp = undefined;
});

const body = (h: Received) => JSON.parse(h.body) as { type: string; data: Record<string, unknown> };
const hooksOf = (callId: string) => hooks.received.filter((h) => body(h).data.call_id === callId);
const typesOf = (callId: string) => hooksOf(callId).map((h) => body(h).type);

const flow = {
  start: 'hello',
  nodes: {
    hello: { type: 'say', text: 'Hello, this is a short test call. Goodbye.', next: 'bye' },
    bye: { type: 'end' },
  },
};
const CONVERSATION = ['conversation.created', 'conversation.ended'];
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));
// SIPp's media ports, from this file's range too.
let sippMediaPort = 43650;
const sippMedia = () => ['-mp', String((sippMediaPort += 4))];

/** A trunk to a SIPp peer, an agent (`agent` body) and its number: the agent's id. */
async function agentOn(port: number, agent: Record<string, unknown>): Promise<string> {
  const t = rig.t;
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `sipp-${n}`, host: '127.0.0.1', port });
  const a = await t.org.req('POST', '/v1/agents', { name: `agent-${n}`, max_cps: 50, ...agent });
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1628${n}`, trunk_id: trunk.body.id, outbound_agent_id: a.body.id });
  assert.equal(pn.status, 201, pn.raw);
  return a.body.id as string;
}

/** The ended call (API) and its transcript's turns (none without a transcript). */
async function endedCall(callId: string) {
  const t = rig.t;
  const call = await waitFor('the call to end', async () => {
    const c = (await t.org.req('GET', `/v1/calls/${callId}`)).body as Record<string, unknown>;
    return c.ended_at ? c : undefined;
  }, 40_000);
  const turns = call.transcript_id ? ((await t.org.req('GET', `/v1/transcripts/${String(call.transcript_id)}`)).body.turns as unknown[]) : [];
  return { call, turns };
}

describe('conversation events on live calls', { skip }, () => {
  test('a voice agent (flow): conversation.created at the answer, conversation.ended with the transcript id and turn count, once each', async () => {
    const prompt = calleeSpeech('okay', 1, 8);
    assert.ok(prompt, 'flite + sox produced the callee speech');
    placed = await placeCall(rig.t, {
      prompt,
      agent: { flow },
      call: { status_callback: { url: hooks.url('/conv'), events: ['answered', ...CONVERSATION, 'completed'] } },
    });
    const ended = await callEnded(rig.t, placed, 40_000);
    assert.equal(ended.call.status, 'completed', JSON.stringify(ended.call));
    const callId = placed.callId;
    await waitFor('the four callbacks', () => (hooksOf(callId).length >= 4 ? true : undefined), 15_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(typesOf(callId).sort(), ['call.answered', 'call.completed', 'conversation.created', 'conversation.ended']);
    const created = body(hooksOf(callId).find((h) => body(h).type === 'conversation.created')!).data;
    const endedEv = body(hooksOf(callId).find((h) => body(h).type === 'conversation.ended')!).data;
    assert.equal(created.at, ended.call.answered_at, 'created at the answer');
    assert.ok(typeof ended.call.transcript_id === 'string', 'the call has a transcript');
    assert.equal(endedEv.transcript_id, ended.call.transcript_id);
    assert.ok(ended.turns.length >= 1, 'the agent spoke');
    assert.equal(endedEv.turn_count, ended.turns.length);
    assert.equal(endedEv.end_reason, ended.call.end_reason);
    // The webhook-ids of the two events differ (two events, not one sent twice).
    const ids = hooksOf(callId).filter((h) => CONVERSATION.includes(body(h).type)).map((h) => h.headers['webhook-id']);
    assert.equal(new Set(ids).size, 2);
  });

  test('a greeting-only agent has a conversation too; a subscription without events gets the status events only', async () => {
    const greetingOnly = async (status_callback: Record<string, unknown>) => {
      const port = await freeUdpPort();
      sipp = await startSipp({ scenario: fixture('uas_answer.xml'), port, extraArgs: sippMedia() });
      const agentId = await agentOn(port, { greeting: 'Hello, this is a reminder. Goodbye.' });
      const r = await rig.t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', status_callback });
      assert.equal(r.status, 202, r.raw);
      const ended = await endedCall(r.body.id as string);
      await sipp.stop();
      sipp = undefined;
      return { callId: r.body.id as string, ...ended };
    };
    const a = await greetingOnly({ url: hooks.url('/greet'), events: CONVERSATION });
    assert.equal(a.call.status, 'completed', JSON.stringify(a.call));
    await waitFor('conversation.ended', () => (typesOf(a.callId).includes('conversation.ended') ? true : undefined), 15_000);
    assert.deepEqual(typesOf(a.callId).sort(), CONVERSATION, 'only what was subscribed');
    const created = body(hooksOf(a.callId).find((h) => body(h).type === 'conversation.created')!).data;
    const endedEv = body(hooksOf(a.callId).find((h) => body(h).type === 'conversation.ended')!).data;
    assert.equal(created.at, a.call.answered_at, 'created at the answer');
    assert.equal(endedEv.transcript_id, a.call.transcript_id);
    assert.equal(endedEv.turn_count, a.turns.length);

    const b = await greetingOnly({ url: hooks.url('/default') });
    await waitFor('call.completed', () => (typesOf(b.callId).includes('call.completed') ? true : undefined), 15_000);
    assert.ok(!typesOf(b.callId).some((x) => x.startsWith('conversation.')), `the default subscription has no conversation events: ${typesOf(b.callId).join(', ')}`);
    assert.ok(typesOf(b.callId).includes('call.answered'), 'but every status event');
  });

  test('a call that is never answered has no conversation', async () => {
    const port = await freeUdpPort();
    sipp = await startSipp({ scenario: fixture('uas_busy.xml'), port, extraArgs: sippMedia() });
    const agentId = await agentOn(port, { flow });
    const r = await rig.t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', status_callback: { url: hooks.url('/busy'), events: [...CONVERSATION, 'busy'] } });
    assert.equal(r.status, 202, r.raw);
    await waitFor('call.busy', () => (typesOf(r.body.id as string).includes('call.busy') ? true : undefined), 20_000);
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(typesOf(r.body.id as string), ['call.busy']);
  });
});
