/**
 * Barge-in on a live call: the LLM agent's greeting is long; the callee (baresip playing flite
 * 'slt') starts talking in the middle of it. The agent must stop speaking, keep in the transcript
 * and in the model's history only what the callee heard, and answer what the callee said.
 * baresip's recordings are the ground truth for when the agent's audio stopped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { calleeScript, CALLEE_RATE } from '../fixtures/voice/callee.js';
import { durationMs, loudMs, loudSpans } from '../fixtures/voice/energy.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { callEnded, placeCall, showTurns, startVoiceRig, voiceSkip, type VoiceRig } from './voice-helpers.js';

const skip = voiceSkip();
const GREETING =
  'Hello, this is Outcall. I am calling to tell you about several changes to your account this month, ' +
  'including a new billing address, a new payment plan, and the new contact number we now have on file for you.';
/**
 * Generous: energy VAD onset + the 300 ms barge-in minimum + our 60 ms playout lead + both jitter
 * buffers, measured as an upper bound that also carries packets baresip dropped under load.
 */
const STOP_BOUND_MS = 2000;

let rig: VoiceRig;
let llm: OpenAiProtocolServer;

before(async () => {
  if (skip) return;
  rig = await startVoiceRig(37200, 37398);
  llm = await OpenAiProtocolServer.start({ answerSummaries: true });
});
after(async () => {
  if (skip) return;
  await rig.stop();
  await llm.close();
});

describe('barge-in on a live call (baresip, L16/16000)', { skip }, () => {
  test('the callee talks over a long greeting: playout stops, the turn is marked interrupted with only what was heard', async (tc) => {
    const script = calleeScript([{ atS: 4, text: 'wait, stop please, I am really busy right now, call me later' }], 20);
    assert.ok(script, 'flite + sox produced the callee speech');
    const REPLY = 'Sorry, I will call you later.';
    llm.reply({ kind: 'text', pieces: [REPLY] });
    const before = llm.requests.length;
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      agent: { system_prompt: 'You inform customers.', greeting: GREETING, llm: { provider: 'openai', base_url: llm.baseUrl, model: 'gpt-4o-mini', api_key: 'sk-test-barge' } },
    });
    try {
      const { call, turns, heard, heardFromStart, sent, offsetMs } = await callEnded(rig.t, placed, 45_000);
      const said = script.spans[0]!;
      const spans = loudSpans(heard, CALLEE_RATE);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      tc.diagnostic(`callee speaks ${said.startMs}-${said.endMs} ms; agent audio heard by baresip: ${JSON.stringify(spans)}; recording ${durationMs(heard, CALLEE_RATE).toFixed(0)} ms (heard dump shifted ${offsetMs} ms onto the callee's timeline)`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'callee_hangup');
      assert.ok(loudMs(sent, CALLEE_RATE, said.startMs, said.startMs + 200) > 0, 'baresip sent the line where the WAV has it');

      // The greeting was playing when the callee started (the barge-in was real)...
      assert.ok(loudMs(heard, CALLEE_RATE, said.startMs - 1000, said.startMs) >= 400, 'the agent was speaking when the callee started');
      // ...and stopped soon after: the last agent audio while the callee speaks. The heard dump's
      // alignment with the callee's timeline is known within bounds (see EndedCall.heard): the
      // end-aligned figure is an upper bound, the start-aligned one a lower bound.
      const stopAfter = (pcm: Int16Array): number => {
        let stopMs = said.startMs;
        for (const s of loudSpans(pcm, CALLEE_RATE)) if (s.startMs < said.endMs) stopMs = Math.max(stopMs, Math.min(s.endMs, said.endMs));
        return stopMs - said.startMs;
      };
      const upper = stopAfter(heard);
      const lower = stopAfter(heardFromStart);
      tc.diagnostic(`agent audio stopped ${lower}-${upper} ms after the callee's speech onset (start-/end-aligned; bound ${STOP_BOUND_MS} ms)`);
      assert.ok(upper < STOP_BOUND_MS, `the agent stopped at most ${upper} ms after the callee started talking`);
      assert.equal(loudMs(heard, CALLEE_RATE, said.startMs + upper, said.endMs), 0, 'and stayed quiet while the callee spoke');

      // The transcript keeps what was heard of the greeting, marked interrupted, then the callee, then the reply.
      assert.deepEqual(turns.map((x) => x.speaker), ['agent', 'callee', 'agent'], showTurns(turns));
      const cut = turns[0]!;
      assert.equal(cut.interrupted, true);
      const words = GREETING.split(/\s+/);
      const kept = cut.text.split(/\s+/).filter((w) => w !== '');
      assert.ok(kept.length > 0 && kept.length < words.length, `only part of the greeting: "${cut.text}"`);
      assert.deepEqual(kept, words.slice(0, kept.length), 'a prefix of the greeting');
      // Roughly what was heard by the time it stopped: a greeting of ~12 s cut after ~4-5 s keeps under half.
      assert.ok(kept.length < words.length / 2, `kept ${kept.length} of ${words.length} words`);
      assert.equal(turns[1]!.interrupted, false);
      assert.equal(turns[2]!.text, REPLY);
      assert.equal(turns[2]!.interrupted, false);

      // The model's history holds the greeting as heard, not as written.
      assert.equal(llm.requests.length - before, 1);
      const messages = llm.requests[before]!.body.messages as Array<{ role: string; content: string }>;
      assert.deepEqual(messages.filter((m) => m.role === 'assistant'), [{ role: 'assistant', content: cut.text }]);
      assert.deepEqual(messages.at(-1), { role: 'user', content: turns[1]!.text });
      const reply = spans.find((s) => s.startMs >= said.endMs);
      assert.ok(reply && loudMs(heard, CALLEE_RATE, said.endMs, Number.POSITIVE_INFINITY) >= 800, 'baresip heard the reply after the callee spoke');
    } finally {
      await placed.callee.stop();
    }
  });
});
