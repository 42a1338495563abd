// Command: node --import tsx bench/speech-wer.ts [--short] [--tts name[:voice],...] [--stt ps16,ps8,ps8-mulaw,ps8-alaw]
//          [--end-silence MS] [--extra '-flag value ...'] [--jobs N] [--no-wer] [--latency N] [--latency-tts name[:voice]]
//          [--verbose] [--json]
//
// How well the local recognizer hears the local voices, as on a phone call: every sentence of
// bench/speech-sentences.txt (>= 60 phone-style lines) spoken by every local TTS voice (the registry's
// providers that need no vendor key; flite with each of its voices), heard by pocketsphinx
//   ps16        16 kHz (L16/16000, G.722 legs): Debian's wideband model
//   ps8         8 kHz: the 8 kHz model from npm soundswallower
//   ps8-mulaw   8 kHz through G.711 mu-law encode/decode (PCMU)
//   ps8-alaw    8 kHz through G.711 A-law encode/decode (PCMA)
// --short: 5 sentences, one voice per provider. The TTS synthesizes at the leg's rate (8 kHz legs get 8 kHz speech, as the sandbox's personas send).
//
// 1) WER: per voice and recognizer, one engine per stream fed every sentence with 1 s of silence
//    between them, as fast as the engine reads (a backlog bound, not real time). Each final goes to
//    the sentence whose span holds its start; WER = word-level Levenshtein errors / reference words,
//    on normalized text (bench/helpers/wer.ts). "split": sentences heard as more than one final
//    (the endpoint cut them at a pause). --jobs N runs that many recognizer configs of a voice at once.
// 2) Latency: --latency sentences (default 20) of one voice (--latency-tts, default: the default TTS
//    provider) paced in real time (20 ms frames against absolute deadlines), per recognizer: wall time
//    from pushing the sentence's last audible frame to its final. p50 / p95 / max.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import alawmulaw from 'alawmulaw';
import { DEFAULT_PROVIDERS, localProviders, SpeechRegistry } from '../src/providers/registry.js';
import { DEFAULT_END_SILENCE_MS, PocketsphinxStt, type PocketsphinxStream } from '../src/providers/stt/pocketsphinx.js';
import { FLITE_VOICES } from '../src/providers/tts/flite.js';
import type { TtsProvider } from '../src/providers/tts/types.js';
import type { SttEvent } from '../src/providers/stt/types.js';
import { audibleBounds, concat, silence, toFrames } from '../test/providers/conformance/audio.js';
import { sumErrors, wer, wordErrors, type WordErrors } from './helpers/wer.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const SHORT = argv.includes('--short');
const VERBOSE = argv.includes('--verbose');
const JSON_OUT = argv.includes('--json');
const END_SILENCE_MS = Number(opt('end-silence') ?? DEFAULT_END_SILENCE_MS);
const LATENCY_N = Number(opt('latency') ?? (SHORT ? 2 : 20));
const GAP_MS = 1000;
const JOBS = Math.max(1, Number(opt('jobs') ?? 1));
const NO_WER = argv.includes('--no-wer');
const log = (s: string) => {
  if (!JSON_OUT) console.log(s);
};

interface SttConfig {
  name: string;
  rate: 8000 | 16000;
  codec?: (pcm: Int16Array) => Int16Array;
}
const STT_CONFIGS: SttConfig[] = [
  { name: 'ps16', rate: 16000 },
  { name: 'ps8', rate: 8000 },
  { name: 'ps8-mulaw', rate: 8000, codec: (p) => alawmulaw.mulaw.decode(alawmulaw.mulaw.encode(p)) },
  { name: 'ps8-alaw', rate: 8000, codec: (p) => alawmulaw.alaw.decode(alawmulaw.alaw.encode(p)) },
];

/** A TTS voice to measure: `provider` or `provider:voice`. */
interface Voice {
  label: string;
  provider: string;
  voice?: string;
}

function parseVoice(s: string): Voice {
  const [provider, voice] = s.split(':') as [string, string | undefined];
  return { label: s, provider, ...(voice ? { voice } : {}) };
}

/**
 * Every local TTS provider; flite with each of its voices (awb_time speaks only the time of day),
 * or only slt, its best, for --short (one voice per provider keeps the CI run short).
 */
function localVoices(): Voice[] {
  const out: Voice[] = [];
  for (const p of localProviders('tts')) {
    const fliteVoices = SHORT ? ['slt'] : FLITE_VOICES.filter((x) => x !== 'awb_time');
    if (p === 'flite') for (const v of fliteVoices) out.push({ label: `flite:${v}`, provider: p, voice: v });
    else out.push({ label: p, provider: p });
  }
  return out;
}

const here = dirname(fileURLToPath(import.meta.url));
const ALL = readFileSync(join(here, 'speech-sentences.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
const SENTENCES = SHORT ? ALL.filter((_, i) => i % 13 === 0) : ALL;
const voices = opt('tts') ? opt('tts')!.split(',').map(parseVoice) : localVoices();
const stts = opt('stt') ? STT_CONFIGS.filter((c) => opt('stt')!.split(',').includes(c.name)) : STT_CONFIGS;
const registry = new SpeechRegistry();
const EXTRA = (opt('extra') ?? '').split(' ').filter((x) => x !== '');
const engine = new PocketsphinxStt({ endSilenceMs: END_SILENCE_MS, extraArgs: EXTRA });

function ttsFor(v: Voice): TtsProvider {
  return registry.tts({ provider: v.provider, ...(v.voice ? { voice: v.voice } : {}) }, {}, 'en-US');
}

async function speak(tts: TtsProvider, text: string, rate: number): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  for await (const c of tts.synthesize({ text, sampleRate: rate })) parts.push(c);
  return concat(...parts);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number);
};

type Final = Extract<SttEvent, { type: 'final' }>;

export interface WerRow {
  tts: string;
  stt: string;
  errors: WordErrors;
  wer: number;
  split: number;
  sentences: number;
  /** Engine CPU seconds per second of audio (process time of the whole run / audio seconds). */
  wallPerAudioS: number;
}

/** One stream fed all clips (GAP_MS apart) as fast as the engine reads; finals matched to clips by start time. */
async function werRun(clips: Int16Array[], cfg: SttConfig, texts: string[]): Promise<{ errors: WordErrors[]; split: number; hyps: string[]; wallS: number; audioS: number }> {
  const rate = cfg.rate;
  const lead = silence(500, rate);
  const starts: number[] = [];
  const parts: Int16Array[] = [lead];
  let at = lead.length;
  for (const c of clips) {
    starts.push((at * 1000) / rate);
    parts.push(c, silence(GAP_MS, rate));
    at += c.length + silence(GAP_MS, rate).length;
  }
  let audio = concat(...parts);
  if (cfg.codec) audio = cfg.codec(audio);
  const s = engine.start({ sampleRate: rate, language: 'en-US' }) as PocketsphinxStream;
  const finals: Final[] = [];
  const errors: string[] = [];
  const reading = (async () => {
    for await (const e of s) {
      if (e.type === 'final') finals.push(e);
      else if (e.type === 'error') errors.push(e.error.message);
    }
  })();
  const t0 = performance.now();
  for (const f of toFrames(audio, rate)) {
    while (s.backlogSamples > rate) await new Promise((r) => setTimeout(r, 5)); // keep <= 1 s queued
    s.push(f);
  }
  s.end();
  await reading;
  const wallS = (performance.now() - t0) / 1000;
  if (errors.length > 0) throw new Error(`${cfg.name}: ${errors.join('; ')}`);
  const bySentence: Final[][] = clips.map(() => []);
  for (const f of finals) {
    let i = starts.findIndex((st, k) => f.startMs >= st - 300 && (k + 1 >= starts.length || f.startMs < (starts[k + 1] as number) - 300));
    if (i < 0) i = 0;
    bySentence[i]?.push(f);
  }
  const hyps = bySentence.map((fs) => fs.map((f) => f.text).join(' '));
  return {
    errors: texts.map((t, i) => wordErrors(t, hyps[i] ?? '')),
    split: bySentence.filter((fs) => fs.length > 1).length,
    hyps,
    wallS,
    audioS: audio.length / rate,
  };
}

/** Real-time paced: last audible frame of each clip pushed -> its final, wall ms. */
async function latencyRun(clips: Int16Array[], cfg: SttConfig): Promise<{ latencies: number[]; missed: number }> {
  const rate = cfg.rate;
  const frameN = rate / 50;
  const parts: Int16Array[] = [silence(500, rate)];
  const endFrames: number[] = [];
  let samples = parts[0]!.length;
  for (const c of clips) {
    endFrames.push(Math.ceil((samples + (audibleBounds(c, rate).endMs * rate) / 1000) / frameN) - 1);
    parts.push(c, silence(2000, rate));
    samples += c.length + 2 * rate;
  }
  let audio = concat(...parts);
  if (cfg.codec) audio = cfg.codec(audio);
  const frames = toFrames(audio, rate);
  const s = engine.start({ sampleRate: rate, language: 'en-US' });
  const finals: Array<{ at: number; endMs: number }> = [];
  const reading = (async () => {
    for await (const e of s) if (e.type === 'final') finals.push({ at: performance.now(), endMs: e.endMs });
  })();
  const pushedAt: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < frames.length; i++) {
    const wait = t0 + i * 20 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pushedAt.push(performance.now());
    s.push(frames[i]!);
  }
  s.end();
  await reading;
  const latencies: number[] = [];
  let missed = 0;
  endFrames.forEach((ef, k) => {
    const endPushed = pushedAt[ef]!;
    const nextEnd = k + 1 < endFrames.length ? pushedAt[endFrames[k + 1]!]! : Infinity;
    // The first final that arrives after this sentence ended and before the next one ended.
    const f = finals.find((x) => x.at >= endPushed && x.at < nextEnd);
    if (f) latencies.push(f.at - endPushed);
    else missed++;
  });
  return { latencies, missed };
}

const rows: WerRow[] = [];
const clipCache = new Map<string, Promise<Int16Array[]>>();
function clipsFor(v: Voice, rate: number, texts: string[]): Promise<Int16Array[]> {
  const key = `${v.label}@${rate}#${texts.length}`;
  let c = clipCache.get(key);
  if (!c) {
    const tts = ttsFor(v);
    c = (async () => {
      const out: Int16Array[] = [];
      for (const t of texts) out.push(await speak(tts, t, rate));
      return out;
    })();
    clipCache.set(key, c);
  }
  return c;
}

const words = SENTENCES.reduce((n, t) => n + t.split(' ').length, 0);
log(`speech-wer: ${SENTENCES.length} sentences (${words} words), end silence ${END_SILENCE_MS} ms${EXTRA.length > 0 ? ` (engine flags ${EXTRA.join(' ')})` : ''}, voices: ${voices.map((v) => v.label).join(', ')}`);
log('\n1) WER (%), split = sentences heard as more than one final');
log(`| tts | ${stts.map((c) => c.name).join(' | ')} |`);
log(`|---|${stts.map(() => '---:').join('|')}|`);
/** Runs `fns` with at most `n` at once, results in order. */
async function limited<T>(n: number, fns: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array<T>(fns.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, fns.length) }, async () => {
    while (next < fns.length) {
      const i = next++;
      out[i] = await fns[i]!();
    }
  }));
  return out;
}

for (const v of NO_WER ? [] : voices) {
  const cells = await limited(JOBS, stts.map((cfg) => async () => {
    const clips = await clipsFor(v, cfg.rate, SENTENCES);
    const r = await werRun(clips, cfg, SENTENCES);
    const e = sumErrors(r.errors);
    rows.push({ tts: v.label, stt: cfg.name, errors: e, wer: wer(e), split: r.split, sentences: SENTENCES.length, wallPerAudioS: r.wallS / r.audioS });
    if (VERBOSE) {
      r.hyps.forEach((h, i) => {
        if (r.errors[i]!.substitutions + r.errors[i]!.deletions + r.errors[i]!.insertions > 0) console.error(`  ${v.label} ${cfg.name}: "${SENTENCES[i]}" -> "${h}"`);
      });
    }
    return `${(100 * wer(e)).toFixed(1)}${r.split > 0 ? ` (split ${r.split})` : ''}`;
  }));
  log(`| ${v.label} | ${cells.join(' | ')} |`);
}

const latencyVoice = parseVoice(opt('latency-tts') ?? DEFAULT_PROVIDERS.tts);
const latencyRows: Array<{ stt: string; n: number; missed: number; p50: number; p95: number; max: number }> = [];
if (LATENCY_N > 0) {
  const texts = SENTENCES.slice(0, LATENCY_N);
  log(`\n2) Latency, real-time paced, ${texts.length} sentences by ${latencyVoice.label}: last audible frame pushed -> final (ms)`);
  log('| stt | n | missed | p50 | p95 | max |');
  log('|---|---:|---:|---:|---:|---:|');
  for (const cfg of stts) {
    const r = await latencyRun(await clipsFor(latencyVoice, cfg.rate, texts), cfg);
    const row = { stt: cfg.name, n: r.latencies.length, missed: r.missed, p50: pct(r.latencies, 50), p95: pct(r.latencies, 95), max: Math.max(...r.latencies) };
    latencyRows.push(row);
    log(`| ${cfg.name} | ${row.n} | ${row.missed} | ${row.p50.toFixed(0)} | ${row.p95.toFixed(0)} | ${row.max.toFixed(0)} |`);
  }
}
if (JSON_OUT) console.log(JSON.stringify({ sentences: SENTENCES.length, words, endSilenceMs: END_SILENCE_MS, wer: rows, latency: latencyRows }));
