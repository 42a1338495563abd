/**
 * Settings acting on live calls of the agents without a model: API -> store -> dispatcher -> media
 * worker thread -> SIP/RTP -> baresip as the callee.
 * - A flow reads the call's call_context: {{call_context}} in a say node, and a branch case on it.
 * - A greeting-only agent speaks the call's language: agent_overrides.language picks espeak-ng's
 *   voice for it (the greeting heard is that voice's rendering, not the English one's).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EspeakNgTts } from '../../src/providers/tts/espeak-ng.js';
import { concat, findSignal } from '../fixtures/media/signals.js';
import { calleeScript } from '../fixtures/voice/callee.js';
import { callEnded, narrowbandScript, NARROWBAND_RATE, placeCall, showTurns, startVoiceRig, voiceSkip, type VoiceRig } from './voice-helpers.js';

const skip = voiceSkip();

let rig: VoiceRig;
before(async () => {
  if (skip) return;
  rig = await startVoiceRig(45400, 45598);
});
after(async () => {
  if (skip) return;
  await rig.stop();
});

async function espeak(text: string, voice: string, rate: number): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  for await (const c of new EspeakNgTts({ defaultVoice: voice }).synthesize({ text, sampleRate: rate })) chunks.push(c);
  return concat(chunks);
}

describe('flow and greeting-only agents on live calls (baresip)', { skip }, () => {
  test("a flow says {{call_context}} and branches on it: the call's context picks the path and is spoken", async (tc) => {
    const flow = {
      start: 'route',
      nodes: {
        route: { type: 'branch', cases: [{ variable: 'call_context', keywords: ['overdue'], next: 'overdue' }], default: 'plain' },
        overdue: { type: 'say', text: 'Hello {{name}}. About your account: {{call_context}}', next: 'bye' },
        plain: { type: 'say', text: 'Hello {{name}}, nothing is due.', next: 'bye' },
        bye: { type: 'end', text: 'Goodbye.' },
      },
    };
    const script = calleeScript([], 20);
    assert.ok(script, 'sox made the silent callee');
    const placed = await placeCall(rig.t, { prompt: script.wav, agent: { flow, tts: { provider: 'espeak-ng' } }, call: { call_context: 'Invoice twelve is overdue by ten days.', dynamic_variables: { name: 'Ana' } } });
    try {
      const { call, turns, heardFromStart } = await callEnded(rig.t, placed, 40_000);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'agent_hangup');
      assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', 'Hello Ana. About your account: Invoice twelve is overdue by ten days. Goodbye.']]);
      // And that is what baresip heard: the sentence with the context, as espeak-ng renders it (each
      // sentence is one utterance; L16 is lossless, so the match is near exact).
      const expected = await espeak('About your account: Invoice twelve is overdue by ten days.', 'en-us', 16000);
      const found = findSignal(expected, heardFromStart.subarray(0, 16000 * 8), 16000, [400, 1200, 2000]);
      tc.diagnostic(`the call_context sentence in what baresip heard: corr ${found.corr.toFixed(3)}`);
      assert.ok(found.corr > 0.9, `baresip heard the context spoken (corr ${found.corr.toFixed(3)})`);
    } finally {
      await placed.callee.stop();
    }
  });

  test("a greeting-only agent speaks the call's language (agent_overrides.language): espeak-ng's Spanish voice", async (tc) => {
    const GREETING = 'Hola {{name}}, le recordamos su cita del martes.';
    const text = 'Hola Ana, le recordamos su cita del martes.';
    const script = narrowbandScript([], 15);
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      narrowband: true,
      agent: { greeting: GREETING, language: 'en-US' },
      call: { dynamic_variables: { name: 'Ana' }, agent_overrides: { language: 'es-MX' } },
    });
    try {
      const { call, heardFromStart } = await callEnded(rig.t, placed, 40_000, NARROWBAND_RATE);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'agent_hangup', 'the greeting played, then the agent hung up');
      const [es, en] = await Promise.all([espeak(text, 'es', NARROWBAND_RATE), espeak(text, 'en-us', NARROWBAND_RATE)]);
      const heard = heardFromStart.subarray(0, NARROWBAND_RATE * 6);
      const asEs = findSignal(es, heard, NARROWBAND_RATE, [300, 800, 1300]);
      const asEn = findSignal(en, heard, NARROWBAND_RATE, [300, 800, 1300]);
      tc.diagnostic(`greeting vs espeak es: corr ${asEs.corr.toFixed(3)}; vs en-us: ${asEn.corr.toFixed(3)}`);
      assert.ok(asEs.corr > 0.9, `the greeting is espeak-ng's Spanish voice (corr ${asEs.corr.toFixed(3)})`);
      assert.ok(asEn.corr < asEs.corr - 0.2, `not its English one (corr ${asEn.corr.toFixed(3)})`);
    } finally {
      await placed.callee.stop();
    }
  });
});
