/**
 * An LLM agent on live calls: API -> store -> dispatcher -> media worker thread -> SIP/RTP over
 * L16/16000 -> baresip as the callee, with the model served by a local server speaking OpenAI's
 * streaming chat-completions protocol. baresip speaks flite 'slt' lines at set times; the agent
 * hears them with energy VAD + pocketsphinx and answers through espeak-ng. baresip's recordings
 * (what it heard, what it sent) are the ground truth for what happened when.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EspeakNgTts } from '../../src/providers/tts/espeak-ng.js';
import { concat } from '../fixtures/media/signals.js';
import { calleeScript, CALLEE_RATE } from '../fixtures/voice/callee.js';
import { durationMs, loudMs, loudSpan, loudSpans } from '../fixtures/voice/energy.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { callEnded, placeCall, showTurns, startVoiceRig, voiceSkip, type VoiceRig } from './voice-helpers.js';

const skip = voiceSkip();
const GREETING = 'Hi, this is Outcall calling about your order.';
const SYSTEM_PROMPT = 'You are a polite assistant who confirms deliveries. Keep answers short.';
const CALL_CONTEXT = 'Ana ordered a blue bicycle, order number 4471.';
const API_KEY = 'sk-test-voice-llm-0123456789';

let rig: VoiceRig;
let llm: OpenAiProtocolServer;

before(async () => {
  if (skip) return;
  rig = await startVoiceRig(37000, 37198);
  llm = await OpenAiProtocolServer.start({ answerSummaries: true });
});
after(async () => {
  if (skip) return;
  await rig.stop();
  await llm.close();
});

function llmAgent(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    system_prompt: SYSTEM_PROMPT,
    greeting: GREETING,
    // Named: the lengths below are espeak-ng's (the default voice is flite-wasm's rms).
    tts: { provider: 'espeak-ng' },
    llm: { provider: 'openai', base_url: llm.baseUrl, model: 'gpt-4o-mini', api_key: API_KEY },
    ...extra,
  };
}

/** espeak-ng's own length of a line at the leg's rate: what a callee hears of it when nothing is cut. */
async function spokenMs(text: string): Promise<number> {
  const chunks: Int16Array[] = [];
  for await (const pcm of new EspeakNgTts({ defaultVoice: 'en-us' }).synthesize({ text, sampleRate: CALLEE_RATE })) chunks.push(pcm);
  const all = concat(chunks);
  const span = loudSpan(all, CALLEE_RATE);
  return span ? span.endMs - span.startMs : durationMs(all, CALLEE_RATE);
}

describe('LLM agent on a live call (baresip, L16/16000, OpenAI protocol server)', { skip }, () => {
  test('greeting, the callee speaks, the model answers with what it was told and heard; transcript in order', async (tc) => {
    const script = calleeScript([{ atS: 5, text: 'yes please deliver it tomorrow' }], 18);
    assert.ok(script, 'flite + sox produced the callee speech');
    const REPLY = ['Great, ', 'it will arrive ', 'tomorrow morning.'];
    llm.reply({ kind: 'text', pieces: REPLY });
    const before = llm.requests.length;
    const placed = await placeCall(rig.t, { prompt: script.wav, agent: llmAgent(), call: { call_context: CALL_CONTEXT, dynamic_variables: { name: 'Ana' } } });
    try {
      const { call, turns, heard, heardFromStart, sent, offsetMs } = await callEnded(rig.t, placed, 45_000);
      const said = script.spans[0]!;
      const sentSpan = loudSpan(sent, CALLEE_RATE);
      const spans = loudSpans(heard, CALLEE_RATE);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      tc.diagnostic(`callee line in its WAV ${said.startMs}-${said.endMs} ms, in baresip's sent dump ${JSON.stringify(sentSpan)}; agent audio heard by baresip (ms from its start): ${JSON.stringify(spans)}; recording ${durationMs(heard, CALLEE_RATE).toFixed(0)} ms (heard dump shifted ${offsetMs} ms onto the callee's timeline)`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      // The callee's WAV ran out and baresip hung up: nothing on our side ended the call.
      assert.equal(call.end_reason, 'callee_hangup');

      // What the model was asked: the system prompt, the call's context, the greeting it "said",
      // and the callee's words as pocketsphinx heard them (the same words the transcript keeps).
      const reqs = llm.requests.slice(before);
      assert.equal(reqs.length, 1, 'one model request: the one answer to the one callee turn');
      const req = reqs[0]!;
      assert.equal(req.path, '/v1/chat/completions');
      assert.equal(req.headers.authorization, `Bearer ${API_KEY}`);
      assert.equal(req.body.model, 'gpt-4o-mini');
      assert.equal(req.body.stream, true);
      const messages = req.body.messages as Array<{ role: string; content: string }>;
      assert.deepEqual(messages[0], { role: 'system', content: SYSTEM_PROMPT });
      const context = messages.find((m) => m.role === 'system' && m.content.includes(CALL_CONTEXT));
      assert.ok(context, `the call_context reached the model: ${JSON.stringify(messages)}`);
      assert.match(context.content, /"name":"Ana"/, 'with the dynamic variables');
      assert.deepEqual(messages.find((m) => m.role === 'assistant'), { role: 'assistant', content: GREETING });
      const user = messages.at(-1)!;
      assert.equal(user.role, 'user');

      // The stored transcript: greeting, the callee's words, the model's reply, in that order.
      assert.deepEqual(turns.map((x) => x.speaker), ['agent', 'callee', 'agent'], showTurns(turns));
      assert.equal(turns[0]!.text, GREETING);
      assert.match(turns[1]!.text, /\b(yes|deliver|tomorrow)\b/i, 'pocketsphinx heard some of the words');
      assert.equal(user.content, turns[1]!.text, 'the model got the words as heard');
      assert.equal(turns[2]!.text, REPLY.join(''));
      assert.ok(turns.every((x) => !x.interrupted));

      // What baresip heard, by energy over time, on the timeline of what it sent: its sent dump
      // starts when the call's audio starts (the answer), so times are ms since the answer.
      assert.ok(sentSpan && Math.abs(sentSpan.startMs - said.startMs) < 200, 'baresip sent the line where the WAV has it');
      const greeting = spans[0];
      assert.ok(greeting, 'baresip heard the greeting');
      const greetingFromAnswer = loudSpan(heardFromStart, CALLEE_RATE)?.startMs ?? NaN;
      assert.ok(greetingFromAnswer < 2000, `the greeting starts right after the answer (${greetingFromAnswer} ms into the heard dump)`);
      // Early in the call the start-aligned dump is the accurate one (the end-aligned one also carries
      // every packet baresip dropped later as late).
      const greetingEnd = loudSpans(heardFromStart, CALLEE_RATE)[0]?.endMs ?? NaN;
      assert.ok(greetingEnd < said.startMs, `the greeting was over (${greetingEnd} ms) before the callee spoke (${said.startMs} ms)`);
      assert.equal(loudMs(heard, CALLEE_RATE, greeting.endMs, said.endMs), 0, 'the agent stayed quiet while the callee spoke');
      const reply = spans.find((s) => s.startMs > said.endMs);
      assert.ok(reply, 'baresip heard a reply after the callee spoke');
      assert.ok(loudMs(heard, CALLEE_RATE, said.endMs, Number.POSITIVE_INFINITY) >= 800, 'the reply is speech, not a click');
      tc.diagnostic(`greeting heard ${greetingFromAnswer} ms into baresip's heard dump; reply heard ${reply.startMs - said.endMs} ms after the callee's speech ended`);
    } finally {
      await placed.callee.stop();
    }
  });

  test('end_call: the model says goodbye through end_call; the goodbye is heard, then BYE; agent_hangup', async (tc) => {
    const script = calleeScript([{ atS: 5, text: 'no thank you goodbye' }], 25);
    assert.ok(script, 'flite + sox produced the callee speech');
    const GOODBYE = 'Thank you for your time, goodbye.';
    llm.reply({ kind: 'tool_calls', calls: [{ id: 'call_end_1', name: 'end_call', argumentPieces: ['{"goodbye":', ` ${JSON.stringify(GOODBYE)}}`] }] });
    const before = llm.requests.length;
    const placed = await placeCall(rig.t, { prompt: script.wav, agent: llmAgent() });
    try {
      const { call, turns, heard, offsetMs } = await callEnded(rig.t, placed, 45_000);
      const said = script.spans[0]!;
      const spans = loudSpans(heard, CALLEE_RATE);
      const recMs = durationMs(heard, CALLEE_RATE);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}; heard ${JSON.stringify(spans)}; recording ${recMs.toFixed(0)} ms (heard dump shifted ${offsetMs} ms)`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'agent_hangup');
      assert.equal(llm.requests.length - before, 1);
      const tools = (llm.requests[before]!.body.tools as Array<{ function: { name: string } }>).map((x) => x.function.name);
      assert.ok(tools.includes('end_call'), `end_call is offered to the model: ${tools.join(', ')}`);

      assert.deepEqual(turns.map((x) => x.speaker), ['agent', 'callee', 'agent'], showTurns(turns));
      assert.equal(turns[2]!.text, GOODBYE);
      assert.equal(turns[2]!.interrupted, false);

      // The goodbye was heard whole, and the call ended right after it (long before the callee's
      // WAV would have run out at 25 s).
      const bye = spans.at(-1);
      assert.ok(bye && bye.startMs > said.endMs, 'baresip heard the goodbye after the callee spoke');
      const expected = await spokenMs(GOODBYE);
      const got = loudMs(heard, CALLEE_RATE, said.endMs, recMs);
      assert.ok(got >= expected * 0.8, `the goodbye played in full: ${got} ms heard of ${expected.toFixed(0)} ms spoken`);
      assert.ok(recMs - bye.endMs < 2000, `BYE came right after the goodbye (${(recMs - bye.endMs).toFixed(0)} ms later)`);
      assert.ok(recMs < script.totalMs - 5000, 'the agent hung up, not the callee');
      tc.diagnostic(`goodbye heard ${bye.startMs}-${bye.endMs} ms (${got} of ${expected.toFixed(0)} ms); recording ended ${(recMs - bye.endMs).toFixed(0)} ms after it`);
    } finally {
      await placed.callee.stop();
    }
  });
});
