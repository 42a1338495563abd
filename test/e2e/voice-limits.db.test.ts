/**
 * The voice session's limits on live calls (LLM agent, baresip callee over L16/16000):
 * - max_duration_s (the schema's minimum, 30 s): the conversation is going on when time is up; the
 *   wrap-up line plays, then the agent hangs up with max_duration_reached.
 * - inactivity: the callee never says a word; after the session's default 10 s of silence the agent
 *   asks once whether they are still there, and after 10 s more hangs up with inactivity_timeout.
 *   (The inactivity timeout is not an agent or call setting yet: the media worker's default is used.)
 * The two calls run side by side to keep the file's wall time down.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { calleeScript, CALLEE_RATE } from '../fixtures/voice/callee.js';
import { durationMs, loudSpans } from '../fixtures/voice/energy.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { callEnded, placeCall, showTurns, startVoiceRig, voiceSkip, type VoiceRig } from './voice-helpers.js';

const skip = voiceSkip();
const WRAP_UP = 'We are out of time. Thank you, goodbye.'; // VoiceSession's default wrap-up line
const STILL_THERE = 'Are you still there?'; // VoiceSession's default inactivity prompt
const INACTIVITY_MS = 10_000; // voicePreparer's default

let rig: VoiceRig;
let limitsLlm: OpenAiProtocolServer;
let quietLlm: OpenAiProtocolServer;

before(async () => {
  if (skip) return;
  rig = await startVoiceRig(37400, 37598);
  limitsLlm = await OpenAiProtocolServer.start({ answerSummaries: true });
  quietLlm = await OpenAiProtocolServer.start({ answerSummaries: true });
});
after(async () => {
  if (skip) return;
  await rig.stop();
  await limitsLlm.close();
  await quietLlm.close();
});

const agent = (server: OpenAiProtocolServer, greeting: string) => ({
  system_prompt: 'You chat.',
  greeting,
  llm: { provider: 'openai', base_url: server.baseUrl, model: 'gpt-4o-mini', api_key: 'sk-test-limits' },
});

describe('voice session limits on live calls (baresip, L16/16000)', { skip, concurrency: true }, () => {
  test('max_duration_s: the wrap-up line plays when time is up, then max_duration_reached', async (tc) => {
    // The callee keeps the conversation going (never 10 s of silence) and would stay for 50 s.
    const script = calleeScript(
      [
        { atS: 5, text: 'yes tell me more' },
        { atS: 13, text: 'and what else' },
        { atS: 21, text: 'okay go on' },
      ],
      50,
    );
    assert.ok(script, 'flite + sox produced the callee speech');
    limitsLlm.always({ kind: 'text', pieces: ['Sure, ', 'there is more.'] });
    const placed = await placeCall(rig.t, { prompt: script.wav, agent: agent(limitsLlm, 'Hello, shall we chat?'), call: { max_duration_s: 30 } });
    try {
      const { call, turns, heard, heardFromStart, offsetMs } = await callEnded(rig.t, placed, 60_000);
      const spans = loudSpans(heard, CALLEE_RATE, 600); // bridge the pause between the wrap-up's sentences
      const recMs = durationMs(heard, CALLEE_RATE);
      tc.diagnostic(`call ${call.status}/${call.end_reason} after ${call.duration_s ?? '?'} s; transcript ${showTurns(turns)}; heard ${JSON.stringify(spans)}; recording ${recMs.toFixed(0)} ms (shifted ${offsetMs} ms)`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'max_duration_reached');
      assert.ok(turns.some((x) => x.speaker === 'callee'), 'the callee was heard during the call');
      const last = turns.at(-1)!;
      assert.equal(last.speaker, 'agent');
      assert.equal(last.text, WRAP_UP);
      assert.equal(last.interrupted, false, 'the wrap-up played in full');
      // On the callee's timeline (ms since the answer): the wrap-up starts at ~30 s and the call
      // ends right after it, long before the callee's 50 s.
      // The heard dump's start- and end-aligned times bound when it was heard (see EndedCall.heard).
      const wrap = spans.at(-1)!;
      const wrapLower = loudSpans(heardFromStart, CALLEE_RATE, 600).at(-1)!.startMs;
      tc.diagnostic(`wrap-up heard ${wrapLower}-${wrap.startMs} ms after the answer (start-/end-aligned)`);
      assert.ok(wrapLower >= 27_000, `the wrap-up started no earlier than ${wrapLower} ms`);
      assert.ok(wrap.startMs < 34_000, `the wrap-up started no later than ${wrap.startMs} ms`);
      assert.ok(recMs - wrap.endMs < 2000, `BYE right after the wrap-up (${(recMs - wrap.endMs).toFixed(0)} ms)`);
      assert.ok(recMs < 40_000, 'the agent hung up, not the callee');
    } finally {
      await placed.callee.stop();
    }
  });

  test('inactivity: the silent callee is asked once if still there, then inactivity_timeout', async (tc) => {
    const script = calleeScript([], 45);
    assert.ok(script);
    const GREETING = 'Hello, this is Outcall.';
    const placed = await placeCall(rig.t, { prompt: script.wav, agent: agent(quietLlm, GREETING) });
    try {
      const { call, turns, heard, offsetMs } = await callEnded(rig.t, placed, 60_000);
      const spans = loudSpans(heard, CALLEE_RATE, 600);
      const recMs = durationMs(heard, CALLEE_RATE);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}; heard ${JSON.stringify(spans)}; recording ${recMs.toFixed(0)} ms (shifted ${offsetMs} ms)`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'inactivity_timeout');
      assert.equal(quietLlm.requests.length, 0, 'nothing was said to the model: no callee turn, no LLM call');
      assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', GREETING], ['agent', STILL_THERE]]);
      // Two things heard: the greeting, the prompt ~10 s after it ended, then ~10 s of silence and BYE.
      assert.equal(spans.length, 2, `greeting and prompt: ${JSON.stringify(spans)}`);
      const [greeting, prompt] = spans as [{ startMs: number; endMs: number }, { startMs: number; endMs: number }];
      const gap = prompt.startMs - greeting.endMs;
      const tail = recMs - prompt.endMs;
      tc.diagnostic(`prompt ${gap} ms after the greeting; BYE ${tail.toFixed(0)} ms after the prompt (timeout ${INACTIVITY_MS} ms)`);
      // Within one dump; under load baresip drops late packets, which shortens the silences it records.
      assert.ok(gap >= INACTIVITY_MS - 1500 && gap < INACTIVITY_MS + 2500, `prompt after ${gap} ms of silence`);
      assert.ok(tail >= INACTIVITY_MS - 1500 && tail < INACTIVITY_MS + 2500, `hang-up ${tail.toFixed(0)} ms after the prompt`);
    } finally {
      await placed.callee.stop();
    }
  });
});
