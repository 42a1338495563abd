// Command: node --import tsx bench/providers-vad.ts [--streams 50] [--seconds 20] [--sentences 3] [--skip-stt]
//
// Speech providers on this machine, three tables:
// 1. Silero VAD v5 cost per 32 ms model window (us; p50/p99/mean of the awaited push that ran a
//    window, one stream, real speech and silence), at 16 kHz and 8 kHz, next to the energy VAD's
//    cost per 20 ms frame.
// 2. CPU per live stream: --streams streams each fed --seconds of audio as fast as possible, all
//    interleaved (one frame of every stream per step, as a media worker would); process CPU time
//    (process.cpuUsage, every thread incl. onnxruntime's) / seconds of audio per stream = % of one
//    core that one live call costs.
// 3. pocketsphinx: audio paced in real time (20 ms frames against absolute deadlines); latency from
//    pushing the last audible frame of a sentence to its final, for the engine's default end
//    silence (500 ms) and 300 ms (Outcall's default); and the engine's CPU % of a core while live (/proc/PID/stat).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { atRate, audibleBounds, concat, fliteSpeech, silence, toFrames, whiteNoise, mix } from '../test/providers/conformance/audio.js';
import { PocketsphinxStt } from '../src/providers/stt/pocketsphinx.js';
import type { SttEvent } from '../src/providers/stt/types.js';
import { EnergyVad } from '../src/providers/vad/energy.js';
import { SileroVad, SileroVadStream } from '../src/providers/vad/silero.js';
import type { VadProvider } from '../src/providers/vad/types.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const STREAMS = arg('streams', 50);
const SECONDS = arg('seconds', 20);
const SENTENCES = arg('sentences', 3);
const SKIP_STT = argv.includes('--skip-stt');

const TEXTS = [
  'please confirm my appointment on tuesday',
  'hello my name is john and i am calling about my order',
  'yes that works for me thank you very much',
  'could you call me back tomorrow morning',
];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const f1 = (x: number) => x.toFixed(1);

/** About `seconds` of a conversation's audio at `rate`: sentences, pauses and a faint noise bed. */
async function conversation(rate: number, seconds: number): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  let ms = 0;
  for (let i = 0; ms < seconds * 1000; i++) {
    const s = atRate(await fliteSpeech(TEXTS[i % TEXTS.length] ?? ''), rate);
    parts.push(s, silence(800, rate));
    ms += (s.length * 1000) / rate + 800;
  }
  const pcm = concat(...parts).subarray(0, seconds * rate);
  return mix(pcm, whiteNoise(seconds * 1000, rate, -55, 3));
}

async function perWindow(rate: 8000 | 16000): Promise<number[]> {
  const vad = await new SileroVad().create({ sampleRate: rate });
  if (!(vad instanceof SileroVadStream)) throw new Error('unexpected stream type');
  const frames = toFrames(await conversation(rate, 10), rate);
  const costs: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for (const f of frames) {
      const before = vad.windows;
      const t = performance.now();
      await vad.push(f);
      if (pass > 0 && vad.windows > before) costs.push((performance.now() - t) * 1000); // pass 0 warms up
    }
  }
  return costs;
}

async function perFrameEnergy(rate: number): Promise<number[]> {
  const vad = await new EnergyVad().create({ sampleRate: rate });
  const costs: number[] = [];
  for (const f of toFrames(await conversation(rate, 10), rate)) {
    const t = performance.now();
    await vad.push(f);
    costs.push((performance.now() - t) * 1000);
  }
  return costs;
}

async function cpuPerStream(provider: VadProvider, rate: number): Promise<{ pctPerStream: number; wallS: number }> {
  const frames = toFrames(await conversation(rate, SECONDS), rate);
  const streams = await Promise.all(Array.from({ length: STREAMS }, () => provider.create({ sampleRate: rate })));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const f of frames) await Promise.all(streams.map((s) => s.push(f)));
  const c = process.cpuUsage(c0);
  const cpuS = (c.user + c.system) / 1e6;
  return { pctPerStream: (100 * cpuS) / (STREAMS * SECONDS), wallS: (performance.now() - t0) / 1000 };
}

function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100/s)
}

async function sttLatency(endSilenceMs: number | undefined): Promise<{ latencies: number[]; heard: string[]; cpuPct: number }> {
  const rate = 16000;
  const clips = await Promise.all(TEXTS.slice(0, SENTENCES).map((t) => fliteSpeech(t)));
  // Frame index of each sentence's last audible frame, in the paced timeline.
  const parts: Int16Array[] = [silence(1000, rate)];
  const endFrames: number[] = [];
  let samples = parts[0]?.length ?? 0;
  for (const c of clips) {
    endFrames.push(Math.ceil((samples + (audibleBounds(c, rate).endMs * rate) / 1000) / 320) - 1);
    parts.push(c, silence(2500, rate));
    samples += c.length + 2500 * 16;
  }
  const frames = toFrames(concat(...parts), rate);
  const stream = new PocketsphinxStt(endSilenceMs === undefined ? {} : { endSilenceMs }).start({ sampleRate: rate });
  const pid = stream.pid;
  const pushedAt: number[] = [];
  const finals: { at: number; text: string }[] = [];
  const reading = (async () => {
    for await (const e of stream as AsyncIterable<SttEvent>) if (e.type === 'final') finals.push({ at: performance.now(), text: e.text });
  })();
  const t0 = performance.now();
  let cpuLive = 0;
  for (let i = 0; i < frames.length; i++) {
    const due = t0 + i * 20;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    stream.push(frames[i] ?? new Int16Array(320));
    pushedAt[i] = performance.now();
  }
  if (pid !== undefined) cpuLive = procCpuSeconds(pid);
  const liveS = (performance.now() - t0) / 1000;
  stream.end();
  await reading;
  // Finals and sentences pair up in order (each sentence gives one utterance at these pauses).
  const latencies = endFrames.map((fi, k) => (finals[k]?.at ?? NaN) - (pushedAt[fi] ?? NaN));
  return { latencies, heard: finals.map((f) => f.text), cpuPct: (100 * cpuLive) / liveS };
}

console.log(`providers bench: ${new Date().toISOString()}, node ${process.version}, ${STREAMS} streams x ${SECONDS} s audio`);
console.log('\n1) cost per model window / frame (us)');
console.log('| VAD | unit | p50 | p99 | mean |');
for (const rate of [16000, 8000] as const) {
  const w = await perWindow(rate);
  console.log(`| silero @${rate} | ${rate === 16000 ? 512 : 256}-sample window | ${f1(pct(w, 50))} | ${f1(pct(w, 99))} | ${f1(mean(w))} |`);
}
for (const rate of [16000, 8000]) {
  const e = await perFrameEnergy(rate);
  console.log(`| energy @${rate} | 20 ms frame | ${f1(pct(e, 50))} | ${f1(pct(e, 99))} | ${f1(mean(e))} |`);
}
console.log(`\n2) CPU per live stream (% of one core; ${STREAMS} streams interleaved, ${SECONDS} s of audio each)`);
console.log('| VAD | % core per stream | streams per core | wall s for all |');
for (const [name, p, rate] of [['silero', new SileroVad(), 16000], ['silero', new SileroVad(), 8000], ['energy', new EnergyVad(), 16000]] as const) {
  const r = await cpuPerStream(p, rate);
  console.log(`| ${name} @${rate} | ${r.pctPerStream.toFixed(2)} | ${Math.floor(100 / r.pctPerStream)} | ${f1(r.wallS)} |`);
}
if (!SKIP_STT) {
  console.log(`\n3) pocketsphinx, real-time paced, ${SENTENCES} sentences: last audible frame pushed -> final (ms)`);
  console.log('| end silence | p50 | max | engine CPU % core | heard |');
  for (const es of [500, 300]) { // 500: the engine's own default (ours is 300 since bench/speech-wer.ts)
    const r = await sttLatency(es);
    const ok = r.latencies.filter((x) => Number.isFinite(x));
    console.log(`| ${es} | ${f1(pct(ok, 50))} | ${f1(Math.max(...ok))} | ${f1(r.cpuPct)} | ${r.heard.join(' / ')} |`);
  }
}
