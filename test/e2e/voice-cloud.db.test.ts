/**
 * Cloud providers on live calls: API -> store -> dispatcher -> media worker thread -> SIP/RTP over
 * PCMU (8 kHz) -> baresip as the callee, with local servers speaking the vendors' own protocols in
 * place of Deepgram (streaming STT), Anthropic and OpenAI (chat models), ElevenLabs and Cartesia
 * (streaming TTS). The servers record what the client sent (query, headers, audio, messages), so
 * the tests check the wiring end to end: the leg's rate reaching each vendor with no resampling hop,
 * tool calls, the transcript, provider fallbacks within a turn, barge-in over cloud speech.
 *
 * The Deepgram server recognizes with pocketsphinx, which cannot make out 8 kHz speech upsampled to
 * its 16 kHz model: it runs `scripted`, so each utterance it settles from the callee's real audio
 * (its timing comes from that audio) is reported with the words the test queued with hear().
 * baresip's recordings (what it heard, what it sent) are the ground truth for what happened when.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import { loudMs, loudSpan, loudSpans } from '../fixtures/voice/energy.js';
import { AnthropicProtocolServer } from '../helpers/anthropic-protocol-server.js';
import { startDeepgramServer, type DeepgramScript } from '../helpers/deepgram-protocol-server.js';
import { ElevenLabsProtocolServer } from '../helpers/elevenlabs-protocol-server.js';
import { CartesiaProtocolServer } from '../helpers/cartesia-protocol-server.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { pcmFromBytes, type WsVendorServer } from '../helpers/ws-vendor-server.js';
import { speech } from '../helpers/tts-speech.js';
import { ToolServer } from '../worker/tools-server.js';
import { callEnded, narrowbandScript, NARROWBAND_RATE, placeCall, showTurns, signedResult, startVoiceRig, voiceSkip, type VoiceRig } from './voice-helpers.js';

const skip = voiceSkip();
const RATE = NARROWBAND_RATE;
const GREETING = 'Hi, this is Outcall calling about your order.';
const SYSTEM_PROMPT = 'You are a polite assistant who confirms deliveries. Keep answers short.';
const CALL_CONTEXT = 'Ana ordered a blue bicycle, order number 4471.';
const KEYS = {
  deepgram: 'dg-test-cloud-e2e-0123456789',
  anthropic: 'sk-ant-test-cloud-e2e-0123456789',
  openai: 'sk-test-cloud-e2e-0123456789',
  elevenlabs: 'xi-test-cloud-e2e-0123456789',
  cartesia: 'sk_car_test-cloud-e2e-0123456789',
};

let rig: VoiceRig;
let dg: { server: WsVendorServer; script: DeepgramScript };
let claude: AnthropicProtocolServer;
let gpt: OpenAiProtocolServer;
let eleven: ElevenLabsProtocolServer;
let cartesia: CartesiaProtocolServer;
let tools: ToolServer;
let hooks: WebhookReceiver;
let deliverer: WebhookDeliverer;

before(async () => {
  if (skip) return;
  rig = await startVoiceRig(35000, 35198);
  dg = await startDeepgramServer({ apiKey: KEYS.deepgram, scripted: true });
  claude = await AnthropicProtocolServer.start({ answerSummaries: true });
  gpt = await OpenAiProtocolServer.start({ answerSummaries: true });
  eleven = await ElevenLabsProtocolServer.start(KEYS.elevenlabs);
  cartesia = await CartesiaProtocolServer.start(KEYS.cartesia);
  tools = await new ToolServer().start();
  hooks = await new WebhookReceiver().start();
  deliverer = new WebhookDeliverer(rig.t.ctx, { pollMs: 100 });
  await deliverer.start();
});
after(async () => {
  if (skip) return;
  await deliverer.stop();
  await rig.stop();
  await Promise.all([dg.server.close(), claude.close(), gpt.close(), eleven.close(), cartesia.close(), tools.stop(), hooks.stop()]);
});

/** The API takes http(s) base URLs; the WebSocket clients turn them into ws(s). */
const http = (wsUrl: string) => wsUrl.replace(/^ws:/, 'http:');

const deepgramStt = () => ({ provider: 'deepgram', base_url: http(dg.server.baseUrl), api_key: KEYS.deepgram });
const anthropicLlm = (extra: Record<string, unknown> = {}) => ({ provider: 'anthropic', base_url: claude.baseUrl, model: 'claude-haiku-4-5', api_key: KEYS.anthropic, ...extra });
const elevenTts = () => ({ provider: 'elevenlabs', base_url: http(eleven.baseUrl), api_key: KEYS.elevenlabs });

type Block = { type: string; text?: string; id?: string; name?: string; input?: unknown; tool_use_id?: string; content?: string };
type WireMessage = { role: string; content: Block[] };

/** An Anthropic request's messages (alternating user/assistant turns of content blocks). */
function wire(body: Record<string, unknown>): WireMessage[] {
  return body.messages as WireMessage[];
}

describe('cloud providers on a live PCMU call (baresip 8 kHz, local vendor-protocol servers)', { skip }, () => {
  test('Deepgram + Anthropic + ElevenLabs at 8 kHz: greeting, the callee asks, an http tool runs, the reply is heard; transcript, webhook', async (tc) => {
    const LINE = 'where is my order please';
    const script = narrowbandScript([{ atS: 5, text: LINE }], 16);
    dg.script.hear(LINE);
    claude.reply({ kind: 'tool_use', calls: [{ id: 'toolu_lookup_1', name: 'lookup_order', jsonPieces: ['{"order":', ' "4471"}'] }] });
    const REPLY = 'Your order ships tomorrow morning.';
    claude.reply({ kind: 'text', pieces: ['Your order ', 'ships tomorrow ', 'morning.'] });
    tools.answer = () => ({ status: 200, body: '{"status":"ships tomorrow"}', contentType: 'application/json' });
    const marks = { dg: dg.server.sessions.length, claude: claude.requests.length, eleven: eleven.contexts.length, tools: tools.requests.length };
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      narrowband: true,
      agent: {
        system_prompt: SYSTEM_PROMPT,
        greeting: GREETING,
        stt: deepgramStt(),
        llm: anthropicLlm(),
        tts: elevenTts(),
        tools: [{ type: 'http', name: 'lookup_order', description: 'Finds an order by its number', url: tools.url('/lookup'), parameters: { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] } }],
      },
      call: { call_context: CALL_CONTEXT, callback_url: hooks.url('/result') },
    });
    try {
      const { call, turns, heard, heardFromStart, sent, offsetMs } = await callEnded(rig.t, placed, 45_000, RATE);
      const said = script.spans[0]!;
      const sentSpan = loudSpan(sent, RATE);
      const spans = loudSpans(heard, RATE);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      tc.diagnostic(`callee line ${said.startMs}-${said.endMs} ms (sent dump ${JSON.stringify(sentSpan)}); agent audio heard: ${JSON.stringify(spans)} (heard dump shifted ${offsetMs} ms)`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'callee_hangup');

      // Deepgram: one stream for the call, linear16 at the leg's 8 kHz (no resampling hop), the
      // key as `Token`, and the callee's audio as baresip sent it: the call's length of it, with the
      // line where the callee's WAV has it.
      const dgs = dg.server.sessions.slice(marks.dg);
      assert.equal(dgs.length, 1, 'one Deepgram stream for the call');
      const s = dgs[0]!;
      assert.equal(s.headers.authorization, `Token ${KEYS.deepgram}`);
      assert.equal(s.query.get('encoding'), 'linear16');
      assert.equal(s.query.get('sample_rate'), '8000');
      assert.equal(s.query.get('channels'), '1');
      const streamed = pcmFromBytes(Buffer.concat(s.audio));
      const streamedMs = (streamed.length * 1000) / RATE;
      const sentMs = (sent.length * 1000) / RATE;
      const streamedSpan = loudSpan(streamed, RATE);
      tc.diagnostic(`Deepgram got ${s.audioBytes} bytes (${streamedMs.toFixed(0)} ms at 8 kHz) in ${s.audioMessages} messages; baresip sent ${sentMs.toFixed(0)} ms; line in the stream at ${JSON.stringify(streamedSpan)}`);
      assert.ok(Math.abs(streamedMs - sentMs) < 1000, `Deepgram got ~the call's audio: ${streamedMs.toFixed(0)} ms of ${sentMs.toFixed(0)} ms`);
      assert.ok(streamedSpan && Math.abs(streamedSpan.startMs - said.startMs) < 600, `the callee's line is in the stream where it was said (${streamedSpan?.startMs} vs ${said.startMs} ms)`);

      // ElevenLabs: asked for pcm_8000 (the leg's rate: no resampling) for the greeting and the reply.
      const els = eleven.contexts.slice(marks.eleven);
      const spoken = els.map((e) => [e.query.get('output_format'), String(e.messages[1]?.text ?? '').trim()]);
      tc.diagnostic(`ElevenLabs contexts: ${JSON.stringify(spoken)}`);
      assert.deepEqual(spoken, [['pcm_8000', GREETING], ['pcm_8000', REPLY]]);
      assert.ok(els.every((e) => e.headers['xi-api-key'] === KEYS.elevenlabs));
      assert.equal(els[1]!.connection, els[0]!.connection, "the reply is a second context on the greeting's connection");

      // Anthropic: the system prompt and call context as system blocks, the greeting as the
      // assistant's turn, the callee's words as heard; the tools offered; then the tool's result.
      const reqs = claude.requests.slice(marks.claude);
      assert.equal(reqs.length, 2, 'the tool_use round and the answer');
      const [first, second] = [reqs[0]!, reqs[1]!];
      assert.equal(first.invalid, undefined);
      assert.equal(second.invalid, undefined);
      assert.equal(first.headers['x-api-key'], KEYS.anthropic);
      assert.equal(first.body.model, 'claude-haiku-4-5');
      const system = (first.body.system as Block[]).map((b) => b.text);
      assert.equal(system[0], SYSTEM_PROMPT);
      assert.ok(system.some((t) => t?.includes(CALL_CONTEXT)), `the call_context reached the model: ${JSON.stringify(system)}`);
      assert.deepEqual(((first.body.tools as Array<{ name: string }>) ?? []).map((t) => t.name).sort(), ['end_call', 'lookup_order']);
      const m1 = wire(first.body);
      assert.deepEqual(m1.slice(1), [
        { role: 'assistant', content: [{ type: 'text', text: GREETING }] },
        { role: 'user', content: [{ type: 'text', text: LINE }] },
      ]);
      // The tool ran once, with the model's arguments; its result went back as the next turn.
      const ran = tools.requests.slice(marks.tools);
      assert.equal(ran.length, 1);
      assert.deepEqual(JSON.parse(ran[0]!.body).arguments, { order: '4471' });
      const m2 = wire(second.body);
      assert.deepEqual(m2.slice(0, m1.length), m1, 'the second request carries the conversation so far');
      assert.deepEqual(m2.at(-2), { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_lookup_1', name: 'lookup_order', input: { order: '4471' } }] });
      const result = m2.at(-1)!;
      assert.equal(result.role, 'user');
      assert.equal(result.content[0]?.type, 'tool_result');
      assert.equal(result.content[0]?.tool_use_id, 'toolu_lookup_1');
      assert.match(String(result.content[0]?.content), /ships tomorrow/);

      // The transcript: greeting, the callee's words as Deepgram reported them (timed from the
      // real audio), the answer with its tool call.
      assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', GREETING], ['callee', LINE], ['agent', REPLY]], showTurns(turns));
      assert.ok(Math.abs(turns[1]!.startMs - said.startMs) < 1200, `callee turn at ${turns[1]!.startMs} ms, spoken at ${said.startMs} ms`);
      assert.ok(turns.every((x) => !x.interrupted));
      const toolCalls = (turns[2] as { toolCalls?: Array<{ name: string; ok?: boolean; arguments: unknown }> }).toolCalls;
      assert.deepEqual(toolCalls?.map((c) => [c.name, c.ok, c.arguments]), [['lookup_order', true, { order: '4471' }]]);

      // What baresip heard: the greeting right after the answer and over before the callee spoke,
      // quiet while it spoke, then the reply.
      const greetingFromAnswer = loudSpan(heardFromStart, RATE)?.startMs ?? NaN;
      const greetingEnd = loudSpans(heardFromStart, RATE)[0]?.endMs ?? NaN;
      assert.ok(greetingFromAnswer < 2000, `the greeting starts right after the answer (${greetingFromAnswer} ms)`);
      assert.ok(greetingEnd < said.startMs, `the greeting was over (${greetingEnd} ms) before the callee spoke (${said.startMs} ms)`);
      assert.equal(loudMs(heard, RATE, (spans[0]?.endMs ?? 0) + 1, said.endMs), 0, 'the agent stayed quiet while the callee spoke');
      const reply = spans.find((x) => x.startMs > said.endMs);
      assert.ok(reply, 'baresip heard a reply after the callee spoke');
      assert.ok(loudMs(heard, RATE, said.endMs, Number.POSITIVE_INFINITY) >= 800, 'the reply is speech, not a click');
      tc.diagnostic(`greeting heard ${greetingFromAnswer} ms after answer; reply heard ${reply.startMs - said.endMs} ms after the callee's speech ended`);

      // The signed result webhook.
      const hook = await signedResult(rig.t, hooks, placed.callId);
      assert.equal(hook.status, 'completed');
      assert.equal(hook.end_reason, 'callee_hangup');
      assert.equal(hook.transcript_id, call.transcript_id);
    } finally {
      await placed.callee.stop();
    }
  });

  test('fallbacks within a turn: Cartesia refuses the key (401) -> espeak-ng, Anthropic overloaded (529) -> OpenAI; the call goes on, switches recorded', async (tc) => {
    const LINE = 'can you deliver it on friday';
    const script = narrowbandScript([{ atS: 5, text: LINE }], 15);
    dg.script.hear(LINE);
    claude.reply({ kind: 'error', status: 529, errorType: 'overloaded_error', message: 'Overloaded' });
    const REPLY = 'Yes, Friday works, I have noted it.';
    gpt.reply({ kind: 'text', pieces: ['Yes, Friday works, ', 'I have noted it.'] });
    const marks = { claude: claude.requests.length, gpt: gpt.requests.length, cartesia: cartesia.sessions.length };
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      narrowband: true,
      agent: {
        system_prompt: SYSTEM_PROMPT,
        greeting: GREETING,
        stt: deepgramStt(),
        llm: anthropicLlm({ fallbacks: [{ provider: 'openai', base_url: gpt.baseUrl, model: 'gpt-4o-mini', api_key: KEYS.openai }] }),
        // A key Cartesia does not know: its upgrade is refused with 401 on every request.
        tts: { provider: 'cartesia', base_url: http(cartesia.baseUrl), api_key: 'sk_car_revoked-0123456789', fallbacks: [{ provider: 'espeak-ng' }] },
      },
      call: { callback_url: hooks.url('/result') },
    });
    try {
      const { call, turns, heard, heardFromStart } = await callEnded(rig.t, placed, 45_000, RATE);
      const said = script.spans[0]!;
      const spans = loudSpans(heard, RATE);
      const fallbacks = (call.metrics?.provider_fallbacks ?? []) as Array<{ kind: string; from: string; to: string; code: string; message: string; at_ms: number }>;
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}; heard ${JSON.stringify(spans)}; callee line ${said.startMs}-${said.endMs} ms`);
      tc.diagnostic(`provider_fallbacks ${JSON.stringify(fallbacks)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'callee_hangup', 'no provider failure ended the call');

      // The switches, in order: the greeting's TTS (its synthesis starts while the phone rings; baresip
      // answers at once, so the switch lands just after the answer), then the model answering the callee. Cartesia is not switched away from again on the reply:
      // a refused key puts it last for the rest of the call (src/providers/fallback/common.ts).
      assert.deepEqual(fallbacks.map((f) => [f.kind, f.from, f.to, f.code]), [
        ['tts', 'cartesia', 'espeak-ng', 'provider_auth_failed'],
        ['llm', 'anthropic', 'openai', 'provider_unavailable'],
      ]);
      assert.match(fallbacks[0]!.message, /401|Invalid API key/);
      assert.match(fallbacks[1]!.message, /Overloaded|529/);
      assert.ok(fallbacks.every((f) => !f.message.includes('sk_car_revoked') && !f.message.includes(KEYS.anthropic)), 'no key in a message');
      assert.ok(fallbacks[0]!.at_ms < 1500, `the greeting's switch came at the answer (${fallbacks[0]!.at_ms} ms)`);
      assert.ok(fallbacks[1]!.at_ms > said.endMs - 500 && fallbacks[1]!.at_ms < said.endMs + 5000, `the model switch came after the callee spoke (${fallbacks[1]!.at_ms} ms)`);

      // Cartesia was asked (and refused) before espeak-ng spoke; the one Anthropic request was
      // refused, and OpenAI got the same conversation.
      const cs = cartesia.sessions.slice(marks.cartesia);
      // Once: the reply went straight to espeak-ng (the refused key put Cartesia last).
      assert.equal(cs.length, 1, 'Cartesia was asked for the greeting only');
      assert.equal(cs[0]!.messages.length, 0, 'and refused it at the upgrade');
      assert.equal(claude.requests.length - marks.claude, 1);
      const oreqs = gpt.requests.slice(marks.gpt);
      assert.equal(oreqs.length, 1);
      assert.equal(oreqs[0]!.headers.authorization, `Bearer ${KEYS.openai}`);
      const msgs = oreqs[0]!.body.messages as Array<{ role: string; content: string }>;
      assert.deepEqual(msgs[0], { role: 'system', content: SYSTEM_PROMPT });
      assert.deepEqual(msgs.slice(-2), [{ role: 'assistant', content: GREETING }, { role: 'user', content: LINE }]);
      const m1 = wire(claude.requests[marks.claude]!.body);
      assert.deepEqual(m1.at(-1), { role: 'user', content: [{ type: 'text', text: LINE }] }, 'Anthropic had been asked the same turn');

      assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', GREETING], ['callee', LINE], ['agent', REPLY]], showTurns(turns));
      assert.ok(turns.every((x) => !x.interrupted));

      // Both lines were heard: the greeting (espeak-ng) right after the answer, the reply after the callee.
      const greetingFromAnswer = loudSpan(heardFromStart, RATE)?.startMs ?? NaN;
      assert.ok(greetingFromAnswer < 2000, `the greeting starts right after the answer (${greetingFromAnswer} ms)`);
      assert.ok((loudSpans(heardFromStart, RATE)[0]?.endMs ?? NaN) < said.startMs, 'the greeting was over before the callee spoke');
      assert.ok(loudMs(heard, RATE, said.endMs, Number.POSITIVE_INFINITY) >= 800, 'baresip heard the reply after the callee spoke');

      const hook = await signedResult(rig.t, hooks, placed.callId);
      assert.equal(hook.status, 'completed');
    } finally {
      await placed.callee.stop();
    }
  });

  test('barge-in over a streaming ElevenLabs reply: playout stops, the client closes that socket, the turn keeps only what was heard', async (tc) => {
    const L1 = 'tell me about the delivery';
    const L2 = 'stop please I have to go now';
    const LONG =
      'Of course, your blue bicycle leaves our warehouse tonight and the driver will bring it tomorrow morning between eight and ten, ' +
      'and he will call you about thirty minutes before he arrives at your door';
    const GOODBYE = 'Sorry to keep you, goodbye.';
    const script = narrowbandScript([{ atS: 4.5, text: L1 }, { atS: 10, text: L2 }], 22);
    dg.script.hear(L1, L2);
    claude.reply({ kind: 'text', pieces: [LONG.slice(0, 40), LONG.slice(40, 120), LONG.slice(120)] });
    claude.reply({ kind: 'tool_use', calls: [{ id: 'toolu_end_1', name: 'end_call', jsonPieces: [`{"goodbye": ${JSON.stringify(GOODBYE)}}`] }] });
    // The greeting as fast as the server makes it; the long reply paced a little faster than real
    // time (200 ms of audio every 160 ms), as a vendor streams it, so it is still streaming when cut.
    eleven.next({ kind: 'speak' }).next({ kind: 'speak', chunkDelayMs: 160 });
    const marks = { claude: claude.requests.length, eleven: eleven.contexts.length };
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      narrowband: true,
      agent: { system_prompt: SYSTEM_PROMPT, greeting: GREETING, stt: deepgramStt(), llm: anthropicLlm(), tts: elevenTts() },
    });
    try {
      const { call, turns, heard, heardFromStart, offsetMs } = await callEnded(rig.t, placed, 45_000, RATE);
      const [said1, said2] = [script.spans[0]!, script.spans[1]!];
      const spans = loudSpans(heard, RATE);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}`);
      tc.diagnostic(`callee lines ${said1.startMs}-${said1.endMs}, ${said2.startMs}-${said2.endMs} ms; agent audio heard: ${JSON.stringify(spans)} (heard dump shifted ${offsetMs} ms)`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'agent_hangup');

      // The reply was playing when the callee cut in, and stopped soon after (upper bound: the
      // end-aligned dump, see EndedCall.heard), then stayed quiet while the callee spoke.
      assert.ok(loudMs(heard, RATE, said2.startMs - 1000, said2.startMs) >= 400, 'the agent was speaking when the callee started');
      const stopAfter = (pcm: Int16Array): number => {
        let stopMs = said2.startMs;
        for (const x of loudSpans(pcm, RATE)) if (x.startMs < said2.endMs) stopMs = Math.max(stopMs, Math.min(x.endMs, said2.endMs));
        return stopMs - said2.startMs;
      };
      const upper = stopAfter(heard);
      tc.diagnostic(`agent audio stopped ${stopAfter(heardFromStart)}-${upper} ms after the callee's onset`);
      assert.ok(upper < 2000, `the agent stopped at most ${upper} ms after the callee started talking`);
      assert.equal(loudMs(heard, RATE, said2.startMs + upper, said2.endMs), 0, 'and stayed quiet while the callee spoke');
      // How much of the reply baresip heard: from its first loud frame after L1 to the cut.
      const replyStart = spans.find((x) => x.startMs > said1.endMs)?.startMs ?? NaN;
      const heardReplyMs = said2.startMs + upper - replyStart;

      // ElevenLabs: the reply's socket was still streaming and the client closed it.
      const els = eleven.contexts.slice(marks.eleven);
      const texts = els.map((e) => String(e.messages[1]?.text ?? '').trim());
      tc.diagnostic(`ElevenLabs contexts: ${JSON.stringify(texts)}`);
      assert.deepEqual(texts, [GREETING, LONG, GOODBYE]);
      assert.ok(els.every((e) => e.query.get('output_format') === 'pcm_8000'));
      const closedByClient = await Promise.race([els[1]!.closedEarly.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
      assert.ok(closedByClient, 'the client closed the reply socket before ElevenLabs had finished');
      assert.equal(els[1]!.connection, els[0]!.connection, "the reply ran on the greeting's kept connection");
      assert.notEqual(els[2]!.connection, els[1]!.connection, 'the goodbye on a new one');
      // That one was opened while the callee was still talking (the session readies the TTS at the
      // callee's speech start), not when the goodbye was asked for.
      const goodbyeConn = eleven.connections[els[2]!.connection]!;
      const aheadMs = els[2]!.startedAt - goodbyeConn.openedAt;
      tc.diagnostic(`the goodbye's connection was opened ${aheadMs.toFixed(0)} ms before its context`);
      assert.ok(aheadMs > 500, `opened ahead of the goodbye: ${aheadMs.toFixed(0)} ms`);

      // The transcript: the reply cut to what was heard, marked interrupted.
      assert.deepEqual(turns.map((x) => x.speaker), ['agent', 'callee', 'agent', 'callee', 'agent'], showTurns(turns));
      assert.deepEqual([turns[0]!.text, turns[1]!.text, turns[3]!.text, turns[4]!.text], [GREETING, L1, L2, GOODBYE]);
      const cut = turns[2]!;
      assert.equal(cut.interrupted, true);
      const words = LONG.split(/\s+/);
      const kept = cut.text.split(/\s+/).filter((w) => w !== '');
      assert.deepEqual(kept, words.slice(0, kept.length), `a prefix of the reply: "${cut.text}"`);
      // Its share of the words is about the share of the reply's audio heard (espeak-ng's length at 8 kHz).
      const fullMs = await spokenMs(LONG);
      tc.diagnostic(`kept ${kept.length}/${words.length} words; baresip heard ~${heardReplyMs.toFixed(0)} ms of the reply's ${fullMs.toFixed(0)} ms`);
      assert.ok(kept.length > 0, 'some of the reply was heard');
      assert.ok(Math.abs(kept.length / words.length - heardReplyMs / fullMs) < 0.15, `kept ${kept.length}/${words.length} words for ${heardReplyMs.toFixed(0)} of ${fullMs.toFixed(0)} ms heard`);
      assert.ok(turns.filter((x) => x !== cut).every((x) => !x.interrupted));

      // The model's next request holds the reply as heard, then the callee's words.
      const reqs = claude.requests.slice(marks.claude);
      assert.equal(reqs.length, 2);
      assert.equal(reqs[1]!.invalid, undefined);
      assert.deepEqual(wire(reqs[1]!.body).slice(-2), [
        { role: 'assistant', content: [{ type: 'text', text: cut.text }] },
        { role: 'user', content: [{ type: 'text', text: L2 }] },
      ]);
    } finally {
      await placed.callee.stop();
    }
  });
});

/** espeak-ng's own length of a line at the leg's rate (the local ElevenLabs server speaks with it). */
async function spokenMs(text: string): Promise<number> {
  const chunks: Int16Array[] = [];
  for await (const pcm of speech(text, RATE)) chunks.push(pcm);
  const all = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const span = loudSpan(all, RATE);
  return span ? span.endMs - span.startMs : (all.length * 1000) / RATE;
}
