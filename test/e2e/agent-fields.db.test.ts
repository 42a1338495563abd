/**
 * Agent (and per-call override) fields proven on live calls: API -> store -> dispatcher -> media
 * worker -> SIP/RTP -> baresip as the callee, the model served by a local server speaking OpenAI's
 * chat-completions protocol (the proofs test/contract/field-proofs.ts names):
 * - llm.temperature, llm.max_tokens and llm.options reach the model's request; an end_call declared
 *   with enabled false is not offered; agent_overrides.llm replaces model, temperature and max_tokens
 *   for one call;
 * - http tools: method GET sends the arguments as the query; timeout_ms cuts off a slower answer;
 * - conversation.inactivity_timeout_s and inactivity_prompt as set; wrap_up_line at max_duration_s;
 *   first_speaker callee; barge_in.enabled false;
 * - the voice that speaks: the agent's voice, tts.voice, and the call's agent_overrides.voice (each an
 *   espeak-ng voice: what baresip heard correlates with that voice's rendering, not the default's).
 * RTP ports: 34860-34928 (this file's range).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EspeakNgTts } from '../../src/providers/tts/espeak-ng.js';
import { concat, findSignal, noise, wavBytes } from '../fixtures/media/signals.js';
import { CALLEE_RATE, calleeScript } from '../fixtures/voice/callee.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { ToolServer } from '../worker/tools-server.js';
import { waitFor } from '../helpers/wait.js';
import { callEnded, NARROWBAND_RATE, narrowbandScript, placeCall, showTurns, startVoiceRig, voiceSkip, type PlacedCall, type TranscriptTurnOut, type VoiceRig } from './voice-helpers.js';

const skip = voiceSkip();
const API_KEY = 'sk-test-agent-fields-0123456789';
const GREETING = 'Hi, this is Outcall calling about your order.';

let rig: VoiceRig;
let llm: OpenAiProtocolServer;
let tools: ToolServer;

before(async () => {
  if (skip) return;
  rig = await startVoiceRig(34860, 34928);
  llm = await OpenAiProtocolServer.start({ answerSummaries: true });
  tools = await new ToolServer().start();
});
after(async () => {
  if (skip) return;
  await rig.stop();
  await llm.close();
  await tools.stop();
});

const openAi = (extra: Record<string, unknown> = {}) => ({ provider: 'openai', base_url: llm.baseUrl, model: 'gpt-4o-mini', api_key: API_KEY, ...extra });

/** The model's requests during one call (summaries, asked after the end, are not conversation turns). */
const conversationRequests = (from: number) => llm.requests.slice(from).filter((r) => Array.isArray(r.body.messages) && r.body.stream === true);

/**
 * The ended call and its transcript, without baresip's recordings: the tests that check what the model
 * or the transcript got do not read the audio (which, on a loaded machine, lags the call's end).
 */
async function ended(placed: PlacedCall, ms: number) {
  const call = await waitFor(
    'the call to end',
    async () => {
      const got = await rig.t.org.req('GET', `/v1/calls/${placed.callId}`);
      return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got.body : undefined;
    },
    ms,
  );
  const tr = call.transcript_id ? await rig.t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
  return { call, turns: (tr?.body.turns ?? []) as TranscriptTurnOut[] };
}

async function espeak(text: string, voice: string, rate: number): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  for await (const c of new EspeakNgTts({ defaultVoice: voice }).synthesize({ text, sampleRate: rate })) chunks.push(c);
  return concat(chunks);
}

describe('agent fields on live calls (baresip, OpenAI protocol server)', { skip }, () => {
  const SAMPLING = { temperature: 0.3, max_tokens: 77, options: { seed: 7, max_tokens_field: 'max_completion_tokens' } };

  test('llm temperature, max_tokens and options reach the model; an end_call with enabled false is not offered', async (tc) => {
    const script = calleeScript([{ atS: 4, text: 'yes please deliver it tomorrow' }], 14);
    assert.ok(script, 'flite + sox produced the callee speech');
    llm.reply({ kind: 'text', pieces: ['Great, tomorrow it is.'] });
    const before = llm.requests.length;
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      agent: { system_prompt: 'You confirm deliveries.', greeting: GREETING, llm: openAi(SAMPLING), tools: [{ type: 'end_call', enabled: false }] },
    });
    try {
      const { call, turns } = await ended(placed, 45_000);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      const reqs = conversationRequests(before);
      assert.equal(reqs.length, 1, 'one answer to the one callee turn');
      const body = reqs[0]!.body;
      assert.equal(body.model, 'gpt-4o-mini');
      assert.equal(body.temperature, 0.3);
      assert.equal(body.max_completion_tokens, 77, 'options.max_tokens_field renames the limit');
      assert.equal(body.max_tokens, undefined);
      assert.equal(body.seed, 7, 'any other option is a request body field');
      const offered = ((body.tools ?? []) as Array<{ function: { name: string } }>).map((x) => x.function.name);
      assert.ok(!offered.includes('end_call'), `end_call is switched off: ${offered.join(', ')}`);
    } finally {
      await placed.callee.stop();
    }
  });

  test("agent_overrides.llm: this call's model, temperature and max_tokens reach the model instead of the agent's", async (tc) => {
    const script = calleeScript([{ atS: 4, text: 'yes please deliver it tomorrow' }], 14);
    assert.ok(script);
    llm.reply({ kind: 'text', pieces: ['Great, tomorrow it is.'] });
    const before = llm.requests.length;
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      agent: { system_prompt: 'You confirm deliveries.', greeting: GREETING, llm: openAi(SAMPLING) },
      call: { agent_overrides: { llm: { model: 'gpt-4.1-mini', temperature: 1.1, max_tokens: 55 } } },
    });
    try {
      const { call, turns } = await ended(placed, 45_000);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      const reqs = conversationRequests(before);
      assert.equal(reqs.length, 1);
      const body = reqs[0]!.body;
      assert.deepEqual([body.model, body.temperature, body.max_completion_tokens], ['gpt-4.1-mini', 1.1, 55]);
      assert.equal(body.seed, 7, "the agent's options stay");
    } finally {
      await placed.callee.stop();
    }
  });

  test('http tools: method GET sends the arguments as the query; timeout_ms cuts off an answer slower than it (the model gets tool_timeout)', async (tc) => {
    const script = calleeScript([{ atS: 5, text: 'yes please deliver it tomorrow' }], 24);
    assert.ok(script);
    // The booking endpoint answers after 2.5 s: in time for the default (5 s), not for timeout_ms 500.
    tools.answer = (r) =>
      r.url.startsWith('/book')
        ? { status: 200, body: '{"booked":true}', contentType: 'application/json', delayMs: 2500 }
        : { status: 200, body: '{"status":"ships tomorrow"}', contentType: 'application/json' };
    llm.reply({ kind: 'tool_calls', calls: [{ id: 'call_lookup_1', name: 'lookup', argumentPieces: ['{"order":"4471","day":"tue"}'] }] });
    llm.reply({ kind: 'tool_calls', calls: [{ id: 'call_book_1', name: 'book', argumentPieces: ['{"slot":"tue-10"}'] }] });
    llm.reply({ kind: 'text', pieces: ['Sorry, booking is down right now.'] });
    const before = llm.requests.length;
    const toolMark = tools.requests.length;
    const params = { type: 'object', properties: { order: { type: 'string' }, day: { type: 'string' }, slot: { type: 'string' } } };
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      agent: {
        system_prompt: 'You book deliveries.',
        greeting: GREETING,
        llm: openAi(),
        tools: [
          { type: 'http', name: 'lookup', description: 'Finds an order', url: tools.url('/lookup?source=outcall'), method: 'GET', parameters: params },
          { type: 'http', name: 'book', description: 'Books a slot', url: tools.url('/book'), timeout_ms: 500, parameters: params },
        ],
      },
    });
    try {
      const { call, turns } = await ended(placed, 50_000);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      const got = tools.requests.slice(toolMark);
      assert.deepEqual(got.map((r) => r.method), ['GET', 'POST']);
      const lookup = new URL(got[0]!.url, 'http://x');
      assert.deepEqual([lookup.pathname, lookup.searchParams.get('source'), lookup.searchParams.get('order'), lookup.searchParams.get('day')], ['/lookup', 'outcall', '4471', 'tue']);
      assert.equal(got[0]!.body, '', 'a GET has no body');
      const reqs = conversationRequests(before);
      assert.equal(reqs.length, 3, 'the model asked twice for tools, then answered');
      const toolResults = (reqs[2]!.body.messages as Array<{ role: string; content: string; tool_call_id?: string }>).filter((m) => m.role === 'tool');
      tc.diagnostic(`tool results ${JSON.stringify(toolResults)}`);
      assert.match(toolResults.find((m) => m.tool_call_id === 'call_lookup_1')?.content ?? '', /ships tomorrow/);
      assert.match(toolResults.find((m) => m.tool_call_id === 'call_book_1')?.content ?? '', /tool_timeout/, 'the 2.5 s answer came after timeout_ms 500');
    } finally {
      tools.answer = () => ({ status: 200, body: '{"ok":true}', contentType: 'application/json' });
      await placed.callee.stop();
    }
  });

  test('inactivity_timeout_s and inactivity_prompt as set: the silent callee hears that prompt after that long, then the call ends', async (tc) => {
    const PROMPT = 'Hello, are you still with me?';
    const script = calleeScript([], 40);
    assert.ok(script);
    const before = llm.requests.length;
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      agent: { system_prompt: 'You chat.', greeting: GREETING, llm: openAi(), conversation: { inactivity_timeout_s: 3, inactivity_prompt: PROMPT } },
    });
    try {
      const { call, turns } = await ended(placed, 45_000);
      tc.diagnostic(`call ${call.status}/${call.end_reason} after ${call.duration_s} s; transcript ${showTurns(turns)}`);
      assert.deepEqual([call.status, call.end_reason], ['completed', 'inactivity_timeout'], placed.callee.log().slice(-3000));
      assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', GREETING], ['agent', PROMPT]]);
      // 3 s of silence after the greeting, the prompt, 3 s more: far from the default's 10 + 10 s.
      const gap = turns[1]!.startMs - turns[0]!.endMs;
      assert.ok(gap >= 2_500 && gap < 8_000, `the prompt came ${gap} ms after the greeting ended`);
      assert.ok(call.duration_s < 16, `ended after ${call.duration_s} s`);
      assert.equal(conversationRequests(before).length, 0, 'the callee said nothing: no model request');
    } finally {
      await placed.callee.stop();
    }
  });

  test('wrap_up_line as set: said when max_duration_s is reached, then the call ends max_duration_reached', async (tc) => {
    const WRAP = 'Our time is up for today, thank you and goodbye.';
    const script = calleeScript([], 45);
    assert.ok(script);
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      agent: { system_prompt: 'You chat.', greeting: GREETING, llm: openAi(), conversation: { wrap_up_line: WRAP, inactivity_timeout_s: 600 } },
      call: { max_duration_s: 30 },
    });
    try {
      const { call, turns } = await ended(placed, 60_000);
      tc.diagnostic(`call ${call.status}/${call.end_reason} after ${call.duration_s} s; transcript ${showTurns(turns)}`);
      assert.deepEqual([call.status, call.end_reason], ['completed', 'max_duration_reached'], placed.callee.log().slice(-3000));
      assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', GREETING], ['agent', WRAP]]);
    } finally {
      await placed.callee.stop();
    }
  });

  test("first_speaker callee: nothing is said until the callee's first words, which the model answers", async (tc) => {
    const script = calleeScript([{ atS: 4, text: 'hello who is calling' }], 14);
    assert.ok(script);
    const REPLY = 'This is Outcall, calling about your order.';
    llm.reply({ kind: 'text', pieces: [REPLY] });
    const before = llm.requests.length;
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      agent: { system_prompt: 'You confirm deliveries.', greeting: GREETING, llm: openAi(), conversation: { first_speaker: 'callee' } },
    });
    try {
      const { call, turns } = await ended(placed, 45_000);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(turns[0]?.speaker, 'callee', `the callee spoke first: ${showTurns(turns)}`);
      assert.ok(!turns.some((x) => x.text === GREETING), 'no greeting spoken ahead of the callee');
      assert.deepEqual(turns.slice(1).map((x) => [x.speaker, x.text]), [['agent', REPLY]]);
      assert.equal(conversationRequests(before).length, 1);
    } finally {
      await placed.callee.stop();
    }
  });

  test('barge_in enabled false: the callee talking over the greeting does not cut it', async (tc) => {
    const LONG = 'Hello, this is Outcall with a reminder about your appointment on Tuesday morning at ten, with doctor Lee, at the main clinic on Pine Street.';
    const script = calleeScript([{ atS: 2, text: 'sorry I cannot talk right now' }], 20);
    assert.ok(script);
    llm.reply({ kind: 'text', pieces: ['No problem, goodbye.'] });
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      agent: { system_prompt: 'You remind.', greeting: LONG, llm: openAi(), conversation: { barge_in: { enabled: false } } },
    });
    try {
      const { call, turns } = await ended(placed, 45_000);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      // The transcript lists the callee's words (said over the greeting) where they started; the greeting
      // is whole and not marked interrupted (with barge-in on it would be cut where the callee spoke).
      const greeting = turns.find((x) => x.speaker === 'agent');
      assert.deepEqual([greeting?.text, greeting?.interrupted], [LONG, false], 'the whole greeting, not interrupted');
      const callee = turns.find((x) => x.speaker === 'callee');
      assert.ok(callee && callee.startMs < greeting!.endMs, `the callee spoke during the greeting: ${showTurns(turns)}`);
    } finally {
      await placed.callee.stop();
    }
  });

  const TWO_SENTENCES =
    'Hello, this is Outcall with a reminder about your appointment on Tuesday morning at ten, with doctor Lee, at the main clinic on Pine Street. ' +
    'Please bring your insurance card and a list of the medicines you take, and arrive fifteen minutes early to fill in the forms.';

  test('barge_in.min_words: a one-word backchannel over the greeting does not cut it; a sentence does once its words are heard', async (tc) => {
    const script = calleeScript([{ atS: 2, text: 'okay' }, { atS: 6, text: 'sorry, I cannot talk right now, please call me later' }], 22);
    assert.ok(script);
    llm.reply({ kind: 'text', pieces: ['Of course, goodbye.'] });
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      agent: { system_prompt: 'You remind.', greeting: TWO_SENTENCES, llm: openAi(), conversation: { barge_in: { min_speech_ms: 200, min_words: 3 } } },
    });
    try {
      const { call, turns } = await ended(placed, 45_000);
      const [okay, sentence] = script.spans as [(typeof script.spans)[0], (typeof script.spans)[0]];
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}; "okay" ${okay.startMs}-${okay.endMs} ms, sentence ${sentence.startMs}-${sentence.endMs} ms`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      // The transcript lists turns as they were taken: "okay" (taken while the greeting went on) comes first.
      const greeting = turns.find((x) => x.speaker === 'agent');
      assert.ok(greeting, showTurns(turns));
      assert.equal(greeting.interrupted, true, `the sentence cut the greeting: ${showTurns(turns)}`);
      // min_words 0 would have cut it 200 ms into "okay"; with 3 it went on until the sentence's words came.
      assert.ok(greeting.endMs >= sentence.startMs, `the greeting went on past "okay" (cut at ${greeting.endMs} ms, the sentence began at ${sentence.startMs} ms)`);
      assert.ok(greeting.text.split(/\s+/).length < TWO_SENTENCES.split(/\s+/).length, 'and was cut before its end');
      const words = turns.filter((x) => x.speaker === 'callee').map((x) => x.text).join(' ');
      assert.match(words, /\b(sorry|talk|call|later|right|now)\b/, `the sentence was heard: ${showTurns(turns)}`);
    } finally {
      await placed.callee.stop();
    }
  });

  test('conversation.vad energy: noise over the greeting cuts it in; silero (the default) hears the same noise as no speech', async (tc) => {
    // Two seconds of loud white noise 2 s into the call: an energy detector calls it speech, Silero's model does not.
    const pcm = new Int16Array(CALLEE_RATE * 22);
    pcm.set(noise(CALLEE_RATE, 2000, 4000, 7), CALLEE_RATE * 2);
    const results: Array<{ vad: string; greeting: TranscriptTurnOut | undefined }> = [];
    for (const vad of ['energy', 'silero']) {
      // The energy call's recognizer hears the noise as a word ("ah"), which the model is asked about.
      if (vad === 'energy') llm.reply({ kind: 'text', pieces: ['Sorry, go ahead.'] });
      const placed = await placeCall(rig.t, {
        prompt: wavBytes(pcm, CALLEE_RATE),
        agent: { system_prompt: 'You remind.', greeting: TWO_SENTENCES, llm: openAi(), conversation: { vad, barge_in: { min_speech_ms: 300 } } },
      });
      try {
        const { call, turns } = await ended(placed, 45_000);
        tc.diagnostic(`vad ${vad}: call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
        assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
        results.push({ vad, greeting: turns.find((x) => x.speaker === 'agent') });
      } finally {
        await placed.callee.stop();
      }
    }
    const [energy, silero] = results.map((r) => r.greeting);
    assert.equal(energy?.interrupted, true, 'the energy VAD took the noise for speech and cut the greeting');
    assert.ok(energy.endMs < 6000, `cut soon after the noise began at 2000 ms (at ${energy.endMs} ms)`);
    assert.equal(silero?.interrupted, false, 'Silero did not');
    assert.ok(silero.endMs > 6000, `the greeting went on past the noise (to ${silero.endMs} ms)`);
  });

  /** A greeting-only call (PCMU, 8 kHz): how well what baresip heard matches each espeak-ng voice. */
  async function greetingVoice(tc: { diagnostic(m: string): void }, agent: Record<string, unknown>, call: Record<string, unknown> = {}) {
    // en-gb and en-us are one espeak-ng voice with two pronunciations: the default's rendering still
    // correlates (about 0.8) with en-gb's, but only the voice that spoke reaches 1.
    const TEXT = 'Hello, this is a reminder about your appointment on Tuesday.';
    const placed = await placeCall(rig.t, { prompt: narrowbandScript([], 12).wav, narrowband: true, agent: { greeting: TEXT, ...agent }, call });
    try {
      const { call: done, heardFromStart } = await callEnded(rig.t, placed, 40_000, NARROWBAND_RATE);
      assert.deepEqual([done.status, done.end_reason], ['completed', 'agent_hangup'], placed.callee.log().slice(-3000));
      const heard = heardFromStart.subarray(0, NARROWBAND_RATE * 7);
      const [gb, us] = await Promise.all([espeak(TEXT, 'en-gb', NARROWBAND_RATE), espeak(TEXT, 'en-us', NARROWBAND_RATE)]);
      const asGb = findSignal(gb, heard, NARROWBAND_RATE, [300, 800, 1300]).corr;
      const asUs = findSignal(us, heard, NARROWBAND_RATE, [300, 800, 1300]).corr;
      tc.diagnostic(`greeting vs espeak en-gb: corr ${asGb.toFixed(3)}; vs en-us: ${asUs.toFixed(3)}`);
      return { asGb, asUs };
    } finally {
      await placed.callee.stop();
    }
  }

  test("the agent's voice speaks: espeak-ng's en-gb voice, not the default", async (tc) => {
    const { asGb, asUs } = await greetingVoice(tc, { voice: 'en-gb' });
    assert.ok(asGb > 0.95 && asUs < asGb - 0.1, `en-gb ${asGb.toFixed(3)}, en-us ${asUs.toFixed(3)}`);
  });

  test("tts.voice speaks, over the agent's voice", async (tc) => {
    const { asGb, asUs } = await greetingVoice(tc, { voice: 'en-us', tts: { provider: 'espeak-ng', voice: 'en-gb' } });
    assert.ok(asGb > 0.95 && asUs < asGb - 0.1, `en-gb ${asGb.toFixed(3)}, en-us ${asUs.toFixed(3)}`);
  });

  test("agent_overrides.voice: one call's voice over the agent's", async (tc) => {
    const { asGb, asUs } = await greetingVoice(tc, { voice: 'en-us' }, { agent_overrides: { voice: 'en-gb' } });
    assert.ok(asGb > 0.95 && asUs < asGb - 0.1, `en-gb ${asGb.toFixed(3)}, en-us ${asUs.toFixed(3)}`);
  });
});
