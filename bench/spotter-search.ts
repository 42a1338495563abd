// Command: nice -n 10 node --import tsx bench/spotter-search.ts   (~2 min here)
//
// The phrase spotter's decoder settings (src/voice/phrase-spotter.ts SPOTTER_SEARCH) against the
// engine's defaults and a narrower word beam: the speech of 13 clips of the AMD set (bench/amd-set,
// rendered in memory: 8 kHz G.711 with line noise; talkative people, screening assistants, machines)
// is decoded whole with the spotter's grammar, one decode per clip, and the script prints the CPU
// time per second of speech and how many decodes came out empty (pruned to no hypothesis).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildGrammar } from '../src/providers/stt/grammar.js';
import { SPOTTER_PHRASES, SPOTTER_SEARCH } from '../src/voice/phrase-spotter.js';
import { loadRecipes, render } from './amd-set/generate.js';

const IDS = ['human-10', 'human-61', 'human-62', 'human-63', 'human-64', 'screening-01', 'screening-02', 'screening-16', 'screening-17', 'machine_with_beep-01', 'machine_with_beep-02', 'machine_without_beep-03', 'machine_without_beep-04'];
const CONFIGS: Array<[string, Record<string, number>]> = [
  ['engine defaults', {}],
  ['SPOTTER_SEARCH', { ...SPOTTER_SEARCH }],
  ['word beam 1e-15', { beam: 1e-20, wbeam: 1e-15, pbeam: 1e-20, maxhmmpf: 800 }],
];

interface Decoder {
  initialize(): Promise<unknown>;
  start(): void;
  stop(): void;
  process_audio(pcm: Float32Array, noSearch?: boolean, fullUtt?: boolean): number;
  get_text(): string;
  lookup_word(word: string): string | null;
  set_grammar(jsgf: string): void;
}
const require = createRequire(import.meta.url);
const modelBase = `${join(dirname(require.resolve('soundswallower')), 'model')}/`;
const mod = (await import('soundswallower')) as unknown as { default: (o: Record<string, unknown>) => Promise<{ Decoder: new (c: Record<string, unknown>) => Decoder }> };
const ss = await mod.default({ modelBase, print: () => undefined, printErr: () => undefined });

const recipes = loadRecipes().filter((r) => IDS.includes(r.id));
const spans: Float32Array[] = [];
for (const r of recipes) {
  const c = await render(r);
  const a = Math.max(0, Math.round(((c.firstWordMs ?? 0) - 100) * 8));
  const b = Math.min(c.pcm.length, Math.round(((c.speechEndMs ?? c.pcm.length / 8) + 100) * 8));
  spans.push(Float32Array.from(c.pcm.subarray(a, b), (v) => v / 32768));
}
const speechS = spans.reduce((t, x) => t + x.length / 8000, 0);
console.log(`${spans.length} clips, ${speechS.toFixed(1)} s of speech`);
for (const [name, search] of CONFIGS) {
  const d = new ss.Decoder({ samprate: 8000, loglevel: 'ERROR', ...search });
  await d.initialize();
  d.set_grammar(buildGrammar(SPOTTER_PHRASES, { lookup: (w) => d.lookup_word(w) }).jsgf);
  let cpu = 0;
  let empty = 0;
  for (const x of spans) {
    const t0 = process.cpuUsage();
    d.start();
    d.process_audio(x, false, true);
    d.stop();
    const u = process.cpuUsage(t0);
    cpu += (u.user + u.system) / 1e6;
    if (d.get_text().trim() === '') empty++;
  }
  console.log(`${name.padEnd(16)} ${JSON.stringify(search).padEnd(62)} ${(cpu / speechS).toFixed(2)} s CPU per s of speech, ${empty}/${spans.length} decodes empty`);
}
