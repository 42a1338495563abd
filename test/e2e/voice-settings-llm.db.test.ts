/**
 * An LLM agent's settings acting on live calls: API -> store -> dispatcher -> media worker thread ->
 * SIP/RTP over PCMU -> baresip as the callee, with local servers speaking Deepgram's streaming
 * protocol (scripted hearing: the utterances' timing comes from the callee's real audio) and
 * OpenAI's chat-completions protocol, and the agent speaking with espeak-ng.
 * - The call's one language: stt.language (es-MX) over the agent's en-US reaches the recognizer, the
 *   greeting is spoken with espeak-ng's Spanish voice, and the model is told to speak it.
 * - The system prompt's {{variables}} are filled in what the model receives.
 * - A declared end_call: the model sees and calls it by its declared name and description.
 * - conversation.filler: said when the model is slow (not only a tool); none by default.
 * baresip's recording of what it heard is the ground truth for what was said when.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EspeakNgTts } from '../../src/providers/tts/espeak-ng.js';
import { concat, findSignal } from '../fixtures/media/signals.js';
import { loudSpans } from '../fixtures/voice/energy.js';
import { startDeepgramServer, type DeepgramScript } from '../helpers/deepgram-protocol-server.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import type { WsVendorServer } from '../helpers/ws-vendor-server.js';
import { ToolServer } from '../worker/tools-server.js';
import { callEnded, narrowbandScript, NARROWBAND_RATE, placeCall, showTurns, startVoiceRig, voiceSkip, type VoiceRig } from './voice-helpers.js';

const skip = voiceSkip();
const RATE = NARROWBAND_RATE;
const KEYS = { deepgram: 'dg-test-settings-e2e-0123456789', openai: 'sk-test-settings-e2e-0123456789' };

let rig: VoiceRig;
let dg: { server: WsVendorServer; script: DeepgramScript };
let gpt: OpenAiProtocolServer;
let tools: ToolServer;

before(async () => {
  if (skip) return;
  rig = await startVoiceRig(45000, 45198);
  dg = await startDeepgramServer({ apiKey: KEYS.deepgram, scripted: true });
  gpt = await OpenAiProtocolServer.start({ answerSummaries: true });
  tools = await new ToolServer().start();
});
after(async () => {
  if (skip) return;
  await rig.stop();
  await Promise.all([dg.server.close(), gpt.close(), tools.stop()]);
});

const deepgramStt = (extra: Record<string, unknown> = {}) => ({ provider: 'deepgram', base_url: dg.server.baseUrl.replace(/^ws:/, 'http:'), api_key: KEYS.deepgram, ...extra });
const openAiLlm = () => ({ provider: 'openai', base_url: gpt.baseUrl, model: 'gpt-4o-mini', api_key: KEYS.openai });
type Message = { role: string; content: string };

/** espeak-ng's rendering of `text` with `voice`, at the leg's rate (what the agent sends, before G.711). */
async function espeak(text: string, voice: string): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  for await (const c of new EspeakNgTts({ defaultVoice: voice }).synthesize({ text, sampleRate: RATE })) chunks.push(c);
  return concat(chunks);
}

describe('LLM agent settings on live calls (baresip PCMU, Deepgram and OpenAI protocol servers)', { skip }, () => {
  test("one language (stt.language over the agent's), the prompt's variables filled, a declared end_call by its name", async (tc) => {
    const GREETING = 'Hola {{name}}, le llamamos por su pedido.';
    const LINE = 'si gracias eso es todo';
    const script = narrowbandScript([{ atS: 6, text: 'yes thank you that is all' }], 25);
    dg.script.hear(LINE);
    gpt.reply({ kind: 'tool_calls', calls: [{ id: 'call_hang_1', name: 'hang_up', argumentPieces: ['{"goodbye":', ' "Adios Ana."}'] }] });
    const marks = { dg: dg.server.sessions.length, gpt: gpt.requests.length };
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      narrowband: true,
      agent: {
        language: 'en-US',
        system_prompt: 'You call {{name}} about order {{order}}. Be brief.',
        greeting: GREETING,
        stt: deepgramStt({ language: 'es-MX' }),
        llm: openAiLlm(),
        tools: [{ type: 'end_call', name: 'hang_up', description: 'Hang up once the callee has nothing more to ask.' }],
      },
      call: { dynamic_variables: { name: 'Ana', order: '4471' }, call_context: 'Order 4471: a blue bicycle.' },
    });
    try {
      const { call, turns, heardFromStart } = await callEnded(rig.t, placed, 50_000, RATE);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'agent_hangup', 'the model hung up through the declared end_call');

      // The recognizer was asked for the call's language: stt.language, not the agent's en-US.
      const s = dg.server.sessions.slice(marks.dg);
      assert.equal(s.length, 1);
      assert.equal(s[0]!.query.get('language'), 'es-MX');

      // What the model received: the prompt with its values, the language to speak, the call's context.
      const reqs = gpt.requests.slice(marks.gpt);
      assert.equal(reqs.length, 1, reqs.map((r) => JSON.stringify(r.body.messages)).join('\n'));
      const messages = reqs[0]!.body.messages as Message[];
      assert.deepEqual(messages[0], { role: 'system', content: 'You call Ana about order 4471. Be brief.' });
      assert.ok(messages.some((m) => m.role === 'system' && m.content.includes('(es-MX)')), `the model is told the language: ${JSON.stringify(messages)}`);
      assert.ok(messages.some((m) => m.role === 'system' && m.content.includes('Order 4471: a blue bicycle.')), 'the call_context still reaches the model');
      assert.deepEqual(messages.at(-1), { role: 'user', content: LINE });
      // The declared end_call, as declared: its name and description, and no built-in one beside it.
      const offered = (reqs[0]!.body.tools as Array<{ function: { name: string; description: string } }>).map((x) => [x.function.name, x.function.description]);
      assert.deepEqual(offered, [['hang_up', 'Hang up once the callee has nothing more to ask.']]);

      assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', 'Hola Ana, le llamamos por su pedido.'], ['callee', LINE], ['agent', 'Adios Ana.']]);

      // The greeting was spoken with espeak-ng's Spanish voice: what baresip heard is that rendering
      // (G.711 keeps the waveform: correlation near 1), not the English voice's.
      const text = 'Hola Ana, le llamamos por su pedido.';
      const [es, en] = await Promise.all([espeak(text, 'es'), espeak(text, 'en-us')]);
      const greetingHeard = heardFromStart.subarray(0, RATE * 5);
      const asEs = findSignal(es, greetingHeard, RATE, [300, 800, 1300]);
      const asEn = findSignal(en, greetingHeard, RATE, [300, 800, 1300]);
      tc.diagnostic(`greeting vs espeak es: corr ${asEs.corr.toFixed(3)}; vs en-us: ${asEn.corr.toFixed(3)}`);
      assert.ok(asEs.corr > 0.9, `the greeting is espeak-ng's Spanish voice (corr ${asEs.corr.toFixed(3)})`);
      assert.ok(asEn.corr < asEs.corr - 0.2, `and not its English one (corr ${asEn.corr.toFixed(3)})`);
    } finally {
      await placed.callee.stop();
    }
  });

  test('filler: a model slower than after_ms gets the filler phrase first, then its answer, in one turn', async (tc) => {
    const LINE = 'where is my order';
    const REPLY = 'Your order ships tomorrow.';
    const FILLER = 'Let me check that for you.';
    const script = narrowbandScript([{ atS: 5, text: LINE }], 20);
    dg.script.hear(LINE);
    gpt.reply({ kind: 'text', pieces: [REPLY] }, { firstByteDelayMs: 4000 });
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      narrowband: true,
      agent: { system_prompt: 'You confirm deliveries.', greeting: 'Hi, this is Outcall.', stt: deepgramStt(), llm: openAiLlm(), conversation: { filler: { after_ms: 700, phrases: [FILLER] } } },
    });
    try {
      const { call, turns, heard } = await callEnded(rig.t, placed, 50_000, RATE);
      const said = script.spans[0]!;
      const spans = loudSpans(heard, RATE).filter((x) => x.startMs > said.endMs);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}; callee line ends ${said.endMs} ms; agent audio after it ${JSON.stringify(spans)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', 'Hi, this is Outcall.'], ['callee', LINE], ['agent', `${FILLER} ${REPLY}`]]);
      // The filler is heard well before the model could have answered (4 s after it was asked,
      // itself after the callee's speech ended), and the answer after it.
      assert.ok(spans.length >= 2, 'the filler and the answer, apart');
      assert.ok(spans[0]!.startMs - said.endMs < 3500, `the filler began ${spans[0]!.startMs - said.endMs} ms after the callee stopped`);
      assert.ok(spans.at(-1)!.startMs - said.endMs >= 4000, 'the answer came when the model answered');
    } finally {
      await placed.callee.stop();
    }
  });

  test('no filler unless configured: a slow tool runs in silence (no "One moment please.")', async (tc) => {
    const LINE = 'where is my order';
    const REPLY = 'Your order ships tomorrow.';
    const script = narrowbandScript([{ atS: 5, text: LINE }], 20);
    dg.script.hear(LINE);
    gpt.reply({ kind: 'tool_calls', calls: [{ id: 'call_lookup_1', name: 'lookup_order', argumentPieces: ['{"order":"4471"}'] }] });
    gpt.reply({ kind: 'text', pieces: [REPLY] });
    tools.answer = () => ({ status: 200, body: '{"status":"ships tomorrow"}', contentType: 'application/json', delayMs: 4000 });
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      narrowband: true,
      agent: {
        system_prompt: 'You confirm deliveries.', greeting: 'Hi, this is Outcall.', stt: deepgramStt(), llm: openAiLlm(),
        tools: [{ type: 'http', name: 'lookup_order', description: 'Finds an order', url: tools.url('/lookup'), parameters: { type: 'object', properties: { order: { type: 'string' } } } }],
      },
    });
    try {
      const { call, turns, heard } = await callEnded(rig.t, placed, 50_000, RATE);
      const said = script.spans[0]!;
      const spans = loudSpans(heard, RATE).filter((x) => x.startMs > said.endMs);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}; agent audio after the callee ${JSON.stringify(spans)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      const reply = turns.at(-1)!;
      assert.equal(reply.text, REPLY, 'nothing said while the tool ran');
      assert.equal(spans.length, 1, 'one stretch of agent audio after the callee spoke: the answer');
      assert.ok(spans[0]!.startMs - said.endMs >= 4000, `silence until the tool answered (${spans[0]!.startMs - said.endMs} ms)`);
    } finally {
      await placed.callee.stop();
    }
  });
});
