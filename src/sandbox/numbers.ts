/**
 * The sandbox's magic numbers: what happens when the platform dials them. They live in the NANP range
 * 555-0100 to 555-0199, which the North American Numbering Plan Administrator reserves for fictional
 * use in every area code, so no real subscriber can ever be dialed by mistake. Any area code routes
 * (+1 NPA 555 01xx); the documented form uses 202. Routing is pure: Request-URI user -> behaviour.
 */

import { OutcallError } from '../errors.js';

export type SandboxRoute =
  /** Answers and runs a persona (JSON data in sandbox/personas); answerAfterMs overrides the persona's. */
  | {
      readonly kind: 'persona';
      readonly persona: string;
      readonly answerAfterMs?: number;
      /**
       * Played as early media and never answered: a 183 with SDP after the ring, the persona's sounds
       * over it, and this final status when the persona hangs up (a network's intercept, RFC 3960).
       */
      readonly earlyMedia?: { readonly finalStatus: number; readonly reason: string };
    }
  /** Rejects with a final status, after ringing for ringMs (0 = at once, no 180). */
  | { readonly kind: 'reject'; readonly status: number; readonly reason: string; readonly ringMs: number }
  /** 180 and nothing else until the caller gives up (CANCEL). */
  | { readonly kind: 'ring_forever' };

export interface MagicNumber {
  /** E.164, the documented form (+1 202 555 01xx). */
  readonly number: string;
  /** The last four digits that select the behaviour. */
  readonly line: string;
  readonly name: string;
  readonly description: string;
  readonly route: SandboxRoute;
}

const AREA = '202';

const TABLE: ReadonlyArray<Omit<MagicNumber, 'number'>> = [
  { line: '0100', name: 'human', description: 'answers after two rings (~3 s), holds a short conversation, hangs up after its last line', route: { kind: 'persona', persona: 'human' } },
  { line: '0101', name: 'busy', description: 'busy: 486 Busy Here at once', route: { kind: 'reject', status: 486, reason: 'Busy Here', ringMs: 0 } },
  { line: '0102', name: 'no-answer', description: 'rings (180) until the caller cancels', route: { kind: 'ring_forever' } },
  { line: '0103', name: 'declined', description: 'rings 2 s, then 603 Decline (the callee pressed "reject")', route: { kind: 'reject', status: 603, reason: 'Decline', ringMs: 2000 } },
  { line: '0104', name: 'failure', description: '503 Service Unavailable at once (a carrier failure)', route: { kind: 'reject', status: 503, reason: 'Service Unavailable', ringMs: 0 } },
  { line: '0105', name: 'voicemail', description: 'answers, plays a greeting and a beep, records what the agent leaves', route: { kind: 'persona', persona: 'voicemail' } },
  { line: '0106', name: 'hangs-up', description: 'answers and hangs up during the agent\'s greeting (~1.5 s)', route: { kind: 'persona', persona: 'hangs-up' } },
  { line: '0107', name: 'slow-answer', description: 'rings ~8 s, then the human persona', route: { kind: 'persona', persona: 'human', answerAfterMs: 8000 } },
  { line: '0108', name: 'interrupter', description: 'talks over the agent (starts ~0.8 s into each agent turn)', route: { kind: 'persona', persona: 'interrupter' } },
  { line: '0109', name: 'voicemail-no-beep', description: 'answering machine without a beep: greeting, then silence while it records', route: { kind: 'persona', persona: 'voicemail-no-beep' } },
  { line: '0110', name: 'voicemail-high-beep', description: 'answering machine with another voice and a 1400 Hz, 250 ms beep; records', route: { kind: 'persona', persona: 'voicemail-high-beep' } },
  { line: '0111', name: 'screening', description: 'call-screening assistant asks who is calling; after the agent answers, the person picks up', route: { kind: 'persona', persona: 'screening' } },
  { line: '0112', name: 'intercept', description: 'special information tones, "the number you have dialed is not in service", hangs up', route: { kind: 'persona', persona: 'intercept' } },
  { line: '0113', name: 'fax', description: 'fax machine: calling tones (CNG, 1100 Hz) until the caller hangs up, at most 30 s', route: { kind: 'persona', persona: 'fax' } },
  { line: '0114', name: 'talkative-human', description: 'answers "Hello, Doctor Lee\'s office, Maria speaking, how can I help you?", then converses', route: { kind: 'persona', persona: 'talkative-human' } },
  { line: '0115', name: 'intercept-early', description: 'a network intercept before any answer: 183 Session Progress, SIT and "not in service" as early media, then 404', route: { kind: 'persona', persona: 'intercept', earlyMedia: { finalStatus: 404, reason: 'Not Found' } } },
  { line: '0116', name: 'fax-answer', description: 'fax machine answering as a called fax does: answer tone CED (2100 Hz, 3.3 s), then its V.21 preamble', route: { kind: 'persona', persona: 'fax-answer' } },
  // 0117-0119 are kept free for the next built-in numbers; users' personas take 0120-0198 (persona.ts USER_LINES).
];

/** The magic numbers, documented form first (README and `startSandbox().numbers`). */
export const MAGIC_NUMBERS: readonly MagicNumber[] = TABLE.map((t) => ({ ...t, number: `+1${AREA}555${t.line}` }));

/**
 * The route for a dialed Request-URI user, or undefined (answer 404). Accepts +1 NPA 555 01xx with any
 * area code, with or without +1, and visual separators (RFC 3966 §5.1.1: - . ( ) are not digits).
 */
export function routeFor(dialed: string, numbers: readonly MagicNumber[] = MAGIC_NUMBERS): MagicNumber | undefined {
  const digits = dialed.replace(/[-.() ]/g, '');
  const m = /^(?:\+?1)?(?:[2-9]\d\d)?555(01\d\d)$/.exec(digits);
  if (!m) return undefined;
  return numbers.find((n) => n.line === m[1]);
}

/** The built-in numbers plus one per persona that names its own `line` (users' personas). */
export function numbersWithPersonas(personas: Iterable<{ readonly name: string; readonly line?: string; readonly description?: string }>): MagicNumber[] {
  const out: MagicNumber[] = [...MAGIC_NUMBERS];
  for (const p of personas) {
    if (p.line === undefined) continue;
    const taken = out.find((n) => n.line === p.line);
    if (taken) throw new OutcallError('sandbox_persona_invalid', `persona '${p.name}': line ${p.line} is already the number of '${taken.name}'`);
    out.push({ line: p.line, number: `+1${AREA}555${p.line}`, name: p.name, description: p.description ?? `the persona '${p.name}'`, route: { kind: 'persona', persona: p.name } });
  }
  return out;
}

/** The sandbox's own caller id, seeded as the demo agent's phone number (same fictional range). */
export const SANDBOX_CALLER_ID = `+1${AREA}5550199`;
