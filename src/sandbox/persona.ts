/**
 * Personas: how a sandbox callee behaves, as plain JSON data (sandbox/personas/*.json), validated
 * here with errors that name the file and the field. See src/sandbox/README.md for the format.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutcallError } from '../errors.js';
import { FLITE_WASM_VOICES } from '../providers/tts/flite-wasi.js';
import { beepProblems, tonesProblems, type BeepSpec, type TonesSpec } from './tones.js';

export interface PersonaLine {
  /** What the persona says. */
  readonly say: string;
  /** Said only when the agent's last turn contained one of these words (when the persona could hear words). */
  readonly when?: { readonly agent_said_any: readonly string[] };
  /**
   * After this line: 'hangup' hangs up; 'next' says the following line as soon as this one has played,
   * without waiting for the agent (a screening assistant handing over to the person it screens for).
   */
  readonly then?: 'hangup' | 'next';
  /** Silence before the line (ms), e.g. the person picking up after the screening assistant. */
  readonly pause_before_ms?: number;
  /** This line's flite / espeak-ng voice instead of the persona's (another person on the same line). */
  readonly voice?: string;
  readonly espeak_voice?: string;
}

export interface Persona {
  readonly name: string;
  /** Its own sandbox number: +1 NPA 555 <line>, a line 0120-0198 (0100-0119 are the built-in numbers'). */
  readonly line?: string;
  readonly description?: string;
  /** Ringing time before the answer. */
  readonly answer_after_ms: number;
  /**
   * flite voice (used when the TTS provider is flite-wasm, the sandbox's default, or flite): slt, rms,
   * awb, kal16, kal or awb_time. Default 'kal16' (agents speak rms by default).
   */
  readonly voice?: string;
  /** espeak-ng voice (used when the TTS provider is espeak-ng). Default 'en-us+f3'. */
  readonly espeak_voice?: string;
  /**
   * Played right after answering, before anything is said: special information tones, fax tones.
   * With repeat "until_hangup" nothing follows them (the call ends by hangup_after_ms or the caller).
   */
  readonly tones?: TonesSpec;
  /**
   * A person's first words on picking up ("Hello?"), said right after answering (and after `tones`);
   * then the persona listens: it does not talk over the agent beyond this line. Not with `greeting`.
   */
  readonly answer_line?: string;
  /** A machine's greeting, said right after answering (and after `tones`), before the beep and listening. */
  readonly greeting?: string;
  /** Hang up as soon as the greeting has played (a network intercept's announcement). */
  readonly hangup_after_greeting?: boolean;
  /** A tone after the greeting (voicemail): true = 1000 Hz for 400 ms, or { hz: 400-2100, ms: 100-2000 }. */
  readonly beep?: BeepSpec;
  /** Keep what the agent says from the moment the persona starts listening (after the greeting and beep). */
  readonly record?: boolean;
  /** Replies, one per agent turn. */
  readonly lines: readonly PersonaLine[];
  /** Hang up once the last line is said (default true); false = stay until the agent hangs up. */
  readonly hangup_after_last_line?: boolean;
  /** Hang up this long after answering, whatever is going on. */
  readonly hangup_after_ms?: number;
  /** Talk over the agent: say the next line after this much agent speech instead of waiting for silence. */
  readonly interrupt?: { readonly after_agent_speech_ms: number };
  /** Agent silence that ends the agent's turn. Default 700. */
  readonly turn_silence_ms?: number;
  /** Hang up when the agent says nothing for this long while the persona waits. Default 20000. */
  readonly idle_hangup_ms?: number;
}

const KEYS = new Set([
  'name', 'line', 'description', 'answer_after_ms', 'voice', 'espeak_voice', 'tones', 'answer_line', 'greeting',
  'hangup_after_greeting', 'beep', 'record', 'lines', 'hangup_after_last_line', 'hangup_after_ms', 'interrupt',
  'turn_silence_ms', 'idle_hangup_ms',
]);
const LINE_KEYS = new Set(['say', 'when', 'then', 'pause_before_ms', 'voice', 'espeak_voice']);
/** Users' personas take lines from here up: 0100-0119 are kept for the built-in numbers, 0199 is the caller id. */
export const USER_LINES = { first: '0120', last: '0198' } as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown, max = 500): v is string => typeof v === 'string' && v.trim() !== '' && v.length <= max;
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * Checks a parsed JSON value against the persona format. Returns every problem (empty = valid), each as
 * "field: what is wrong", so one run fixes a file.
 */
export function personaProblems(v: unknown): string[] {
  const out: string[] = [];
  if (!isObject(v)) return ['the persona must be a JSON object'];
  for (const k of Object.keys(v)) if (!KEYS.has(k)) out.push(`${k}: unknown field (allowed: ${[...KEYS].join(', ')})`);
  if (typeof v.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,39}$/.test(v.name)) out.push('name: required, lowercase letters, digits and dashes (max 40)');
  if (v.line !== undefined && (typeof v.line !== 'string' || !/^01\d\d$/.test(v.line) || v.line < USER_LINES.first || v.line > USER_LINES.last)) {
    out.push(`line: the last four digits of its own number, "${USER_LINES.first}" to "${USER_LINES.last}" (0100-0119 are kept for built-in numbers, 0199 is the caller id)`);
  }
  if (v.description !== undefined && !isText(v.description, 300)) out.push('description: a non-empty string of at most 300 characters');
  if (!isInt(v.answer_after_ms, 0, 120_000)) out.push('answer_after_ms: required, an integer from 0 to 120000');
  out.push(...voiceProblems(v, ''));
  out.push(...tonesProblems(v.tones));
  if (v.answer_line !== undefined && !isText(v.answer_line, 300)) out.push('answer_line: a non-empty string of at most 300 characters');
  if (v.greeting !== undefined && !isText(v.greeting)) out.push('greeting: a non-empty string of at most 500 characters');
  if (v.answer_line !== undefined && v.greeting !== undefined) out.push('answer_line: a person\'s answer_line or a machine\'s greeting, not both');
  out.push(...beepProblems(v.beep));
  for (const k of ['record', 'hangup_after_last_line', 'hangup_after_greeting'] as const) {
    if (v[k] !== undefined && typeof v[k] !== 'boolean') out.push(`${k}: true or false`);
  }
  out.push(...sequenceProblems(v));
  if (v.hangup_after_ms !== undefined && !isInt(v.hangup_after_ms, 100, 3_600_000)) out.push('hangup_after_ms: an integer from 100 to 3600000');
  if (v.turn_silence_ms !== undefined && !isInt(v.turn_silence_ms, 200, 5000)) out.push('turn_silence_ms: an integer from 200 to 5000');
  if (v.idle_hangup_ms !== undefined && !isInt(v.idle_hangup_ms, 1000, 600_000)) out.push('idle_hangup_ms: an integer from 1000 to 600000');
  if (v.interrupt !== undefined) {
    if (!isObject(v.interrupt) || !isInt(v.interrupt.after_agent_speech_ms, 100, 10_000) || Object.keys(v.interrupt).length !== 1) {
      out.push('interrupt: { "after_agent_speech_ms": integer 100-10000 }');
    }
  }
  if (!Array.isArray(v.lines)) out.push('lines: required, an array (may be empty)');
  else {
    if (v.lines.length > 50) out.push('lines: at most 50 lines');
    v.lines.forEach((line: unknown, i: number) => {
      const at = `lines[${i}]`;
      if (!isObject(line)) {
        out.push(`${at}: an object { "say": ..., "when"?: ..., "then"?: "hangup" }`);
        return;
      }
      for (const k of Object.keys(line)) if (!LINE_KEYS.has(k)) out.push(`${at}.${k}: unknown field (allowed: ${[...LINE_KEYS].join(', ')})`);
      if (!isText(line.say)) out.push(`${at}.say: required, a non-empty string of at most 500 characters`);
      if (line.then !== undefined && line.then !== 'hangup' && line.then !== 'next') out.push(`${at}.then: "hangup" or "next"`);
      if (line.then === 'next' && i === (v.lines as unknown[]).length - 1) out.push(`${at}.then: "next" needs a line after it`);
      if (line.pause_before_ms !== undefined && !isInt(line.pause_before_ms, 0, 30_000)) out.push(`${at}.pause_before_ms: an integer from 0 to 30000`);
      out.push(...voiceProblems(line, `${at}.`));
      if (line.when !== undefined) {
        const w = line.when;
        const ok = isObject(w) && Object.keys(w).length === 1 && Array.isArray(w.agent_said_any) && w.agent_said_any.length > 0 && w.agent_said_any.every((k) => isText(k, 60));
        if (!ok) out.push(`${at}.when: { "agent_said_any": [one or more non-empty words] }`);
      }
    });
  }
  if (v.record === true && v.hangup_after_last_line !== false && Array.isArray(v.lines) && v.lines.length === 0 && v.hangup_after_ms === undefined) {
    out.push('record: a recording persona with no lines must set hangup_after_last_line: false or hangup_after_ms, or it hangs up before the agent speaks');
  }
  return out;
}

/** A `voice` / `espeak_voice` pair (the persona's, or one line's) with `prefix` naming where. */
function voiceProblems(v: Record<string, unknown>, prefix: string): string[] {
  const out: string[] = [];
  // A flite voice it lacks would leave the persona mute (flite-wasm refuses an unknown voice).
  if (v.voice !== undefined && (typeof v.voice !== 'string' || !(FLITE_WASM_VOICES as readonly string[]).includes(v.voice))) {
    out.push(`${prefix}voice: a flite voice (${FLITE_WASM_VOICES.join(', ')})`);
  }
  if (v.espeak_voice !== undefined && (typeof v.espeak_voice !== 'string' || !/^[A-Za-z0-9_+-]{1,40}$/.test(v.espeak_voice))) {
    out.push(`${prefix}espeak_voice: a voice name (letters, digits, _ + -)`);
  }
  return out;
}

/** Fields that could never take effect in the order tones -> greeting -> beep -> listening. */
function sequenceProblems(v: Record<string, unknown>): string[] {
  const out: string[] = [];
  const tones = isObject(v.tones) ? v.tones : undefined;
  if (tones?.repeat === 'until_hangup') {
    const after = ['answer_line', 'greeting', 'beep', 'record'].filter((k) => v[k] !== undefined && v[k] !== false);
    if (after.length > 0) out.push(`tones.repeat: "until_hangup" plays nothing after the tones, so ${after.join(', ')} would never happen`);
    if (v.hangup_after_ms === undefined) out.push('tones.repeat: "until_hangup" needs hangup_after_ms, so the call cannot last forever');
  }
  if (v.hangup_after_greeting === true) {
    if (v.greeting === undefined) out.push('hangup_after_greeting: needs a greeting');
    const after = ['beep', 'record'].filter((k) => v[k] !== undefined && v[k] !== false);
    if (after.length > 0) out.push(`hangup_after_greeting: hangs up before ${after.join(', ')}`);
  }
  return out;
}

/** Validates and returns the persona, or throws sandbox_persona_invalid naming `source` and every problem. */
export function parsePersona(v: unknown, source: string): Persona {
  const problems = personaProblems(v);
  if (problems.length > 0) throw new OutcallError('sandbox_persona_invalid', `${source}: ${problems.join('; ')}`);
  return v as Persona;
}

/** The personas bundled with Outcall (sandbox/personas at the repository or package root). */
export const BUNDLED_PERSONA_DIR = fileURLToPath(new URL('../../sandbox/personas/', import.meta.url));

/** Loads every *.json in `dir`, keyed by persona name; a bad file or a duplicate name throws. */
export function loadPersonas(dir: string = BUNDLED_PERSONA_DIR): Map<string, Persona> {
  const out = new Map<string, Persona>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const path = join(dir, file);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new OutcallError('sandbox_persona_invalid', `${path}: not valid JSON (${(err as Error).message})`);
    }
    const p = parsePersona(json, path);
    if (out.has(p.name)) throw new OutcallError('sandbox_persona_invalid', `${path}: a persona named '${p.name}' is already defined`);
    out.set(p.name, p);
  }
  return out;
}

/** Personas from several folders, a later folder's persona replacing an earlier one of the same name. */
export function loadPersonaDirs(dirs: readonly string[]): Map<string, Persona> {
  const out = new Map<string, Persona>();
  for (const dir of dirs) for (const [name, p] of loadPersonas(dir)) out.set(name, p);
  return out;
}
