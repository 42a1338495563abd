/**
 * A speech-to-speech agent's settings acting on live calls: API -> store -> dispatcher -> media
 * worker thread -> SIP/RTP over PCMU -> baresip as the callee, with the model served by the local
 * Realtime protocol server (server VAD done on the audio baresip sends; replies are real espeak-ng
 * speech). baresip's recording of what it heard is the ground truth.
 * - barge_in.min_speech_ms: the server's interruption is off, and the agent is cut only by speech
 *   that lasted that long (a short "yes" does not cut the greeting; a long sentence does, that long in).
 * - The prompt's {{variables}} filled and the language to speak in the model's instructions; a declared
 *   end_call offered and called by its declared name.
 * - apology_line: when the model fails, the agent says it in a local voice, then hangs up.
 * - conversation.filler: said in the local voice while a reply is slow.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resample } from '../../src/media/index.js';
import { readWav, wavBytes } from '../fixtures/media/signals.js';
import { startBaresip, type Baresip } from '../fixtures/media/baresip.js';
import { calleeScript } from '../fixtures/voice/callee.js';
import { loudSpans } from '../fixtures/voice/energy.js';
import { OpenAiRealtimeServer, type RecordedConnection } from '../helpers/openai-realtime-server.js';
import { waitFor } from '../helpers/wait.js';
import { showTurns, startVoiceRig, voiceSkip, type TranscriptTurnOut, type VoiceRig } from './voice-helpers.js';

const skip = voiceSkip();
const RATE = 8000;
const KEY = 'sk-test-realtime-settings-0123456789';

let rig: VoiceRig;
let model: OpenAiRealtimeServer;
before(async () => {
  if (skip) return;
  rig = await startVoiceRig(45200, 45398);
  model = await OpenAiRealtimeServer.start();
});
after(async () => {
  if (skip) return;
  await rig.stop();
  await model.close();
});

/** The callee's lines at 8 kHz (baresip on PCMU plays and records at 8 kHz), with their spans. */
function script8k(lines: Array<{ atS: number; text: string }>, totalS: number) {
  const s = calleeScript(lines, totalS);
  assert.ok(s, 'flite + sox produced the callee speech');
  const pcm = s.wav.subarray(44);
  const pcm16k = new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.length));
  return { ...s, wav: wavBytes(resample(pcm16k, 16000, RATE), RATE) };
}

interface Placed {
  callId: string;
  callee: Baresip;
  conns: number;
}

/** A trunk to a baresip callee, the speech-to-speech agent (body) and a number; one call placed. */
async function place(prompt: Buffer, agentBody: Record<string, unknown>, callBody: Record<string, unknown> = {}): Promise<Placed> {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const to = `+1415${n}`;
  const callee = await startBaresip({ prompt, codecs: 'PCMU/8000/1', srate: RATE, user: to, runSeconds: 60 });
  const t = rig.t;
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `baresip-${n}`, host: '127.0.0.1', port: callee.port });
  assert.equal(trunk.status, 201, trunk.raw);
  const s2s = { provider: 'openai', model: 'gpt-realtime', base_url: model.baseUrl, api_key: KEY, options: { silence_duration_ms: 500 } };
  const agent = await t.org.req('POST', '/v1/agents', { name: `rt-${n}`, max_cps: 50, ...agentBody, speech_to_speech: s2s });
  assert.equal(agent.status, 201, agent.raw);
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1628${n}`, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  assert.equal(pn.status, 201, pn.raw);
  const conns = model.connections.length;
  const r = await t.org.req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to, max_duration_s: 60, ...callBody });
  assert.equal(r.status, 202, r.raw);
  return { callId: r.body.id as string, callee, conns };
}

async function ended(p: Placed) {
  const t = rig.t;
  const call = await waitFor('the call to end', async () => {
    const got = await t.org.req('GET', `/v1/calls/${p.callId}`);
    return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got.body : undefined;
  }, 60_000);
  const tr = call.transcript_id ? await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
  const turns = (tr?.body.turns ?? []) as TranscriptTurnOut[];
  await waitFor('baresip to close the call', () => /terminated|closed|BYE/i.test(p.callee.log()) || undefined, 8000).catch(() => undefined);
  const dec = await waitFor('baresip recording (heard)', () => p.callee.recordings().find((f) => f.endsWith('-dec.wav')), 8000);
  const conn = model.connections[p.conns] as RecordedConnection;
  return { call, turns, heard: readWav(dec).samples, conn };
}

describe('speech-to-speech agent settings on live PCMU calls (baresip, local Realtime server)', { skip }, () => {
  test('min_speech_ms: a short "yes" does not cut the greeting, a long sentence does once it lasted that long; prompt filled, language told, declared end_call', async (tc) => {
    const LONG_GREETING = 'Hello Ana, this is Outcall. I am calling about the blue bicycle you ordered last week. The delivery can be tomorrow morning, or on Friday afternoon, or next Monday at noon, whichever you prefer.';
    const script = script8k([{ atS: 2.5, text: 'yes' }, { atS: 6, text: 'please stop I am driving right now sorry' }], 25);
    const [short, long] = script.spans;
    model.hear('yes', 'please stop I am driving right now sorry');
    model.reply({ kind: 'say', text: 'Great.' }, { kind: 'function_call', name: 'hang_up', arguments: '{"goodbye":"Sorry to bother you, goodbye."}' });
    const p = await place(script.wav, {
      language: 'es-MX',
      system_prompt: 'You call {{name}} about order {{order}}.',
      greeting: LONG_GREETING,
      tools: [{ type: 'end_call', name: 'hang_up', description: 'Hang up when the callee wants to stop.' }],
      conversation: { barge_in: { min_speech_ms: 1500 } },
    }, { dynamic_variables: { name: 'Ana', order: '4471' } });
    try {
      const { call, turns, heard, conn } = await ended(p);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}; callee spoke ${JSON.stringify(script.spans)}`);
      assert.equal(call.status, 'completed', p.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'agent_hangup', 'the model hung up through the declared end_call');
      const session = conn.session;
      assert.equal(session.audio.input.turn_detection.interrupt_response, false, 'the server does not cut the model off by itself');
      assert.match(session.instructions, /^You call Ana about order 4471\.\n\n/, 'the prompt with its values');
      assert.match(session.instructions, /Speak Mexican Spanish \(es-MX\)/, 'the language to speak');
      assert.deepEqual((session.tools as Array<{ name: string; description: string }>).map((x) => [x.name, x.description]), [['hang_up', 'Hang up when the callee wants to stop.']]);

      // One cut: the greeting, well after the short "yes" and about min_speech_ms into the long sentence.
      const truncs = conn.events.filter((e) => e.event.type === 'conversation.item.truncate').map((e) => e.event.audio_end_ms as number);
      tc.diagnostic(`truncate audio_end_ms ${JSON.stringify(truncs)}; "yes" ${short!.startMs}-${short!.endMs} ms, sentence from ${long!.startMs} ms`);
      // (The reply to the "yes", queued behind the greeting, is cut at the same moment before a frame of it played: 0.)
      const played = truncs.filter((ms) => ms > 0);
      assert.equal(played.length, 1, 'the greeting was cut once');
      // What baresip heard: the greeting went on through the "yes", unbroken.
      const spans = loudSpans(heard, RATE);
      tc.diagnostic(`heard ${JSON.stringify(spans)}`);
      // audio_end_ms counts the greeting's own audio: on the callee's clock the cut is that far past
      // where the callee began to hear it (the greeting starts some 100-600 ms after the answer,
      // more on a loaded host).
      const cutAt = (spans[0]?.startMs ?? 0) + played[0]!;
      assert.ok(cutAt > short!.endMs + 2000, `not cut by the short "yes" (${cutAt} ms)`);
      assert.ok(cutAt >= long!.startMs + 1300 && cutAt < long!.startMs + 3000, `cut about 1500 ms into the sentence (${cutAt} ms on the callee's clock; it began at ${long!.startMs} ms)`);
      const greeting = turns[0]!;
      assert.deepEqual([greeting.speaker, greeting.interrupted], ['agent', true]);
      assert.ok(LONG_GREETING.startsWith(greeting.text) && greeting.text.split(' ').length > 12, `heard well past the "yes": "${greeting.text}"`);
      assert.deepEqual(turns.at(-1) && [turns.at(-1)!.speaker, turns.at(-1)!.text], ['agent', 'Sorry to bother you, goodbye.']);
    } finally {
      await p.callee.stop();
    }
  });

  test('apology_line: the model fails mid-call; the agent says the apology in its local voice, then hangs up (error_llm)', async (tc) => {
    const APOLOGY = 'Sorry, something broke on our side. We will call you back about your order.';
    const script = script8k([{ atS: 4, text: 'where is my order please' }], 25);
    model.hear('where is my order please');
    model.reply({ kind: 'fail', message: 'the model fell over' });
    const p = await place(script.wav, { system_prompt: 'You confirm deliveries.', greeting: 'Hi, this is Outcall.', conversation: { apology_line: APOLOGY } });
    try {
      const { call, turns, heard } = await ended(p);
      const said = script.spans[0]!;
      const after = loudSpans(heard, RATE).filter((x) => x.startMs > said.endMs);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}; agent audio after the callee ${JSON.stringify(after)}`);
      assert.equal(call.status, 'completed', p.callee.log().slice(-3000));
      assert.equal(call.end_reason, 'error_llm');
      assert.deepEqual(turns.at(-1) && [turns.at(-1)!.speaker, turns.at(-1)!.text, turns.at(-1)!.interrupted], ['agent', APOLOGY, false]);
      // Heard: the apology (the local default voice, ~4-5 s), then the hang-up, long before the callee's WAV ran out.
      const heardMs = after.reduce((s, x) => s + x.endMs - x.startMs, 0);
      assert.ok(heardMs > 3000, `the apology was heard (${heardMs} ms of speech after the callee spoke)`);
      assert.ok((call.duration_s as number) < 20, `then the agent hung up (${call.duration_s} s)`);
    } finally {
      await p.callee.stop();
    }
  });

  test('filler: a slow reply gets the filler phrase in the local voice, then the model answers', async (tc) => {
    const FILLER = 'One moment please, let me look.';
    const script = script8k([{ atS: 4, text: 'where is my order please' }], 20);
    model.hear('where is my order please');
    model.reply({ kind: 'say', text: 'Your order ships tomorrow.', firstDeltaDelayMs: 4000 });
    const p = await place(script.wav, { system_prompt: 'You confirm deliveries.', greeting: 'Hi, this is Outcall.', conversation: { filler: { after_ms: 800, phrases: [FILLER] } } });
    try {
      const { call, turns, heard } = await ended(p);
      const said = script.spans[0]!;
      const after = loudSpans(heard, RATE).filter((x) => x.startMs > said.endMs);
      tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${showTurns(turns)}; agent audio after the callee ${JSON.stringify(after)}`);
      assert.equal(call.status, 'completed', p.callee.log().slice(-3000));
      assert.deepEqual(turns.filter((x) => x.speaker === 'agent').map((x) => x.text), ['Hi, this is Outcall.', FILLER, 'Your order ships tomorrow.']);
      assert.ok(after.length >= 2, 'the filler and the answer, apart');
      assert.ok(after[0]!.startMs - said.endMs < 3000, `the filler began ${after[0]!.startMs - said.endMs} ms after the callee stopped`);
      assert.ok(after.at(-1)!.startMs - said.endMs >= 4000, 'the answer came when the model sent it');
    } finally {
      await p.callee.stop();
    }
  });
});
