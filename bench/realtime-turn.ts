// Command: node --import tsx bench/realtime-turn.ts [--turns 40] [--server-delay 150]
//
// Our own share of a speech-to-speech turn: from the end of the callee's speech as the model
// reports it (input_audio_buffer.speech_stopped sent by the server) to the agent's first audio
// packet leaving for the wire, minus the server's own delay (its scripted first-delta delay plus
// espeak-ng synthesis: everything before it sends the first response.output_audio.delta). The
// RealtimeSession runs on a PCMU leg (G.711 straight through) against the local Realtime server
// over a real WebSocket; the leg sends one 20 ms packet per tick of a real 20 ms clock, as a
// CallLeg's pacer does, so "on the wire" is the first non-silent packet after speech_stopped.
import { loadavg } from 'node:os';
import { realClock } from '../src/time/clock.js';
import { realtimeConfigFrom } from '../src/voice/realtime/config.js';
import { RealtimeSession } from '../src/voice/realtime/session.js';
import { OpenAiRealtimeServer } from '../test/helpers/openai-realtime-server.js';
import type { LegEvent, Leg } from '../src/voice/leg.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const TURNS = arg('turns', 40);
const SERVER_DELAY = arg('server-delay', 150);

/** A leg that sends one queued frame per 20 ms tick and reports when the first loud one goes out. */
class PacedLeg implements Leg {
  readonly #listeners = new Set<(e: LegEvent) => void>();
  readonly #queue: Int16Array[] = [];
  readonly #timer: NodeJS.Timeout;
  onSent: ((at: number) => void) | undefined;
  constructor() {
    this.#timer = setInterval(() => this.#tick(), 20);
  }
  on(l: (e: LegEvent) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
  emit(e: LegEvent): void {
    for (const l of [...this.#listeners]) l(e);
  }
  write(frame: Int16Array): void {
    this.#queue.push(frame);
  }
  get queuedMs(): number {
    return this.#queue.length * 20;
  }
  #tick(): void {
    const f = this.#queue.shift();
    if (!f) return;
    if (this.onSent && f.some((v) => Math.abs(v) > 200)) {
      this.onSent(performance.now());
      this.onSent = undefined;
    }
    if (this.#queue.length === 0) this.emit({ type: 'drained' });
  }
  async cancel(): Promise<void> {}
  async hangup(): Promise<void> {
    clearInterval(this.#timer);
    this.emit({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'local', outcome: 'completed' });
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

const server = await OpenAiRealtimeServer.start();
const leg = new PacedLeg();
const session = new RealtimeSession({
  leg,
  clock: realClock,
  config: realtimeConfigFrom({ provider: 'openai', base_url: server.baseUrl, api_key: 'sk-bench', options: { silence_duration_ms: 300 } }),
  instructions: 'bench',
  tools: [],
  runTool: async () => ({}),
  options: { firstSpeaker: 'callee', bargeIn: { minSpeechMs: 200, enabled: false }, inactivityTimeoutMs: 600_000, maxDurationMs: 3_600_000 },
  offeredCodecs: ['PCMU'],
});
while (!server.last?.events.some((e) => e.event.type === 'session.update')) await new Promise((r) => setTimeout(r, 10));
leg.emit({ type: 'answered', codec: 'PCMU', sampleRate: 8000 });

const ours: number[] = [];
const total: number[] = [];
const toWrite: number[] = [];
const conn = server.last;
const tone = (i: number) => Math.round(Math.sin((2 * Math.PI * 300 * i) / 8000) * 9000);
const frame = (loud: boolean, k: number) => new Int16Array(160).map((_, i) => (loud ? tone(k * 160 + i) : Math.round((Math.random() - 0.5) * 20)));
let k = 0;
/** Pushes the callee's audio in real time: 20 ms frames on a 20 ms cadence. */
async function speak(loudMs: number, quietMs: number): Promise<void> {
  const start = performance.now();
  const n = (loudMs + quietMs) / 20;
  for (let i = 0; i < n; i++, k++) {
    session.pushAudio(frame(i < loudMs / 20, k));
    const wait = start + (i + 1) * 20 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

await speak(0, 400); // the server's energy VAD sets its noise floor on quiet audio first
for (let t = 0; t < TURNS; t++) {
  server.reply({ kind: 'say', text: 'Okay.', firstDeltaDelayMs: SERVER_DELAY });
  const stops = conn.speechStoppedAt.length;
  const deltas = conn.firstDeltaAt.length;
  const sent = new Promise<number>((resolve) => (leg.onSent = resolve));
  const lat = session.latencies.length;
  await speak(400, 400); // speech, then silence past silence_duration_ms (300)
  const at = await Promise.race([sent, new Promise<number>((r) => setTimeout(() => r(NaN), 5000))]);
  if (Number.isNaN(at) || conn.speechStoppedAt.length === stops || conn.firstDeltaAt.length === deltas) {
    console.error(`turn ${t}: no reply (stops ${conn.speechStoppedAt.length - stops}, deltas ${conn.firstDeltaAt.length - deltas})`);
    continue;
  }
  const stopped = conn.speechStoppedAt[stops] as number;
  const firstDelta = conn.firstDeltaAt[deltas] as number;
  total.push(at - stopped);
  ours.push(at - stopped - (firstDelta - stopped));
  await new Promise((r) => setTimeout(r, 700)); // the reply plays out
  const l = session.latencies[lat];
  if (l?.endToEndMs !== undefined && l.ttsFirstAudioMs !== undefined) toWrite.push(l.endToEndMs - l.ttsFirstAudioMs);
}
await leg.hangup();
await server.close();
const f = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;
console.log(`turns measured: ${ours.length}/${TURNS}; scripted server delay ${SERVER_DELAY} ms; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`speech_stopped sent -> first agent packet on the wire, total:            ${f(total)}`);
console.log(`  minus the server's own delay (speech_stopped -> first delta sent), ours: ${f(ours)}`);
console.log(`  session's own figure: first delta received -> first frame written:      ${f(toWrite)}`);
