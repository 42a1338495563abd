/**
 * Renders the labelled answering-machine set (recipes.json) to 8 kHz PCM in memory, deterministically:
 * speech from flite-wasm (npm) and espeak-ng (Debian, when installed) sentence by sentence with the
 * pauses a recording has, real recorded prompts from Debian's asterisk-core-sounds-en-wav (when
 * installed: recipes that need them are skipped, and say so, when it is not), beeps, SIT and fax
 * tones, then line noise at the recipe's SNR and a G.711 round trip. Nothing is written to disk.
 */
import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { EspeakNgTts } from '../../src/providers/tts/espeak-ng.js';
import { FliteWasmTts } from '../../src/providers/tts/flite-wasm.js';
import type { TtsProvider } from '../../src/providers/tts/types.js';
import { readWav } from '../../test/fixtures/media/signals.js';
import * as S from '../../test/fixtures/amd/synth.js';

export const RATE = 8000;
export const AMD_CLASSES = ['human', 'machine_with_beep', 'machine_without_beep', 'screening', 'intercept', 'fax'] as const;
export type AmdClass = (typeof AMD_CLASSES)[number];

export type Part =
  | { silence: number }
  | { say: string; voice: string }
  | { play: string[] }
  | { tone: number; ms: number; beep?: boolean }
  | { sit: 'low' | 'high' }
  | { cng: number }
  | { ced: number };

export interface Recipe {
  id: string;
  cls: AmdClass;
  parts: Part[];
  codec: 'mulaw' | 'alaw';
  /** Speech level over white line noise (dB). */
  snrDb: number;
  /** Speech level relative to -20 dBFS. */
  gainDb: number;
  /** A person who answers with a long greeting ("..., Maria speaking, how can I help you?"): cadence alone calls them a machine. */
  talkative?: boolean;
}

export interface Clip {
  recipe: Recipe;
  pcm: Int16Array;
  /** Where the first word starts (ms since the answer). */
  firstWordMs?: number;
  /** Where the last speech before the beep (or at all) ends. */
  speechEndMs?: number;
  beepEndMs?: number;
  beepHz?: number;
}

export const ASTERISK_SOUNDS = '/usr/share/asterisk/sounds/en';

export function loadRecipes(): Recipe[] {
  return JSON.parse(readFileSync(new URL('./recipes.json', import.meta.url), 'utf8')) as Recipe[];
}

/** Why a recipe cannot be rendered on this machine, if it cannot. */
export function missing(r: Recipe): string | undefined {
  for (const p of r.parts) {
    if ('play' in p && !existsSync(ASTERISK_SOUNDS)) return `needs ${ASTERISK_SOUNDS} (apt-get install asterisk-core-sounds-en-wav)`;
    if ('say' in p && p.voice.startsWith('espeak:') && !hasEspeak()) return 'needs espeak-ng';
  }
  return undefined;
}

let espeak: boolean | undefined;
function hasEspeak(): boolean {
  espeak ??= ['/usr/bin/espeak-ng', '/usr/local/bin/espeak-ng'].some((p) => existsSync(p));
  return espeak;
}

const flite = new FliteWasmTts();
const espeakTts = new EspeakNgTts();
const ttsCache = new Map<string, Promise<Int16Array>>();

async function synth(tts: TtsProvider, text: string, voice: string): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  for await (const c of tts.synthesize({ text, voice, sampleRate: RATE })) chunks.push(c);
  return trim(S.concat(chunks));
}

/** One sentence in one voice, its leading and trailing silence cut (so part boundaries are where speech is). */
function sentence(text: string, voice: string): Promise<Int16Array> {
  const key = `${voice}|${text}`;
  let p = ttsCache.get(key);
  if (!p) {
    const [engine, name] = voice.split(':') as [string, string];
    p = synth(engine === 'flite' ? flite : espeakTts, text, name);
    ttsCache.set(key, p);
  }
  return p;
}

/** Cuts leading and trailing stretches quieter than -50 dBFS in 10 ms windows. */
function trim(pcm: Int16Array): Int16Array {
  const w = RATE / 100;
  const loud = (o: number) => {
    let sq = 0;
    for (let i = o; i < Math.min(pcm.length, o + w); i++) sq += (pcm[i] as number) ** 2;
    return sq / w > (32768 * 10 ** (-50 / 20)) ** 2;
  };
  let a = 0;
  while (a < pcm.length && !loud(a)) a += w;
  let b = pcm.length;
  while (b > a && !loud(b - w)) b -= w;
  return pcm.slice(a, b);
}

const sentencesOf = (text: string) => text.match(/[^.!?]+[.!?]*/g)?.map((s) => s.trim()).filter((s) => s.length > 0) ?? [text];

/** Scales speech to -20 dBFS RMS (over its loud part) plus `gainDb`. */
function level(pcm: Int16Array, gainDb: number): Int16Array {
  let sq = 0;
  let n = 0;
  for (const v of pcm) {
    if (Math.abs(v) < 100) continue;
    sq += v * v;
    n++;
  }
  const rms = Math.sqrt(sq / Math.max(1, n));
  const g = rms > 0 ? (32768 * 10 ** ((-20 + gainDb) / 20)) / rms : 1;
  return Int16Array.from(pcm, (v) => Math.max(-32768, Math.min(32767, Math.round(v * g))));
}

/** A stable seed from a recipe id, so each recipe's pauses and noise are its own and repeat exactly. */
const seedOf = (id: string) => [...id].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);

/**
 * commaPauseMs: also cut sentences at commas and leave this much silence there (each clause spoken
 * apart), as a slower speaker or another TTS does; the set's own clips speak a sentence in one go.
 */
export async function render(r: Recipe, opts: { commaPauseMs?: number } = {}): Promise<Clip> {
  const rand = S.rng(seedOf(r.id));
  const parts: Int16Array[] = [];
  let at = 0;
  const clip: Clip = { recipe: r, pcm: new Int16Array(0) };
  const push = (p: Int16Array) => {
    parts.push(p);
    at += (p.length * 1000) / RATE;
  };
  const speech = (p: Int16Array) => {
    clip.firstWordMs ??= at;
    push(level(p, r.gainDb));
    if (clip.beepEndMs === undefined) clip.speechEndMs = at;
  };
  for (const p of r.parts) {
    if ('silence' in p) push(S.silence(RATE, p.silence));
    else if ('say' in p) {
      const ss = sentencesOf(p.say);
      for (let i = 0; i < ss.length; i++) {
        if (i > 0) push(S.silence(RATE, 250 + rand() * 350)); // a recording's sentence gap: 250-600 ms
        const clauses = opts.commaPauseMs === undefined ? [ss[i] as string] : (ss[i] as string).split(',').map((c) => c.trim()).filter((c) => c.length > 0);
        for (let k = 0; k < clauses.length; k++) {
          if (k > 0) push(S.silence(RATE, opts.commaPauseMs ?? 0));
          speech(await sentence(clauses[k] as string, p.voice));
        }
      }
    } else if ('play' in p) {
      const pieces: Int16Array[] = [];
      for (const name of p.play) {
        const w = readWav(`${ASTERISK_SOUNDS}/${name}.wav`);
        if (w.sampleRate !== RATE) throw new Error(`${name}.wav is ${w.sampleRate} Hz`);
        if (pieces.length > 0) pieces.push(S.silence(RATE, name.startsWith('digits/') ? 60 : 250 + rand() * 250));
        pieces.push(trim(w.samples));
      }
      speech(S.concat(pieces));
    } else if ('tone' in p) {
      push(S.tone(RATE, p.tone, p.ms, -20 + r.gainDb + (rand() * 6 - 3)));
      if (p.beep) {
        clip.beepEndMs = at;
        clip.beepHz = p.tone;
      }
    } else if ('sit' in p) push(S.sit(RATE, p.sit === 'high', [274, 274, 380], -22 + r.gainDb));
    else if ('cng' in p) push(S.cng(RATE, p.cng, -22 + r.gainDb));
    else push(S.ced(RATE, p.ced, -22 + r.gainDb));
  }
  const dry = S.concat(parts);
  const nz = S.noise(RATE, (dry.length * 1000) / RATE, -20 + r.gainDb - r.snrDb, seedOf(r.id) ^ 0x5bd1e995);
  const wet = Int16Array.from(dry, (v, i) => Math.max(-32768, Math.min(32767, v + (nz[i] ?? 0))));
  clip.pcm = r.codec === 'mulaw' ? S.mulawRoundTrip(wet) : S.alawRoundTrip(wet);
  return clip;
}
