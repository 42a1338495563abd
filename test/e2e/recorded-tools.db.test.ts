/**
 * The leg tools on recorded calls (record.enabled puts the recording tap between the agent and the
 * leg; it used to drop the leg's transfer and sendDtmf, so these tools failed tool_unavailable):
 * - baresip (L16/16000): send_dtmf sends keys baresip reports receiving, and the call is recorded;
 * - SIPp: transfer_call REFERs the callee to the configured target, SIPp accepts (202 + NOTIFY 200),
 *   the call ends `transferred`, and its recording holds the announcement.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { rms } from '../fixtures/media/signals.js';
import { calleeSpeech, startCallee, type Callee } from '../fixtures/voice/callee.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freePort, startSipp, waitExit, type SippProcess } from '../helpers/sipp.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { waitFor } from '../helpers/wait.js';

const missing = ['baresip', 'sipp', 'espeak-ng', 'flite', 'sox', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
const REFER = fileURLToPath(new URL('../fixtures/sipp/uas_answer_refer.xml', import.meta.url));

interface Turn {
  speaker: string;
  text: string;
  toolCalls?: Array<{ name: string; ok?: boolean; result?: unknown }>;
}

let t: TestApp;
let plane: CallPlane;
let callee: Callee | undefined;
let sipp: SippProcess | undefined;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 44400, rtpPortMax: 44598, codecs: ['L16/16000', 'PCMU', 'PCMA'] }); // the callee speaks L16 only
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await t.close();
});
afterEach(async () => {
  await callee?.stop();
  await sipp?.stop();
  callee = undefined;
  sipp = undefined;
});

/** Trunk, agent and number on the peer's port; places a recorded call and waits for its end and transcript. */
async function recordedCall(port: number, agentBody: Record<string, unknown>, to: string) {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `peer-${n}`, host: '127.0.0.1', port });
  const agent = await t.org.req('POST', '/v1/agents', { name: `rtools-${n}`, max_cps: 50, ...agentBody });
  assert.equal(agent.status, 201, agent.raw);
  await t.org.req('POST', '/v1/phone-numbers', { number: `+1415${n}`, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  const r = await t.org.req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to, max_duration_s: 60, record: { enabled: true, channels: 'dual' } });
  assert.equal(r.status, 202, r.raw);
  const callId = r.body.id as string;
  const call = await waitFor('the call to end', async () => {
    const got = await t.org.req('GET', `/v1/calls/${callId}`);
    return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got.body : undefined;
  }, 60_000);
  const tr = call.transcript_id ? await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
  return { call, turns: (tr?.body.turns ?? []) as Turn[] };
}

/** The agent channel (right) of the call's dual recording. */
async function agentChannel(url: string): Promise<Int16Array> {
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.org.key}` } });
  assert.equal(res.statusCode, 200);
  const p = new WavStreamParser();
  const inter = p.push(res.rawPayload);
  assert.equal(p.format?.channels, 2);
  return Int16Array.from({ length: inter.length / 2 }, (_, i) => inter[2 * i + 1] as number);
}

describe('leg tools on recorded calls', { skip }, () => {
  test('baresip: send_dtmf on a recorded call sends the keys (RFC 4733), and the call is recorded', async (tc) => {
    const TO = '+14155550191';
    const prompt = calleeSpeech('hello', 20, 1);
    assert.ok(prompt, 'flite + sox produced the callee audio');
    callee = await startCallee({ user: TO, prompt });
    const flow = {
      start: 'greet',
      nodes: {
        greet: { type: 'say', text: 'Let me enter your code.', next: 'keys' },
        keys: { type: 'tool', tool: 'send_dtmf', arguments: { digits: '19#' }, on_success: 'done', on_failure: 'failed' },
        done: { type: 'end', text: 'Done.' },
        failed: { type: 'end', text: 'I could not send the keys.' },
      },
    };
    const c = callee;
    const { call, turns } = await recordedCall(c.port, { flow, tools: [{ type: 'send_dtmf' }] }, TO);
    tc.diagnostic(`call: ${call.status}/${call.end_reason}; transcript: ${JSON.stringify(turns.map((x) => [x.text, x.toolCalls?.map((k) => [k.name, k.ok, k.result])]))}`);
    assert.equal(call.status, 'completed', `baresip log:\n${c.log().slice(-3000)}`);
    assert.deepEqual(turns[0]?.toolCalls?.map((k) => [k.name, k.ok, k.result]), [['send_dtmf', true, { sent: '19#' }]]);
    assert.equal(turns[0]?.text, 'Let me enter your code. Done.', 'the success branch, not the failure one');
    await waitFor('baresip to close the call', () => /terminated/.test(c.log()), 5000);
    const heard = [...c.log().matchAll(/call: received DTMF: '(.)'/g)].map((m) => m[1]);
    assert.deepEqual(heard, ['1', '9', '#'], `baresip log:\n${c.log().slice(-3000)}`);
    assert.ok(call.recording, 'the call was recorded');
    assert.ok(rms(await agentChannel(call.recording.url)) > 100, 'the agent channel holds what the agent said');
  });

  test('SIPp: transfer_call on a recorded call REFERs to the configured target; 202 + NOTIFY 200; ends transferred, recorded', async (tc) => {
    const port = await freePort();
    sipp = await startSipp({ scenario: REFER, port });
    const flow = {
      start: 'tell',
      nodes: {
        tell: { type: 'say', text: 'I am transferring you to a colleague now.', next: 'move' },
        move: { type: 'tool', tool: 'transfer_call', on_success: 'gone', on_failure: 'sorry' },
        gone: { type: 'end' },
        sorry: { type: 'end', text: 'Sorry, nobody is free.' },
      },
    };
    const s = sipp;
    const { call, turns } = await recordedCall(port, { flow, tools: [{ type: 'transfer_call', transfer_to: '+15559990000' }] }, '+14155550192');
    tc.diagnostic(`call: ${call.status}/${call.end_reason}; transcript: ${JSON.stringify(turns)}`);
    assert.equal(await waitExit(s), 0, `SIPp saw the whole REFER/NOTIFY/BYE sequence; trace:\n${s.trace().slice(-4000)}`);
    assert.deepEqual([call.status, call.end_reason], ['completed', 'transferred']);
    assert.match(s.received().find((m) => m.startsWith('REFER ')) ?? '', /^Refer-To: <sip:\+15559990000@127\.0\.0\.1:\d+>$/m);
    assert.deepEqual(turns[0]?.toolCalls?.map((k) => [k.name, k.ok, k.result]), [['transfer_call', true, { transferred: true, to: '+15559990000', sip_status: 200 }]]);
    assert.ok(call.recording, 'the call was recorded');
    assert.ok(rms(await agentChannel(call.recording.url)) > 100, 'the announcement is in the recording');
  });
});
