/**
 * A voice agent with a scripted flow on a live call: API -> store -> dispatcher -> media worker
 * thread -> SIP/RTP over L16/16000 -> baresip as the callee, who stays silent through the greeting
 * and then says "yes please" (flite, generated here). The agent hears it with energy VAD +
 * pocketsphinx, the flow branches on "yes", replies and hangs up; the transcript is stored with the
 * call's end.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { readWav, rms } from '../fixtures/media/signals.js';
import { calleeSpeech, startCallee, type Callee } from '../fixtures/voice/callee.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

const missing = ['baresip', 'espeak-ng', 'flite', 'sox', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;

const TO = '+14155550177';
const flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Hello {{name}}, can we book your visit for Tuesday?', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 12000, next: 'decide', on_timeout: 'bye' },
    decide: { type: 'branch', cases: [{ keywords: ['yes'], next: 'great' }], default: 'sorry' },
    great: { type: 'say', text: 'Great, see you then.', next: 'bye' },
    sorry: { type: 'say', text: 'Sorry, I did not get that.', next: 'bye' },
    bye: { type: 'end' },
  },
};

let t: TestApp;
let plane: CallPlane;
let callee: Callee | undefined;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 36000, rtpPortMax: 36398, codecs: ['L16/16000', 'PCMU', 'PCMA'] }); // the callee speaks L16 only
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await t.close();
});
afterEach(async () => {
  await callee?.stop();
  callee = undefined;
});

describe('voice agent flow on a live call (baresip, L16/16000)', { skip }, () => {
  test('greeting, the callee says "yes please", the flow replies and hangs up; transcript stored in order', async (tc) => {
    const prompt = calleeSpeech('yes please', 5, 12);
    assert.ok(prompt, 'flite + sox produced the callee speech');
    callee = await startCallee({ user: TO, prompt });
    const n = String(Math.floor(Math.random() * 9e6) + 1e6);
    const trunk = await t.org.req('POST', '/v1/trunks', { name: `baresip-${n}`, host: '127.0.0.1', port: callee.port });
    assert.equal(trunk.status, 201, trunk.raw);
    const agent = await t.org.req('POST', '/v1/agents', { name: `flow-${n}`, flow, max_cps: 50 });
    assert.equal(agent.status, 201, agent.raw);
    const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1415${n}`, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
    assert.equal(pn.status, 201, pn.raw);
    const r = await t.org.req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: TO, dynamic_variables: { name: 'Ana' }, max_duration_s: 60 });
    assert.equal(r.status, 202, r.raw);
    const callId = r.body.id as string;
    const c = callee;

    const call = await waitFor(
      'the call to end',
      async () => {
        const got = await t.org.req('GET', `/v1/calls/${callId}`);
        return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got.body : undefined;
      },
      45_000,
    );
    const tr = call.transcript_id ? await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
    const turns = (tr?.body.turns ?? []) as Array<{ speaker: string; text: string }>;
    tc.diagnostic(`call: ${call.status}/${call.end_reason}; transcript: ${JSON.stringify(turns.map((x) => [x.speaker, x.text]))}`);
    assert.equal(call.status, 'completed', `baresip log:\n${c.log().slice(-3000)}`);
    assert.equal(call.end_reason, 'agent_hangup');
    assert.ok(call.transcript_id, 'the call points at its transcript');
    assert.equal(tr?.status, 200, tr?.raw);
    assert.equal(tr?.body.call_id, callId);

    // What baresip heard: our greeting (speech, not silence).
    await waitFor('baresip to close the call', () => /terminated/.test(c.log()), 5000);
    const dec = await waitFor('baresip recording', () => c.recordings().find((p) => p.endsWith('-dec.wav')), 5000);
    const rec = readWav(dec);
    assert.equal(rec.sampleRate, 16000, 'wideband leg (L16/16000)');
    assert.ok(rms(rec.samples) > 300, `baresip heard the agent (rms ${rms(rec.samples).toFixed(0)})`);

    // The conversation, in order: greeting, the callee's yes, the agent's reply.
    assert.deepEqual(turns.map((x) => x.speaker), ['agent', 'callee', 'agent']);
    assert.match(turns[0]?.text ?? '', /Hello Ana, can we book your visit for Tuesday\?/);
    assert.match(turns[1]?.text ?? '', /\byes\b/i, 'pocketsphinx heard "yes"');
    assert.match(turns[2]?.text ?? '', /Great, see you then\./);
  });
});
