// Command: node --import tsx bench/provider-adapters.ts [--turns 200] [--only <text>]
//   --only runs just the measures whose label contains <text> (case-insensitive), e.g. --only assemblyai
//
// What each cloud vendor adapter adds to a turn, against the local server that speaks the vendor's
// documented protocol (test/helpers/*-server.ts) over loopback, next to the instant provider (an
// in-process fake that answers at once) the voice-turn-overhead bench uses. Per request:
//   LLM  chat() called -> first text_delta, minus the server's own time from the request read to
//        its first text piece written (so the model's think time is not counted);
//   TTS  synthesize() called -> first PCM chunk, minus the server's time from the connection or
//        request to its first audio sent (the local servers really synthesize with espeak-ng);
//   STT  the vendor's final result sent -> the adapter's `final` event (the recognizer's own time
//        is not counted); and push() of one 20 ms frame (the per-frame cost while the callee talks).
// What is left is the adapter's work plus the loopback protocol: connection set-up (TLS is not
// there, the network round trip to the vendor is not there), framing, JSON, base64 and resampling.
// Goal: < 5 ms over the instant provider at p50 and p99.
import http from 'node:http';
import { WebSocket } from 'ws';
import { concat, fliteSpeech, silence, toFrames } from '../test/providers/conformance/audio.js';
import { createAnthropicLlm } from '../src/providers/llm/anthropic.js';
import { ScriptedLlm } from '../src/providers/llm/scripted.js';
import type { LlmProvider } from '../src/providers/llm/types.js';
import { createAssemblyAiStt } from '../src/providers/stt/assemblyai.js';
import { createDeepgramStt } from '../src/providers/stt/deepgram.js';
import { createOpenAiStt } from '../src/providers/stt/openai.js';
import type { SttProvider } from '../src/providers/stt/types.js';
import { createCartesiaTts } from '../src/providers/tts/cartesia.js';
import { closeIdleTtsConnections } from '../src/providers/tts/ws-pool.js';
import { createElevenLabsTts } from '../src/providers/tts/elevenlabs.js';
import { createOpenAiTts } from '../src/providers/tts/openai.js';
import type { TtsProvider } from '../src/providers/tts/types.js';
import { AnthropicProtocolServer } from '../test/helpers/anthropic-protocol-server.js';
import { startAssemblyAiServer } from '../test/helpers/assemblyai-protocol-server.js';
import { CartesiaProtocolServer } from '../test/helpers/cartesia-protocol-server.js';
import { startDeepgramServer } from '../test/helpers/deepgram-protocol-server.js';
import { ElevenLabsProtocolServer } from '../test/helpers/elevenlabs-protocol-server.js';
import { startOpenAiTranscriptionServer } from '../test/helpers/openai-transcription-server.js';
import { OpenAiTtsServer } from '../test/helpers/openai-tts-server.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const TURNS = arg('turns', 200);
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt >= 0 ? process.argv[onlyAt + 1]?.toLowerCase() : undefined;
const want = (label: string) => ONLY === undefined || label.toLowerCase().includes(ONLY);
const STT_TURNS = Math.max(10, Math.round(TURNS / 20)); // each streams ~3 s of audio in real time to a real recognizer
const KEY = 'bench-key-0123456789';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};
const rows: string[] = [];
function row(what: string, xs: number[]): void {
  const f = (v: number) => v.toFixed(2);
  rows.push(`| ${what} | ${xs.length} | ${f(pct(xs, 50))} | ${f(pct(xs, 99))} | ${f(Math.max(...xs))} |`);
  console.log(rows.at(-1));
}

// ---- server-side marks: when a server wrote its first content (same process, same clock) ----
let firstServerWrite: number | undefined;
const origWrite = http.ServerResponse.prototype.write;
http.ServerResponse.prototype.write = function patched(this: http.ServerResponse, chunk: unknown, ...rest: unknown[]) {
  if (firstServerWrite === undefined && typeof chunk === 'string' && chunk.includes('text_delta')) firstServerWrite = performance.now();
  return (origWrite as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
} as typeof http.ServerResponse.prototype.write;
let lastFinalSent: number | undefined;
const origSend = WebSocket.prototype.send;
WebSocket.prototype.send = function patched(this: WebSocket, data: unknown, ...rest: unknown[]) {
  const final =
    typeof data === 'string' &&
    (/"type":"Results".*"is_final":true/.test(data) || data.includes('input_audio_transcription.completed') || (data.includes('"type":"Turn"') && data.includes('"end_of_turn":true')));
  if (final) lastFinalSent = performance.now();
  return (origSend as (...a: unknown[]) => void).call(this, data, ...rest);
} as typeof WebSocket.prototype.send;

// ---- LLM ----
const MESSAGES = [
  { role: 'system' as const, content: 'You are a phone agent.' },
  { role: 'user' as const, content: 'Hello, who is this?' },
];
async function llmFirst(llm: LlmProvider): Promise<number> {
  const t0 = performance.now();
  let first = NaN;
  for await (const ev of llm.chat({ messages: MESSAGES })) if (ev.type === 'text_delta' && Number.isNaN(first)) first = performance.now();
  return first - t0;
}
if (want('LLM instant provider (ScriptedLlm)') || want('LLM anthropic adapter')) {
  const server = await AnthropicProtocolServer.start();
  const llm = createAnthropicLlm({ provider: 'anthropic', api_key: KEY, base_url: server.baseUrl });
  const instant: number[] = [];
  const adapter: number[] = [];
  const afterWrite: number[] = [];
  for (let i = 0; i < TURNS + 20; i++) {
    const a = await llmFirst(new ScriptedLlm().reply({ text: ['Hello, ', 'this is the clinic.'] }));
    server.reply({ kind: 'text', pieces: ['Hello, ', 'this is the clinic.'] });
    firstServerWrite = undefined;
    const t0 = performance.now();
    const total = await llmFirst(llm);
    if (i >= 20) {
      instant.push(a);
      // The server answers at once (its validation and first write take well under 0.1 ms), so the
      // whole time is the adapter's request, the loopback HTTP exchange and the SSE parsing.
      adapter.push(total);
      afterWrite.push(t0 + total - (firstServerWrite ?? NaN));
    }
  }
  row('LLM instant provider (ScriptedLlm): call -> first text', instant);
  row('LLM anthropic adapter: call -> first text_delta (server answers at once)', adapter);
  row('LLM anthropic adapter: server wrote its first text_delta -> adapter yields it', afterWrite);
  await server.close();
}

// ---- TTS ----
const SENTENCE = 'Your appointment is on Tuesday at three.';
async function ttsFirst(tts: TtsProvider, rate: number): Promise<number> {
  const t0 = performance.now();
  let first = NaN;
  for await (const c of tts.synthesize({ text: SENTENCE, sampleRate: rate })) if (Number.isNaN(first) && c.length > 0) first = performance.now();
  return first - t0;
}
const instantTts: TtsProvider = {
  name: 'instant',
  capabilities: { streaming: true, nativeSampleRates: [8000, 16000] },
  async *synthesize(req) {
    yield new Int16Array(req.sampleRate / 50);
  },
};
{
  if (want('TTS instant provider')) {
    const instant: number[] = [];
    for (let i = 0; i < TURNS; i++) instant.push(await ttsFirst(instantTts, 8000));
    row('TTS instant provider: call -> first chunk', instant);
  }
  const el = await ElevenLabsProtocolServer.start(KEY);
  const oa = await OpenAiTtsServer.start(KEY);
  const ca = await CartesiaProtocolServer.start(KEY);
  const cartesia = createCartesiaTts({ provider: 'cartesia', api_key: KEY, base_url: ca.baseUrl });
  const eleven = createElevenLabsTts({ provider: 'elevenlabs', api_key: KEY, base_url: el.baseUrl });
  // The WebSocket adapters keep their connection open between utterances (a pool per worker), and
  // each server's time counts from the utterance's first message read: the warm row is the steady state of a call
  // (one connection, many turns); the cold row pays a new connection (TCP + upgrade over loopback,
  // no TLS here) on every turn, as a worker's first turn does.
  const cases: Array<[string, TtsProvider, () => number | undefined, number, (() => void)?]> = [
    ['TTS elevenlabs adapter (multi-context WebSocket, pcm_8000), warm: pooled connection', eleven, () => el.contexts.at(-1)?.firstAudioMs, 8000],
    ['TTS elevenlabs adapter (multi-context WebSocket, pcm_8000), cold: a new connection every turn', eleven, () => el.contexts.at(-1)?.firstAudioMs, 8000, closeIdleTtsConnections],
    ['TTS cartesia adapter (WebSocket, pcm_s16le 8000), warm: pooled connection', cartesia, () => ca.requests.at(-1)?.firstAudioMs, 8000],
    ['TTS cartesia adapter (WebSocket, pcm_s16le 8000), cold: a new connection every turn', cartesia, () => ca.requests.at(-1)?.firstAudioMs, 8000, closeIdleTtsConnections],
    ['TTS openai adapter (HTTP, pcm 24 kHz -> 8 kHz)', createOpenAiTts({ provider: 'openai', api_key: KEY, base_url: oa.baseUrl }), () => oa.requests.at(-1)?.firstAudioMs, 8000],
  ];
  for (const [label, tts, serverFirst, rate, before] of cases.filter(([label]) => want(label))) {
    const over: number[] = [];
    const server: number[] = [];
    for (let i = 0; i < TURNS + 10; i++) {
      before?.();
      const total = await ttsFirst(tts, rate);
      const own = serverFirst() ?? NaN;
      if (i >= 10) {
        over.push(total - own);
        server.push(own);
      }
    }
    row(`${label}: call -> first chunk, minus the server's synthesis`, over);
    console.log(`   (the local server's own time to first audio, espeak-ng: p50 ${pct(server, 50).toFixed(2)} ms)`);
  }
  // The same HTTP request with bare fetch, reading the first body chunk: what loopback HTTP from a
  // server in this process costs before any adapter code runs (the OpenAI adapter's own share is
  // the difference).
  const bare: number[] = [];
  for (let i = 0; want('TTS bare fetch') && i < TURNS + 10; i++) {
    const t0 = performance.now();
    const res = await fetch(`${oa.baseUrl}/audio/speech`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: SENTENCE, response_format: 'pcm' }),
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const total = performance.now() - t0;
    await reader.cancel();
    if (i >= 10) bare.push(total - (oa.requests.at(-1)?.firstAudioMs ?? NaN));
  }
  if (bare.length > 0) row('TTS bare fetch of the same OpenAI request (no adapter): call -> first body chunk, minus the server', bare);
  closeIdleTtsConnections();
  await el.close();
  await oa.close();
  await ca.close();
}

// ---- STT ----
const speech = await fliteSpeech('please confirm my appointment on tuesday');
const utterance = concat(silence(300, 16000), speech, silence(900, 16000));
async function sttTurn(stt: SttProvider): Promise<{ finalLag: number; push: number[] }> {
  const stream = stt.start({ sampleRate: 16000 });
  const lags: number[] = [];
  const reader = (async () => {
    for await (const ev of stream) if (ev.type === 'final' && lastFinalSent !== undefined) lags.push(performance.now() - lastFinalSent);
  })();
  const push: number[] = [];
  for (const f of toFrames(utterance, 16000)) {
    const t = performance.now();
    stream.push(f);
    push.push(performance.now() - t);
    // Real time: the vendor settles an utterance on its own endpointing while audio still flows
    // (speech_final), as on a call, instead of only at end of stream.
    await new Promise((r) => setTimeout(r, 20));
  }
  stream.end();
  await reader;
  return { finalLag: lags[0] ?? NaN, push };
}
{
  const dg = await startDeepgramServer({});
  const oa = await startOpenAiTranscriptionServer({});
  const aai = await startAssemblyAiServer({});
  const cases: Array<[string, SttProvider]> = [
    ['STT deepgram adapter', createDeepgramStt({ provider: 'deepgram', api_key: KEY, base_url: dg.server.baseUrl })],
    ['STT openai adapter (16 kHz resampled to 24 kHz)', createOpenAiStt({ provider: 'openai', api_key: KEY, base_url: oa.server.baseUrl })],
    ['STT assemblyai adapter (50 ms messages)', createAssemblyAiStt({ provider: 'assemblyai', api_key: KEY, base_url: aai.server.baseUrl })],
  ];
  for (const [label, stt] of cases.filter(([label]) => want(label))) {
    const lag: number[] = [];
    const push: number[] = [];
    for (let i = 0; i < STT_TURNS; i++) {
      lastFinalSent = undefined;
      const r = await sttTurn(stt);
      if (Number.isFinite(r.finalLag)) lag.push(r.finalLag);
      push.push(...r.push);
    }
    row(`${label}: vendor final sent -> final event`, lag);
    row(`${label}: push() of one 20 ms frame`, push);
  }
  await dg.server.close();
  await oa.server.close();
  await aai.server.close();
}

console.log(`\nnode ${process.version}; ${TURNS} LLM/TTS requests and ${STT_TURNS} STT streams per adapter, sequential`);
console.log('| measure | n | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
