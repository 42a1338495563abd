/**
 * Narrowband hearing on a live call from the API: a flow agent dials baresip answering PCMU/8000
 * only (G.711 mu-law, the leg every carrier takes); baresip plays an 8 kHz WAV of a sentence after
 * the greeting, and the agent's pocketsphinx hears it with its 8 kHz model (npm soundswallower's).
 * The stored transcript holds the callee's words, and the flow takes the branch its keyword names.
 * Before the model was chosen by rate, pocketsphinx refused 8 kHz and such a call ended error_stt.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { callEnded, narrowbandScript, NARROWBAND_RATE, placeCall, showTurns, startVoiceRig, voiceSkip, type VoiceRig } from './voice-helpers.js';

const skip = voiceSkip();

const flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Hello, which day suits you for the delivery?', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 12000, next: 'decide', on_timeout: 'bye' },
    decide: { type: 'branch', cases: [{ keywords: ['tuesday'], next: 'tuesday' }], default: 'sorry' },
    tuesday: { type: 'say', text: 'Tuesday it is. Goodbye.', next: 'bye' },
    sorry: { type: 'say', text: 'Sorry, I did not get that.', next: 'bye' },
    bye: { type: 'end' },
  },
};
const SENTENCE = 'please bring the package on tuesday afternoon';

let rig: VoiceRig;
before(async () => {
  if (skip) return;
  rig = await startVoiceRig(34200, 34398);
});
after(async () => {
  if (skip) return;
  await rig.stop();
});

describe('a flow agent hears the callee on a narrowband PCMU leg (live, baresip)', { skip }, () => {
  test('the callee\'s sentence is in the transcript and the flow takes its keyword branch', async (tc) => {
    // The greeting plays for ~3 s after the answer (later under load); the callee speaks after it.
    const script = narrowbandScript([{ atS: 7, text: SENTENCE }], 22);
    const placed = await placeCall(rig.t, { prompt: script.wav, narrowband: true, agent: { flow } });
    try {
      const { call, turns } = await callEnded(rig.t, placed, 45_000, NARROWBAND_RATE);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', `${call.end_reason}: ${placed.callee.log().slice(-2000)}`);
      assert.equal(call.end_reason, 'agent_hangup', 'not error_stt: the 8 kHz leg was heard');
      const events = (await rig.t.org.req('GET', `/v1/calls/${placed.callId}/events`)).body.data as Array<{ to_status: string; data: { codec?: string } }>;
      assert.equal(events.find((e) => e.to_status === 'in_progress')?.data.codec, 'PCMU', 'the leg was G.711 mu-law');
      assert.deepEqual(turns.map((x) => x.speaker), ['agent', 'callee', 'agent']);
      assert.equal(turns[0]?.interrupted, false, 'the callee spoke after the greeting');
      const heard = turns[1]?.text ?? '';
      const words = ['bring', 'package', 'tuesday', 'afternoon'].filter((w) => new RegExp(`\\b${w}\\b`, 'i').test(heard));
      assert.ok(words.length >= 3, `the callee's words were heard: "${heard}" (${words.join(', ')})`);
      assert.match(turns[2]?.text ?? '', /^Tuesday it is\./, 'the flow branched on "tuesday"');
    } finally {
      await placed.callee.stop();
    }
  });
});
