/**
 * Personas: how a sandbox callee behaves, as plain JSON data (sandbox/personas/*.json), validated
 * here with errors that name the file and the field. See src/sandbox/README.md for the format.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutcallError } from '../errors.js';
import { FLITE_WASM_VOICES } from '../providers/tts/flite-wasi.js';

export interface PersonaLine {
  /** What the persona says. */
  readonly say: string;
  /** Said only when the agent's last turn contained one of these words (when the persona could hear words). */
  readonly when?: { readonly agent_said_any: readonly string[] };
  /** Hang up once this line is said. */
  readonly then?: 'hangup';
}

export interface Persona {
  readonly name: string;
  /** Its own sandbox number: +1 NPA 555 <line>, a line 0109-0198 that no built-in number uses. */
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
  /** Said right after answering, before listening (a voicemail greeting). */
  readonly greeting?: string;
  /** A 1 kHz tone after the greeting (voicemail). */
  readonly beep?: boolean;
  /** Keep what the agent says after the greeting and beep (voicemail). */
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
  'name', 'line', 'description', 'answer_after_ms', 'voice', 'espeak_voice', 'greeting', 'beep', 'record', 'lines',
  'hangup_after_last_line', 'hangup_after_ms', 'interrupt', 'turn_silence_ms', 'idle_hangup_ms',
]);
const LINE_KEYS = new Set(['say', 'when', 'then']);

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
  if (v.line !== undefined && (typeof v.line !== 'string' || !/^01\d\d$/.test(v.line) || v.line < '0109' || v.line > '0198')) {
    out.push('line: the last four digits of its own number, "0109" to "0198" (0100-0108 are built in, 0199 is the caller id)');
  }
  if (v.description !== undefined && !isText(v.description, 300)) out.push('description: a non-empty string of at most 300 characters');
  if (!isInt(v.answer_after_ms, 0, 120_000)) out.push('answer_after_ms: required, an integer from 0 to 120000');
  // A flite voice it lacks would leave the persona mute (flite-wasm refuses an unknown voice).
  if (v.voice !== undefined && (typeof v.voice !== 'string' || !(FLITE_WASM_VOICES as readonly string[]).includes(v.voice))) {
    out.push(`voice: a flite voice (${FLITE_WASM_VOICES.join(', ')})`);
  }
  if (v.espeak_voice !== undefined && (typeof v.espeak_voice !== 'string' || !/^[A-Za-z0-9_+-]{1,40}$/.test(v.espeak_voice))) {
    out.push('espeak_voice: a voice name (letters, digits, _ + -)');
  }
  if (v.greeting !== undefined && !isText(v.greeting)) out.push('greeting: a non-empty string of at most 500 characters');
  for (const k of ['beep', 'record', 'hangup_after_last_line'] as const) {
    if (v[k] !== undefined && typeof v[k] !== 'boolean') out.push(`${k}: true or false`);
  }
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
      for (const k of Object.keys(line)) if (!LINE_KEYS.has(k)) out.push(`${at}.${k}: unknown field (allowed: say, when, then)`);
      if (!isText(line.say)) out.push(`${at}.say: required, a non-empty string of at most 500 characters`);
      if (line.then !== undefined && line.then !== 'hangup') out.push(`${at}.then: only "hangup" is supported`);
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
