/**
 * Provider settings proven on live PCMU calls (baresip 8 kHz) against local servers speaking the
 * vendors' own protocols, which record what the client sent (the proofs test/contract/field-proofs.ts
 * names):
 * - stt.model and stt.options reach Deepgram's listen query; tts.model and tts.options reach
 *   ElevenLabs (model_id, voice_settings);
 * - each fallback's own settings: a recognizer that refuses the key falls back to the next, which is
 *   asked at its own base_url with its own key, model and options; likewise a TTS (ElevenLabs with its
 *   model, voice and options after Cartesia refuses), and an LLM fallback's temperature, max_tokens and
 *   options reach OpenAI after Anthropic is overloaded;
 * - speech_to_speech language, voice, max_tokens and options reach the Realtime session.
 * RTP ports: 34930-34998 (this file's range).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AnthropicProtocolServer } from '../helpers/anthropic-protocol-server.js';
import { CartesiaProtocolServer } from '../helpers/cartesia-protocol-server.js';
import { startDeepgramServer, type DeepgramScript } from '../helpers/deepgram-protocol-server.js';
import { ElevenLabsProtocolServer } from '../helpers/elevenlabs-protocol-server.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { OpenAiRealtimeServer } from '../helpers/openai-realtime-server.js';
import type { WsVendorServer } from '../helpers/ws-vendor-server.js';
import { waitFor } from '../helpers/wait.js';
import { narrowbandScript, placeCall, showTurns, startVoiceRig, voiceSkip, type PlacedCall, type TranscriptTurnOut, type VoiceRig } from './voice-helpers.js';

const skip = voiceSkip();
const GREETING = 'Hi, this is Outcall calling about your order.';
const KEYS = {
  deepgram: 'dg-test-provider-fields-0123456789',
  anthropic: 'sk-ant-test-provider-fields-0123456789',
  openai: 'sk-test-provider-fields-0123456789',
  elevenlabs: 'xi-test-provider-fields-0123456789',
  cartesia: 'sk_car_test-provider-fields-0123456789',
};

let rig: VoiceRig;
let dg: { server: WsVendorServer; script: DeepgramScript };
/** A second Deepgram that knows another key: every request with ours is refused (401). */
let dgRefusing: { server: WsVendorServer; script: DeepgramScript };
let claude: AnthropicProtocolServer;
let gpt: OpenAiProtocolServer;
let eleven: ElevenLabsProtocolServer;
let cartesia: CartesiaProtocolServer;
let realtime: OpenAiRealtimeServer;

before(async () => {
  if (skip) return;
  rig = await startVoiceRig(34930, 34998);
  dg = await startDeepgramServer({ apiKey: KEYS.deepgram, scripted: true });
  dgRefusing = await startDeepgramServer({ apiKey: 'dg-someone-elses-key-0123456789', scripted: true });
  claude = await AnthropicProtocolServer.start({ answerSummaries: true });
  gpt = await OpenAiProtocolServer.start({ answerSummaries: true });
  eleven = await ElevenLabsProtocolServer.start(KEYS.elevenlabs);
  cartesia = await CartesiaProtocolServer.start(KEYS.cartesia);
  realtime = await OpenAiRealtimeServer.start();
});
after(async () => {
  if (skip) return;
  await rig.stop();
  await Promise.all([dg.server.close(), dgRefusing.server.close(), claude.close(), gpt.close(), eleven.close(), cartesia.close(), realtime.close()]);
});

/** The API takes http(s) base URLs; the WebSocket clients turn them into ws(s). */
const http = (wsUrl: string) => wsUrl.replace(/^ws:/, 'http:');
/** Generous vendor timeouts: the machine running the suite may be busy (2 cores, several suites). */
const PATIENT = { connect_timeout_ms: 15_000, end_timeout_ms: 15_000 };
const openAiLlm = (extra: Record<string, unknown> = {}) => ({ provider: 'openai', base_url: gpt.baseUrl, model: 'gpt-4o-mini', api_key: KEYS.openai, ...extra });

/**
 * The ended call and its transcript. What this file checks is what the vendors were sent, not the
 * audio baresip heard, so baresip's recordings are not read (under load they lag the call's end).
 */
async function ended(placed: PlacedCall) {
  const call = await waitFor(
    'the call to end',
    async () => {
      const got = await rig.t.org.req('GET', `/v1/calls/${placed.callId}`);
      return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got.body : undefined;
    },
    60_000,
  );
  const tr = call.transcript_id ? await rig.t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
  return { call, turns: (tr?.body.turns ?? []) as TranscriptTurnOut[] };
}

describe('provider settings on live PCMU calls (baresip 8 kHz, local vendor-protocol servers)', { skip }, () => {
  test("stt.model and stt.options reach Deepgram's listen query; tts.model and tts.options reach ElevenLabs", async (tc) => {
    const LINE = 'can you deliver it on friday';
    const script = narrowbandScript([{ atS: 8, text: LINE }], 26);
    dg.script.hear(LINE);
    const marks = { dg: dg.server.sessions.length, eleven: eleven.connections.length };
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      narrowband: true,
      agent: {
        system_prompt: 'You confirm deliveries.',
        greeting: GREETING,
        stt: { provider: 'deepgram', base_url: http(dg.server.baseUrl), api_key: KEYS.deepgram, model: 'nova-2-phonecall', options: { keywords: 'bicycle,Friday', smart_format: false, ...PATIENT } },
        llm: openAiLlm(),
        tts: { provider: 'elevenlabs', base_url: http(eleven.baseUrl), api_key: KEYS.elevenlabs, voice: '21m00Tcm4TlvDq8ikWAM', model: 'eleven_turbo_v2_5', options: { stability: 0.35, speed: 1.1 } },
      },
    });
    try {
      const { call, turns } = await ended(placed);
      tc.diagnostic(`call ${call.status}/${call.end_reason} ${JSON.stringify(call.error)}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));

      const sessions = dg.server.sessions.slice(marks.dg);
      assert.ok(sessions.length >= 1, 'Deepgram was asked');
      const q = sessions[0]!.query;
      assert.equal(q.get('model'), 'nova-2-phonecall', 'stt.model');
      assert.deepEqual(q.getAll('keywords'), ['bicycle', 'Friday'], 'stt.options.keywords (nova-2 takes keywords)');
      assert.equal(q.get('smart_format'), 'false', 'stt.options.smart_format');

      const conns = eleven.connections.slice(marks.eleven).filter((c) => c.messages.length > 0);
      assert.ok(conns.length >= 1, 'ElevenLabs spoke');
      assert.equal(conns[0]!.query.get('model_id'), 'eleven_turbo_v2_5', 'tts.model');
      assert.equal(conns[0]!.voice, '21m00Tcm4TlvDq8ikWAM', 'tts.voice');
      const settings = conns[0]!.messages.map((m) => m.voice_settings).find((v) => v !== undefined) as Record<string, unknown> | undefined;
      assert.deepEqual([settings?.stability, settings?.speed], [0.35, 1.1], `tts.options as voice_settings: ${JSON.stringify(settings)}`);

      // The greeting spoken by ElevenLabs, the callee's line heard through Deepgram (the model's answer
      // is not what this test is about: a loaded machine may not speak it before the callee hangs up).
      assert.deepEqual(turns.slice(0, 2).map((x) => [x.speaker, x.text, x.interrupted]), [['agent', GREETING, false], ['callee', LINE, false]], showTurns(turns));
    } finally {
      await placed.callee.stop();
    }
  });

  test('fallbacks with their own settings: Deepgram -> Deepgram elsewhere, Cartesia -> ElevenLabs, Anthropic -> OpenAI; each fallback asked with its own base_url, key, model, voice and options', async (tc) => {
    const LINE = 'can you deliver it on friday';
    const script = narrowbandScript([{ atS: 8, text: LINE }], 26);
    dg.script.hear(LINE);
    claude.reply({ kind: 'error', status: 529, errorType: 'overloaded_error', message: 'Overloaded' });
    gpt.reply({ kind: 'text', pieces: ['Yes, Friday works.'] });
    const marks = { dg: dg.server.sessions.length, refusing: dgRefusing.server.sessions.length, gpt: gpt.requests.length, eleven: eleven.connections.length };
    const placed = await placeCall(rig.t, {
      prompt: script.wav,
      narrowband: true,
      agent: {
        system_prompt: 'You confirm deliveries.',
        greeting: GREETING,
        // The callee stays on the line (silent) until its script ends at 26 s: no inactivity prompt before that.
        conversation: { inactivity_timeout_s: 30 },
        stt: {
          provider: 'deepgram',
          base_url: http(dgRefusing.server.baseUrl),
          api_key: KEYS.deepgram,
          fallbacks: [{ provider: 'deepgram', base_url: http(dg.server.baseUrl), api_key: KEYS.deepgram, model: 'nova-2-phonecall', options: { keywords: 'bicycle', ...PATIENT } }],
        },
        llm: {
          provider: 'anthropic',
          base_url: claude.baseUrl,
          model: 'claude-haiku-4-5',
          api_key: KEYS.anthropic,
          fallbacks: [openAiLlm({ temperature: 0.2, max_tokens: 99, options: { seed: 3 } })],
        },
        tts: {
          provider: 'cartesia',
          base_url: http(cartesia.baseUrl),
          api_key: 'sk_car_revoked-0123456789',
          fallbacks: [{ provider: 'elevenlabs', base_url: http(eleven.baseUrl), api_key: KEYS.elevenlabs, voice: '21m00Tcm4TlvDq8ikWAM', model: 'eleven_flash_v2_5', options: { stability: 0.6 } }],
        },
      },
    });
    try {
      const { call, turns } = await ended(placed);
      const fallbacks = (call.metrics?.provider_fallbacks ?? []) as Array<{ kind: string; from: string; to: string; code: string }>;
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}; fallbacks ${JSON.stringify(fallbacks)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', GREETING], ['callee', LINE], ['agent', 'Yes, Friday works.']], showTurns(turns));
      const switched = fallbacks.map((f) => [f.kind, f.from, f.to]);
      for (const s of [['stt', 'deepgram', 'deepgram'], ['tts', 'cartesia', 'elevenlabs'], ['llm', 'anthropic', 'openai']]) {
        assert.ok(switched.some((x) => JSON.stringify(x) === JSON.stringify(s)), `switch ${s.join(' ')} recorded: ${JSON.stringify(switched)}`);
      }

      // The recognizer: refused at the first server, then heard by the fallback's own server, model and options.
      assert.ok(dgRefusing.server.sessions.length > marks.refusing, 'the first recognizer was asked (and refused the key)');
      const heardBy = dg.server.sessions.slice(marks.dg);
      assert.ok(heardBy.length >= 1, "the fallback's base_url was asked");
      assert.equal(heardBy[0]!.headers.authorization, `Token ${KEYS.deepgram}`, "the fallback's api_key");
      assert.equal(heardBy[0]!.query.get('model'), 'nova-2-phonecall', "the fallback's model");
      assert.deepEqual(heardBy[0]!.query.getAll('keywords'), ['bicycle'], "the fallback's options");

      // The voice: ElevenLabs, with the fallback's own key, voice, model and options.
      const conns = eleven.connections.slice(marks.eleven).filter((c) => c.messages.length > 0);
      assert.ok(conns.length >= 1, 'the TTS fallback spoke');
      assert.equal(conns[0]!.headers['xi-api-key'], KEYS.elevenlabs);
      assert.equal(conns[0]!.voice, '21m00Tcm4TlvDq8ikWAM');
      assert.equal(conns[0]!.query.get('model_id'), 'eleven_flash_v2_5');
      const settings = conns[0]!.messages.map((m) => m.voice_settings).find((v) => v !== undefined) as Record<string, unknown> | undefined;
      assert.equal(settings?.stability, 0.6, `the fallback's options: ${JSON.stringify(settings)}`);

      // The model: OpenAI, with the fallback's temperature, max_tokens and options.
      const oreqs = gpt.requests.slice(marks.gpt);
      assert.equal(oreqs.length, 1);
      assert.deepEqual([oreqs[0]!.body.temperature, oreqs[0]!.body.max_tokens, oreqs[0]!.body.seed], [0.2, 99, 3]);
    } finally {
      await placed.callee.stop();
    }
  });

  test('speech_to_speech language, voice, max_tokens and options reach the Realtime session', async (tc) => {
    const marks = realtime.connections.length;
    const placed = await placeCall(rig.t, {
      prompt: narrowbandScript([], 10).wav,
      narrowband: true,
      agent: {
        system_prompt: 'You confirm deliveries.',
        greeting: 'Hola, le llamamos por su pedido.',
        speech_to_speech: {
          provider: 'openai',
          base_url: realtime.baseUrl,
          api_key: 'sk-test-provider-fields-rt-0123456789',
          model: 'gpt-realtime',
          language: 'es-MX',
          voice: 'verse',
          max_tokens: 321,
          options: { silence_duration_ms: 900, vad_threshold: 0.7, prefix_padding_ms: 250 },
        },
      },
    });
    try {
      const { call, turns } = await ended(placed);
      tc.diagnostic(`call ${call.status}/${call.end_reason} ${JSON.stringify(call.error)}; transcript ${showTurns(turns)}`);
      assert.equal(call.status, 'completed', placed.callee.log().slice(-3000));
      const conn = realtime.connections[marks];
      assert.ok(conn, 'the Realtime model was asked');
      const session = conn.session;
      tc.diagnostic(`session ${JSON.stringify(session).slice(0, 1500)}`);
      assert.equal(session.audio.output.voice, 'verse', 'speech_to_speech.voice');
      assert.equal(session.max_output_tokens, 321, 'speech_to_speech.max_tokens');
      assert.equal(session.audio.input.transcription.language, 'es', 'speech_to_speech.language: what the callee is heard in');
      assert.match(session.instructions, /\(es-MX\)/, 'and what the model is told to speak');
      const td = session.audio.input.turn_detection;
      assert.deepEqual([td.type, td.silence_duration_ms, td.threshold, td.prefix_padding_ms], ['server_vad', 900, 0.7, 250], 'speech_to_speech.options');
    } finally {
      await placed.callee.stop();
    }
  });
});
