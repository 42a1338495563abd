// Command: nice -n 10 node --import tsx bench/amd-eval.ts [--short] [--words] [--cache DIR] [--corpus DIR] [--settings JSON]
//
// Answering-machine detection on the labelled set (bench/amd-set: recipes rendered in memory to 8 kHz
// G.711 audio with line noise), streamed 20 ms frame by frame through createMachineDetector in
// detect_message_end mode with the default settings, acoustic cues only (no recognizer words).
// Prints the confusion matrix (true class x verdict), human-vs-machine accuracy, decision time p50/p95
// per class (human: from the first word's start; others: from the answer), beep end -> greeting_end
// delay, how greetings ended, what each cue contributed, and the clips without a verdict (must be 0).
// --words: also the recognizer's words (Debian's pocketsphinx at 8 kHz, src/providers/stt/pocketsphinx.ts):
// every clip is recognized once (one stream, clips 2 s apart); each final reaches the detector at its
// end + WORDS_LATENCY_MS of audio time (the engine's end silence, 300 ms or --end-silence, + ~200 ms), so
// words arrive no earlier than a live call would have them. pocketsphinx gives no partials.
// With --words the set runs three times: acoustic cues only; words fed but not expected (a phrase
// decides only when it beats the cadence); words expected (settings.wordsExpected: a cadence-only
// machine verdict is held for the words), the last two as a summary line and a full report.
// Besides the matrix: screening accuracy, talkative humans (a long greeting) called human, and the
// machine decision time over both machine classes. --brief: the audio-only pass as a summary line.
// --short: a 33-clip subset. --cache DIR: keep rendered clips and what pocketsphinx heard in each
// there between runs (TTS and recognition are the slow parts; keyed by the recipe).
// --end-silence MS: the recognizer's end-of-utterance silence (default 300, the runtime's).
// --comma-pause MS: speak each clause apart with this pause at its comma (a slower speaker, or a TTS
// that pauses there), so a recognizer that ends utterances at pauses gives its words clause by clause.
// --corpus DIR: also run every WAV in DIR (8 kHz unlabelled real clips): verdict counts, crashes, and
// clips without a verdict.
import { performance } from 'node:perf_hooks';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AMD_DEFAULTS, createMachineDetector } from '../src/amd/detector.js';
import type { AmdEvent, AmdSettings } from '../src/amd/types.js';
import { DEFAULT_END_SILENCE_MS, PocketsphinxStream, PocketsphinxStt } from '../src/providers/stt/pocketsphinx.js';
import { SoundswallowerStream } from '../src/providers/stt/soundswallower.js';
import { createPhraseSpotter, SPOTTER_END_SILENCE_MS, SPOTTER_PHRASES } from '../src/voice/phrase-spotter.js';
import { readWav } from '../test/fixtures/media/signals.js';
import { concat, frames20, silence } from '../test/fixtures/amd/synth.js';
import { AMD_CLASSES, type AmdClass, type Clip, loadRecipes, missing, RATE, type Recipe, render } from './amd-set/generate.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const SETTINGS: AmdSettings = { ...AMD_DEFAULTS, mode: 'detect_message_end', ...(JSON.parse(opt('settings') ?? '{}') as Partial<AmdSettings>) };
/** --comma-pause MS: clips speak clause by clause with this pause at each comma (generate.ts render); cached apart. */
const COMMA_PAUSE_MS = opt('comma-pause') === undefined ? undefined : Number(opt('comma-pause'));
const CACHE = opt('cache') === undefined ? undefined : join(opt('cache') as string, COMMA_PAUSE_MS === undefined ? '' : `comma-${COMMA_PAUSE_MS}`);
/** --spotter: the words come from the detector's phrase spotter (src/voice/phrase-spotter.ts) instead of pocketsphinx. */
const SPOTTER = argv.includes('--spotter');
const WORDS = argv.includes('--words') || SPOTTER;
const RECOGNIZER = SPOTTER ? 'spotter' : 'pocketsphinx';
/** --end-silence MS: the recognizer's end-of-utterance silence (pocketsphinx -vad_postspeech; the runtime's default 300). */
const END_SILENCE_MS = Number(opt('end-silence') ?? (SPOTTER ? SPOTTER_END_SILENCE_MS : DEFAULT_END_SILENCE_MS));
/**
 * A final reaches the detector its end silence + the engine's work after its last word: pocketsphinx
 * ~200 ms (measured); the spotter decodes each utterance whole after its end, 0.1-0.3 s of CPU per
 * second of speech here, so the upper figure is charged: 0.3 x the utterance's length.
 */
const latencyMs = (startMs: number, endMs: number) => END_SILENCE_MS + (SPOTTER ? Math.round(0.3 * (endMs - startMs)) : 200);
const WORDS_GAP_MS = 2000;

interface Heard {
  text: string;
  /** A final (the utterance settled), or a partial (the spotter's, while the utterance goes on). */
  final?: boolean;
  /** Audio ms since the clip's answer at which the detector is given the words. */
  atMs: number;
}

/** What pocketsphinx hears in each clip (one stream, clips WORDS_GAP_MS apart, finals matched by time). */
async function recognize(clips: readonly Int16Array[]): Promise<Heard[][]> {
  const starts: number[] = [];
  const parts: Int16Array[] = [];
  let at = 0;
  for (const c of clips) {
    starts.push(at);
    parts.push(c, silence(RATE, WORDS_GAP_MS));
    at += ((c.length * 1000) / RATE) + WORDS_GAP_MS;
  }
  const s = SPOTTER
    ? createPhraseSpotter(END_SILENCE_MS).start({ sampleRate: RATE, language: 'en-US', vocabulary: SPOTTER_PHRASES })
    : new PocketsphinxStt({ endSilenceMs: END_SILENCE_MS }).start({ sampleRate: RATE, language: 'en-US' });
  const out: Heard[][] = clips.map(() => []);
  const reading = (async () => {
    for await (const e of s) {
      if (e.type === 'error') throw new Error(`${RECOGNIZER}: ${e.error.message}`);
      // Partials count when the engine says what audio they cover (the spotter's do).
      if (e.type === 'partial' && e.startMs !== undefined && e.endMs !== undefined && e.text.trim() !== '') {
        let i = starts.length - 1;
        while (i > 0 && (starts[i] as number) > e.startMs) i--;
        out[i]?.push({ text: e.text, final: false, atMs: e.endMs - (starts[i] as number) + latencyMs(e.startMs, e.endMs) - END_SILENCE_MS });
      }
      if (e.type !== 'final' || e.text.trim() === '') continue;
      let i = starts.length - 1;
      while (i > 0 && (starts[i] as number) > e.startMs) i--;
      out[i]?.push({ text: e.text, final: true, atMs: e.endMs - (starts[i] as number) + latencyMs(e.startMs, e.endMs) });
    }
  })();
  for (const f of frames20(concat(parts), RATE)) {
    if (s instanceof PocketsphinxStream) while (s.backlogSamples > RATE) await new Promise((r) => setTimeout(r, 5)); // keep <= 1 s queued
    // As live: each partial decode is done before more audio comes (its time is charged by latencyMs).
    if (s instanceof SoundswallowerStream) while (s.partialPending) await new Promise((r) => setTimeout(r, 1));
    s.push(f);
  }
  s.end();
  await reading;
  for (const h of out) h.sort((x, y) => x.atMs - y.atMs);
  console.log(`${RECOGNIZER}: ${out.reduce((a, h) => a + h.length, 0)} finals over ${clips.length} clips`);
  return out;
}

/** What the recognizer heard in each clip: from the cache (keyed by the recipe) when there, else recognized now (all missing clips in one stream). */
async function heardOf(recipes: readonly Recipe[], clips: readonly Clip[]): Promise<Heard[][]> {
  const suffix = SPOTTER ? `-spotter${END_SILENCE_MS}` : END_SILENCE_MS === DEFAULT_END_SILENCE_MS ? '' : `-es${END_SILENCE_MS}`;
  const file = (r: Recipe) => (CACHE ? join(CACHE, `${r.id}.words${suffix}.json`) : undefined);
  const out: (Heard[] | undefined)[] = recipes.map((r) => {
    const f = file(r);
    if (!f || !existsSync(f)) return undefined;
    const c = JSON.parse(readFileSync(f, 'utf8')) as { recipe: Recipe; heard: Heard[] };
    return JSON.stringify(c.recipe) === JSON.stringify(r) ? c.heard : undefined;
  });
  const todo = out.flatMap((h, i) => (h === undefined ? [i] : []));
  if (todo.length > 0) {
    const got = await recognize(todo.map((i) => (clips[i] as Clip).pcm));
    for (const [k, i] of todo.entries()) {
      const h = got[k] ?? [];
      out[i] = h;
      const f = file(recipes[i] as Recipe);
      if (f) writeFileSync(f, JSON.stringify({ recipe: recipes[i], heard: h }));
    }
  }
  return out.map((h) => h ?? []);
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};
const fmt = (v: number) => (Number.isNaN(v) ? '-' : String(Math.round(v)));

/** The clip, then the quiet line after it (a clip may end before the deadline), until the detector is done. */
/** The detector's own CPU: wall time inside push()/words() and frames pushed, over every clip. */
const cost = { ms: 0, frames: 0 };

function run(settings: AmdSettings, pcm: Int16Array, heard: readonly Heard[] = []): AmdEvent[] {
  const d = createMachineDetector(settings, RATE);
  const events: AmdEvent[] = [];
  const words = [...heard];
  let t = 0;
  const step = (f: Int16Array) => {
    while (words.length > 0 && (words[0] as Heard).atMs <= t) {
      const w = words.shift() as Heard;
      events.push(...d.words(w.text, w.final !== false, w.atMs));
    }
    const t0 = performance.now();
    events.push(...d.push(f));
    cost.ms += performance.now() - t0;
    cost.frames++;
    t += 20;
  };
  for (const f of frames20(pcm, RATE)) step(f);
  const quiet = new Int16Array(RATE / 50);
  for (let ms = 0; !d.done && ms < settings.totalAnalysisMs + settings.beepTimeoutMs; ms += 20) step(quiet);
  return events;
}

async function clipOf(r: ReturnType<typeof loadRecipes>[number]): Promise<Clip> {
  if (!CACHE) return render(r, { ...(COMMA_PAUSE_MS === undefined ? {} : { commaPauseMs: COMMA_PAUSE_MS }) });
  mkdirSync(CACHE, { recursive: true });
  const f = join(CACHE, `${r.id}.json`);
  if (existsSync(f)) {
    const c = JSON.parse(readFileSync(f, 'utf8')) as Omit<Clip, 'pcm'> & { pcm: number[] };
    if (JSON.stringify(c.recipe) === JSON.stringify(r)) return { ...c, pcm: Int16Array.from(c.pcm) };
  }
  const c = await render(r, { ...(COMMA_PAUSE_MS === undefined ? {} : { commaPauseMs: COMMA_PAUSE_MS }) });
  writeFileSync(f, JSON.stringify({ ...c, pcm: Array.from(c.pcm) }));
  return c;
}

const VERDICTS = ['human', 'machine_start', 'screening', 'ivr', 'intercept', 'fax', 'unknown', '(none)'] as const;

/** One pass over the set with one configuration: its confusion matrix and figures. */
function evaluate(title: string, settings: AmdSettings, recipes: readonly Recipe[], clips: readonly Clip[], heard: readonly (readonly Heard[])[], full: boolean): string {
  const confusion = new Map<AmdClass, Map<string, number>>(AMD_CLASSES.map((c) => [c, new Map()]));
  const times = new Map<AmdClass, number[]>(AMD_CLASSES.map((c) => [c, []]));
  const talkTimes: number[] = [];
  const beepDelays: number[] = [];
  const ends = new Map<string, number>();
  const cues = new Map<string, number>();
  const wrong: string[] = [];
  const revisions: string[] = [];
  let hm = 0;
  let hmRight = 0;
  let talk = 0;
  let talkRight = 0;
  let none = 0;
  let early = 0;
  for (const [i, r] of recipes.entries()) {
    const clip = clips[i] as Clip;
    const ev = run(settings, clip.pcm, heard[i]);
    const first = ev.find((e) => e.type === 'verdict');
    const rev = ev.find((e) => e.type === 'revised');
    // The verdict as it stands: a machine on sound alone taken back by the words that followed counts as revised.
    const v = rev ?? first;
    if (rev) revisions.push(`${r.id}: ${first?.answeredBy} at ${fmt(first?.atMs ?? NaN)} -> ${rev.answeredBy} at ${fmt(rev.atMs)} ms`);
    const g = ev.find((e) => e.type === 'greeting_end');
    const got = v?.answeredBy ?? '(none)';
    if (!v) none++;
    const row = confusion.get(r.cls) as Map<string, number>;
    row.set(got, (row.get(got) ?? 0) + 1);
    for (const c of v?.cues ?? []) cues.set(`${got}: ${c}`, (cues.get(`${got}: ${c}`) ?? 0) + 1);
    const isMachine = r.cls === 'machine_with_beep' || r.cls === 'machine_without_beep';
    if (r.cls === 'human' || isMachine) {
      hm++;
      const right = r.cls === 'human' ? got === 'human' : got === 'machine_start';
      if (right) hmRight++;
    }
    const want = r.cls === 'human' ? 'human' : isMachine ? 'machine_start' : r.cls;
    if (r.talkative === true) {
      talk++;
      if (got === want) {
        talkRight++;
        talkTimes.push((v?.atMs ?? 0) - (clip.firstWordMs ?? 0));
      }
    }
    if (got !== want) wrong.push(`${r.id} -> ${got} at ${fmt(v?.atMs ?? NaN)} ms [${v?.cues.join(',') ?? ''}]`);
    if (v && got === want) (times.get(r.cls) as number[]).push(r.cls === 'human' ? v.atMs - (clip.firstWordMs ?? 0) : v.atMs);
    if (isMachine) {
      const kind = g?.answeredBy ?? '(no greeting_end)';
      ends.set(`${r.cls} -> ${kind}`, (ends.get(`${r.cls} -> ${kind}`) ?? 0) + 1);
      // A message must never start during the greeting, nor before the beep has ended.
      const mustWait = clip.beepEndMs ?? clip.speechEndMs ?? 0;
      if (g && g.atMs < mustWait) early++;
      if (g?.answeredBy === 'machine_end_beep' && clip.beepEndMs !== undefined) beepDelays.push(g.atMs - clip.beepEndMs);
    }
  }
  const out: string[] = [];
  const screening = confusion.get('screening') as Map<string, number>;
  const nScreen = [...screening.values()].reduce((a, b) => a + b, 0);
  const machineTimes = [...(times.get('machine_with_beep') as number[]), ...(times.get('machine_without_beep') as number[])];
  const summary = [
    `human vs machine ${hmRight}/${hm} = ${((100 * hmRight) / hm).toFixed(1)} %`,
    `screening ${screening.get('screening') ?? 0}/${nScreen}`,
    `talkative humans ${talkRight}/${talk}`,
    `machines decided p50 ${fmt(pct(machineTimes, 50))} p95 ${fmt(pct(machineTimes, 95))} ms`,
    `no verdict ${none}`,
    `revised ${revisions.length}`,
  ].join(', ');
  out.push(`\n== ${title}: ${summary}`);
  if (!full) return out.join('\n');
  out.push(`settings ${JSON.stringify(settings)}\n`);
  out.push(['true \\ verdict'.padEnd(22), ...VERDICTS.map((v) => v.padStart(15))].join(''));
  for (const c of AMD_CLASSES) {
    const row = confusion.get(c) as Map<string, number>;
    out.push([c.padEnd(22), ...VERDICTS.map((v) => String(row.get(v) ?? 0).padStart(15))].join(''));
  }
  out.push(`\nhuman vs machine accuracy: ${hmRight}/${hm} = ${((100 * hmRight) / hm).toFixed(1)} %`);
  out.push(`screening accuracy: ${screening.get('screening') ?? 0}/${nScreen}; talkative humans (long greeting) called human: ${talkRight}/${talk}`);
  out.push('decision time of correct verdicts, ms (human: from the first word; others: from the answer):');
  for (const c of AMD_CLASSES) {
    const t = times.get(c) as number[];
    out.push(`  ${c.padEnd(22)} n=${String(t.length).padStart(3)}  p50 ${fmt(pct(t, 50)).padStart(5)}  p95 ${fmt(pct(t, 95)).padStart(5)}`);
  }
  out.push(`  ${'(talkative humans)'.padEnd(22)} n=${String(talkTimes.length).padStart(3)}  p50 ${fmt(pct(talkTimes, 50)).padStart(5)}  p95 ${fmt(pct(talkTimes, 95)).padStart(5)}`);
  out.push(`  ${'(all machines)'.padEnd(22)} n=${String(machineTimes.length).padStart(3)}  p50 ${fmt(pct(machineTimes, 50)).padStart(5)}  p95 ${fmt(pct(machineTimes, 95)).padStart(5)}`);
  out.push(`beep end -> greeting_end (machine_end_beep), ms: n=${beepDelays.length} p50 ${fmt(pct(beepDelays, 50))} p95 ${fmt(pct(beepDelays, 95))} max ${fmt(Math.max(...beepDelays))}`);
  out.push('how machine greetings ended:');
  for (const [k, n] of [...ends].sort()) out.push(`  ${k}: ${n}`);
  out.push(`greeting_end before the greeting (or its beep) was over: ${early}`);
  out.push('cues in verdicts:');
  for (const [k, n] of [...cues].sort()) out.push(`  ${k}: ${n}`);
  out.push(`clips without a verdict: ${none}`);
  if (revisions.length > 0) out.push(`\nmachine verdicts taken back by words (${revisions.length}):\n  ${revisions.join('\n  ')}`);
  if (wrong.length > 0) out.push(`\nnot as labelled (${wrong.length}):\n  ${wrong.join('\n  ')}`);
  return out.join('\n');
}

async function labelled(): Promise<void> {
  let recipes = loadRecipes();
  if (argv.includes('--short')) recipes = recipes.filter((_, i) => i % 7 === 0);
  const skipped = recipes.filter((r) => missing(r) !== undefined);
  for (const r of skipped) console.log(`skipped ${r.id}: ${missing(r)}`);
  recipes = recipes.filter((r) => missing(r) === undefined);
  const clips: Clip[] = [];
  for (const r of recipes) clips.push(await clipOf(r));
  console.log(`\n${recipes.length} clips (${skipped.length} skipped)`);
  if (!WORDS) {
    console.log(evaluate('acoustic cues only', SETTINGS, recipes, clips, [], true));
  } else {
    // What each cue contributes: audio alone; words fed but not expected (a phrase decides only if it
    // comes before the cadence); words expected (cadence-only machine verdicts held for the words).
    const heard = await heardOf(recipes, clips);
    const audio = { ...SETTINGS, wordsExpected: false };
    // As the runtime runs it: words decide when they come first, revise a machine on sound alone, and a greeting end by silence waits for them.
    const coming = { ...SETTINGS, wordsExpected: false, wordsComing: true };
    console.log(evaluate('acoustic cues only', audio, recipes, clips, [], !argv.includes('--brief')));
    console.log(evaluate(`+ ${RECOGNIZER} words as the runtime takes them (no hold; revise; a silent end waits for them)`, coming, recipes, clips, heard, !argv.includes('--brief')));
    console.log(evaluate(`+ ${RECOGNIZER} words, expected (held for words)`, { ...SETTINGS, wordsExpected: true }, recipes, clips, heard, true));
  }
  console.log(`detector cost: ${((1000 * cost.ms) / cost.frames).toFixed(1)} us per 20 ms frame (${cost.frames} frames, all work of push())`);
}

async function corpus(dir: string): Promise<void> {
  const counts = new Map<string, number>();
  let crashed = 0;
  let none = 0;
  const files = readdirSync(dir).filter((f) => f.endsWith('.wav')).sort();
  const lines: string[] = [];
  const waves = files.map((f) => {
    try {
      return readWav(join(dir, f));
    } catch {
      return undefined;
    }
  });
  const heard = WORDS ? await recognize(waves.map((w) => (w?.sampleRate === RATE ? w.samples : new Int16Array(0)))) : [];
  for (const [i, f] of files.entries()) {
    try {
      const w = waves[i];
      if (!w) throw new Error('unreadable');
      if (w.sampleRate !== RATE) throw new Error(`${w.sampleRate} Hz`);
      const ev = run({ ...SETTINGS, wordsExpected: WORDS }, w.samples, heard[i]);
      const v = ev.find((e) => e.type === 'verdict');
      const g = ev.find((e) => e.type === 'greeting_end');
      if (!v) none++;
      const k = v?.answeredBy ?? '(none)';
      counts.set(k, (counts.get(k) ?? 0) + 1);
      lines.push(`  ${f}: ${k} at ${fmt(v?.atMs ?? NaN)} [${v?.cues.join(',') ?? ''}]${g ? ` then ${g.answeredBy} at ${fmt(g.atMs)}${g.beepHz ? ` (${g.beepHz} Hz)` : ''}` : ''}`);
    } catch (e) {
      crashed++;
      lines.push(`  ${f}: CRASHED ${(e as Error).message}`);
    }
  }
  console.log(`\ncorpus ${dir}: ${files.length} clips, ${crashed} crashed, ${none} without a verdict`);
  console.log(`verdicts: ${[...counts].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (argv.includes('--list')) console.log(lines.join('\n'));
}

await labelled();
const dir = opt('corpus');
if (dir) await corpus(dir);
