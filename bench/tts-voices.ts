// Command: node --import tsx bench/tts-voices.ts [--voices slt,rms,awb,kal16,kal] [--espeak] [--limit N]
//
// The npm voices (flite-wasm: flite compiled to WASI, src/providers/tts/flite-wasm.ts) on this machine:
// 1. Time to first audio: synthesize() called -> its first chunk, on a warmed pool (the synthesis
//    threads started and flite compiled), per sentence; and once cold (a fresh thread compiling flite).
// 2. CPU per second of speech: process CPU time (process.cpuUsage: every thread, the synthesis threads
//    included) over all sentences, divided by the seconds of speech produced.
// 3. How well a recognizer hears the voice: each sentence at 16 kHz through Debian's
//    pocketsphinx_continuous (its default en-us model, LM and dictionary), word error rate over the set.
// With --espeak, espeak-ng (the previous default) is measured the same way for comparison.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EspeakNgTts } from '../src/providers/tts/espeak-ng.js';
import { FliteWasmPool, FliteWasmTts } from '../src/providers/tts/flite-wasm.js';
import type { TtsProvider } from '../src/providers/tts/types.js';
import { PHONE_SENTENCES } from './helpers/phone-sentences.js';
import { wavBytes } from '../test/fixtures/media/signals.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const VOICES = (opt('voices') ?? 'slt,rms,awb,kal16,kal').split(',');
const LIMIT = Number(opt('limit') ?? PHONE_SENTENCES.length);
const SENTENCES = PHONE_SENTENCES.slice(0, LIMIT);
const RATE = 16000;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** Lower-case words, digits and apostrophes kept (the sentences are written in words). */
const words = (t: string) => t.toLowerCase().replace(/[^a-z' ]+/g, ' ').split(/\s+/).filter((w) => w.length > 0);

/** Word-level Levenshtein distance. */
function editDistance(a: string[], b: string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] as number;
}


/** What pocketsphinx_continuous hears in a 16 kHz wave: its hypothesis lines, joined. */
function hear(file: string): string {
  const out = execFileSync('pocketsphinx_continuous', ['-infile', file, '-samprate', String(RATE), '-logfn', '/dev/null'], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.trim()).filter((l) => l.length > 0).join(' ');
}

const dir = mkdtempSync(join(tmpdir(), 'outcall-tts-bench-'));

async function measure(label: string, tts: TtsProvider, voice: string): Promise<void> {
  const firsts: number[] = [];
  let speechSamples = 0;
  let errors = 0;
  let refWords = 0;
  let cpuUs = 0;
  const misheard: string[] = [];
  for (const [i, text] of SENTENCES.entries()) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const chunks: Int16Array[] = [];
    for await (const c of tts.synthesize({ text, sampleRate: RATE, voice })) {
      if (chunks.length === 0) firsts.push(performance.now() - t0);
      chunks.push(c);
    }
    const cpu = process.cpuUsage(cpu0);
    cpuUs += cpu.user + cpu.system;
    const pcm = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      pcm.set(c, at);
      at += c.length;
    }
    speechSamples += pcm.length;
    // Half a second of silence either side, as a caller's line would have.
    const padded = new Int16Array(pcm.length + RATE);
    padded.set(pcm, RATE / 2);
    const file = join(dir, `${label}-${i}.wav`);
    writeFileSync(file, wavBytes(padded, RATE));
    const ref = words(text);
    const hyp = words(hear(file));
    const e = editDistance(ref, hyp);
    errors += e;
    refWords += ref.length;
    if (e > 0 && misheard.length < 3) misheard.push(`"${text}" -> "${hyp.join(' ')}"`);
  }
  const seconds = speechSamples / RATE;
  console.log(
    `| ${label} | ${pct(firsts, 50).toFixed(0)} | ${pct(firsts, 95).toFixed(0)} | ${(cpuUs / 1e6 / seconds).toFixed(3)} | ${((100 * errors) / refWords).toFixed(1)} % (${errors}/${refWords}) |`,
  );
  for (const m of misheard) console.log(`  misheard: ${m}`);
}

const pool = new FliteWasmPool();
const tts = new FliteWasmTts({ pool });
// Cold: the first sentence pays for starting a synthesis thread and compiling flite there.
{
  const t0 = performance.now();
  for await (const _ of tts.synthesize({ text: 'Hello.', sampleRate: RATE, voice: 'slt' })) {
    console.log(`cold first audio (thread start + compile + one sentence): ${(performance.now() - t0).toFixed(0)} ms`);
    break;
  }
}
pool.warm();
await new Promise((r) => setTimeout(r, 2000)); // let the other thread compile too
console.log(`${SENTENCES.length} sentences, ${SENTENCES.reduce((n, s) => n + words(s).length, 0)} words, synthesized one at a time at ${RATE} Hz`);
console.log('| voice | first audio p50 (ms) | p95 (ms) | CPU s per s of speech | pocketsphinx 16 kHz WER |');
console.log('|---|---|---|---|---|');
for (const v of VOICES) await measure(`flite-wasm ${v}`, tts, v);
if (argv.includes('--espeak')) await measure('espeak-ng en-us', new EspeakNgTts(), 'en-us');
await pool.close();
rmSync(dir, { recursive: true, force: true });
