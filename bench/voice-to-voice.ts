// Command: node --import tsx bench/voice-to-voice.ts [--calls 5]
//
// Voice to voice with the local engines on a wideband leg: our media runtime (the same MediaRuntime +
// voicePreparer the media worker thread runs: espeak-ng, energy VAD, pocketsphinx) dials baresip
// over L16/16000 from this process; baresip plays a callee WAV of flite 'slt' lines at known times
// and records what it heard. A flow agent answers each line with a short sentence.
//
// Per reply: the callee's speech end (from the WAV: where the line's energy ends) -> the first reply
// audio in baresip's recording of what it heard. Both dumps are baresip's own timelines (sent /
// heard, 20 ms frames from the call's audio start), so the figure includes both jitter buffers and
// the network, like a person on the phone would perceive it. Our side's share is measured too, on our
// clock: the callee's last loud frame arriving at the leg -> our first reply frame written to it.
// CPU per live conversation: this process (process.cpuUsage) and the engines it spawned
// (pocketsphinx_continuous, espeak-ng: /proc/self/stat cutime+cstime of waited-for children), over
// the call's seconds.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { EspeakNgTts } from '../src/providers/tts/espeak-ng.js';
import { EnergyVad } from '../src/providers/vad/energy.js';
import { PocketsphinxStt } from '../src/providers/stt/pocketsphinx.js';
import { realClock } from '../src/time/clock.js';
import { CallLeg, PortPool, UserAgent } from '../src/telephony/index.js';
import { MediaRuntime } from '../src/worker/media/media-runtime.js';
import type { WorkerEvent } from '../src/worker/protocol.js';
import { voicePreparer } from '../src/worker/media/voice-call.js';
import type { VoiceEvent } from '../src/voice/events.js';
import { readWav } from '../test/fixtures/media/signals.js';
import { calleeScript, CALLEE_RATE, startCallee } from '../test/fixtures/voice/callee.js';
import { heardOffsetMs, LOUD_RMS, loudSpans } from '../test/fixtures/voice/energy.js';
import { rms } from '../test/fixtures/media/signals.js';
import type { Leg } from '../src/voice/leg.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const CALLS = arg('calls', 5);

const LINES = [
  { atS: 5, text: 'yes please' },
  { atS: 11, text: 'the morning would be better' },
  { atS: 17, text: 'thank you very much' },
];
const TOTAL_S = 26;
const flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Hello, can we book your visit for Tuesday?', next: 'l1' },
    l1: { type: 'listen', timeout_ms: 20000, next: 'a1', on_timeout: 'bye' },
    a1: { type: 'say', text: 'Morning or afternoon?', next: 'l2' },
    l2: { type: 'listen', timeout_ms: 20000, next: 'a2', on_timeout: 'bye' },
    a2: { type: 'say', text: 'Noted, nine in the morning.', next: 'l3' },
    l3: { type: 'listen', timeout_ms: 20000, next: 'a3', on_timeout: 'bye' },
    a3: { type: 'say', text: 'Goodbye.', next: 'bye' },
    bye: { type: 'end' },
  },
};

/** CPU seconds of this process's waited-for children (utime+stime of the dead ones), from /proc. */
function childrenCpuS(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 (cutime, cstime), 1-based in proc(5); f[0] is field 3.
  return (Number(f[13]) + Number(f[14])) / 100;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

interface CallResult {
  perceived: number[];
  ours: number[];
  offset: number;
  callS: number;
  cpuS: number;
  childCpuS: number;
  events: string[];
}

async function oneCall(ua: UserAgent, pool: PortPool, script: NonNullable<ReturnType<typeof calleeScript>>): Promise<CallResult> {
  const to = `+1415${String(Math.floor(Math.random() * 9e6) + 1e6)}`;
  const callee = await startCallee({ user: to, prompt: script.wav, runSeconds: TOTAL_S + 20 });
  const tts = new EspeakNgTts({ defaultVoice: 'en-us' });
  const base = voicePreparer({ engines: { tts, vad: new EnergyVad(), stt: new PocketsphinxStt() }, clock: realClock });
  const events: string[] = [];
  // Our clock: the callee's last loud frame before each speech end, and our first reply frame after it.
  let lastLoudIn = 0;
  let speechEndIn: number | undefined;
  const ours: number[] = [];
  let answeredAt = 0;
  const done = new Promise<void>((resolve) => {
    const runtime = new MediaRuntime({
      tts,
      emit: (e: WorkerEvent) => {
        if (e.type === 'ended') resolve();
        if (e.type === 'log') events.push(`log ${e.message}`);
      },
      prepareVoice: (cmd) => {
        const attach = base(cmd);
        return (leg, onEvent) =>
          attach(leg, (e: VoiceEvent) => {
            if (e.type === 'callee_speech_ended') speechEndIn = lastLoudIn;
            if (e.type === 'transcript_final' || e.type === 'end_requested' || e.type === 'error') events.push(`${e.type} ${JSON.stringify(e)}`);
            onEvent(e);
          });
      },
      dialLeg: async (cmd) => {
        const leg = await CallLeg.dial({
          ua,
          portPool: pool,
          localAddress: '127.0.0.1',
          codecs: ['L16/16000'],
          dial: { to: cmd.to, from: cmd.from, trunk: cmd.trunk, ringTimeoutMs: cmd.ringTimeoutMs },
        });
        leg.on((e) => {
          if (e.type === 'answered') answeredAt = performance.now();
        });
        leg.onAudio((f) => {
          if (rms(f) >= LOUD_RMS) lastLoudIn = performance.now();
        });
        const wrapped: Leg = {
          on: (l) => leg.on(l),
          onAudio: (l) => leg.onAudio(l),
          get queuedMs() {
            return leg.queuedMs;
          },
          cancel: () => leg.cancel(),
          hangup: () => leg.hangup(),
          write: (frame) => {
            if (speechEndIn !== undefined && rms(frame) >= LOUD_RMS) {
              ours.push(performance.now() - speechEndIn);
              speechEndIn = undefined;
            }
            leg.write(frame);
          },
        };
        return wrapped;
      },
    });
    runtime.handle({
      type: 'dial',
      callId: `bench-${to}`,
      to,
      from: '+16285550100',
      customHeaders: [],
      trunk: { host: '127.0.0.1', port: callee.port, transport: 'udp' },
      ringTimeoutMs: 30_000,
      maxDurationMs: 120_000,
      greeting: null,
      voice: { flow, systemPrompt: '', dynamicVariables: {} },
    });
  });
  const cpu0 = process.cpuUsage();
  const child0 = childrenCpuS();
  await done;
  const callS = (performance.now() - answeredAt) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // Let the last espeak-ng / pocketsphinx children be reaped before reading their CPU.
  await new Promise((r) => setTimeout(r, 500));
  const childCpuS = childrenCpuS() - child0;
  for (let i = 0; i < 100 && !/terminated|closed/i.test(callee.log()); i++) await new Promise((r) => setTimeout(r, 50));
  const rec = callee.recordings();
  const dec = rec.find((p) => p.endsWith('-dec.wav'));
  const enc = rec.find((p) => p.endsWith('-enc.wav'));
  const perceived: number[] = [];
  let offset = NaN;
  if (dec && enc) {
    const heard = readWav(dec).samples;
    // The heard dump starts later than the sent one (the WAV's timeline): shift it onto the WAV's.
    offset = heardOffsetMs(heard, readWav(enc).samples, CALLEE_RATE);
    const spans = loudSpans(heard, CALLEE_RATE).map((s) => ({ startMs: s.startMs + offset, endMs: s.endMs + offset }));
    for (const line of script.spans) {
      const reply = spans.find((s) => s.startMs > line.endMs);
      if (reply) perceived.push(reply.startMs - line.endMs);
    }
  }
  await callee.stop();
  return { perceived, ours, offset, callS, cpuS: (cpu.user + cpu.system) / 1e6, childCpuS, events };
}

async function main(): Promise<void> {
  const script = calleeScript(LINES, TOTAL_S);
  if (!script) throw new Error('flite and sox are needed');
  const load0 = loadavg()[0] ?? NaN;
  const ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  const pool = new PortPool({ min: 38400, max: 38598 });
  const perceived: number[] = [];
  const ours: number[] = [];
  let callS = 0;
  let cpuS = 0;
  let childCpuS = 0;
  for (let i = 0; i < CALLS; i++) {
    const r = await oneCall(ua, pool, script);
    console.log(`call ${i + 1}: perceived ${JSON.stringify(r.perceived.map((x) => Math.round(x)))} ms, ours ${JSON.stringify(r.ours.map((x) => Math.round(x)))} ms (heard dump offset ${r.offset.toFixed(0)} ms), ${r.callS.toFixed(1)} s, node ${r.cpuS.toFixed(2)} s CPU, engines ${r.childCpuS.toFixed(2)} s CPU`);
    if (r.perceived.length !== LINES.length) console.log(`  (missing replies) ${r.events.join('\n  ')}`);
    perceived.push(...r.perceived);
    ours.push(...r.ours);
    callS += r.callS;
    cpuS += r.cpuS;
    childCpuS += r.childCpuS;
  }
  await ua.close();
  console.log(`\nvoice to voice, flow agent, L16/16000 vs baresip, ${CALLS} calls x ${LINES.length} replies; node ${process.version}; 1-min load average before/after ${load0.toFixed(2)}/${(loadavg()[0] ?? NaN).toFixed(2)} (2 cores shared with other work)`);
  console.log('| measure | n | p50 ms | p99 ms | max ms |');
  console.log('|---|---:|---:|---:|---:|');
  const row = (name: string, xs: number[]) => console.log(`| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(0)} | ${pct(xs, 99).toFixed(0)} | ${Math.max(...xs).toFixed(0)} |`);
  row('callee speech end -> reply heard (baresip recordings)', perceived);
  row('last callee frame in -> first reply frame out (our clock)', ours);
  console.log(`CPU per live conversation: node ${((cpuS / callS) * 100).toFixed(1)}% of a core, engines ${((childCpuS / callS) * 100).toFixed(1)}% (over ${callS.toFixed(0)} call seconds)`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
