/**
 * A scenario file: one call to place and what must be true of it afterwards. Validated by hand so
 * every problem names the file and the field (`busy.json: expect.sip_status_code: must be an
 * integer`), and all problems of a file are reported at once rather than the first only.
 */

import { MAX_DURATION_S, RING_TIMEOUT_S } from '../../contract/call-defaults.js';
import { TERMINAL_STATUSES } from '../../contract/status.js';

export type Speaker = 'agent' | 'callee' | 'any';

export interface TextExpectation {
  speaker: Speaker;
  text: string;
}

export interface Expectations {
  status?: string;
  end_reason?: string;
  sip_status_code?: number;
  transcript_includes?: TextExpectation[];
  transcript_excludes?: TextExpectation[];
  tool_called?: string[];
  max_answer_to_greeting_ms?: number;
  max_turn_latency_ms?: number;
  min_turns?: number;
  max_duration_s?: number;
}

export interface Scenario {
  /** Where it came from, for messages. */
  file: string;
  name: string;
  agent?: string;
  agent_name?: string;
  to: string;
  dynamic_variables?: Record<string, string>;
  call_context?: string;
  max_duration_s?: number;
  ring_timeout_s?: number;
  expect: Expectations;
}

export type Validation = { ok: true; scenario: Scenario } | { ok: false; errors: string[] };

const TOP = ['name', 'agent', 'agent_name', 'to', 'dynamic_variables', 'call_context', 'max_duration_s', 'ring_timeout_s', 'expect'];
const EXPECT = [
  'status',
  'end_reason',
  'sip_status_code',
  'transcript_includes',
  'transcript_excludes',
  'tool_called',
  'max_answer_to_greeting_ms',
  'max_turn_latency_ms',
  'min_turns',
  'max_duration_s',
];
// A scenario's call has ended when it is checked, so only a final status can be expected.
const STATUSES: readonly string[] = TERMINAL_STATUSES;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

export function validateScenario(raw: unknown, file: string): Validation {
  const errors: string[] = [];
  const err = (field: string, msg: string) => errors.push(`${file}: ${field}: ${msg}`);
  if (!isObject(raw)) return { ok: false, errors: [`${file}: must be a JSON object`] };

  for (const k of Object.keys(raw)) if (!TOP.includes(k)) err(k, `unknown field (known: ${TOP.join(', ')})`);
  const str = (field: string, required: boolean): string | undefined => {
    const v = raw[field];
    if (v === undefined) {
      if (required) err(field, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') err(field, 'must be a non-empty string');
    return typeof v === 'string' ? v : undefined;
  };
  const name = str('name', true);
  const agent = str('agent', false);
  const agentName = str('agent_name', false);
  if (agent !== undefined && agentName !== undefined) err('agent_name', 'give agent or agent_name, not both');
  const to = str('to', true);
  if (to !== undefined && !/^\+?[0-9]{3,15}$/.test(to)) err('to', `must be a phone number like +12025550100, got "${to}"`);
  const callContext = str('call_context', false);

  let vars: Record<string, string> | undefined;
  if (raw.dynamic_variables !== undefined) {
    if (!isObject(raw.dynamic_variables)) err('dynamic_variables', 'must be an object of strings');
    else {
      for (const [k, v] of Object.entries(raw.dynamic_variables)) if (typeof v !== 'string') err(`dynamic_variables.${k}`, 'must be a string');
      vars = raw.dynamic_variables as Record<string, string>;
    }
  }
  // The API's own bounds (src/contract/call-defaults.ts), so a bad file fails here with its name, not as an HTTP 400 mid-run.
  const int = (obj: Record<string, unknown>, prefix: string, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    const v = obj[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      err(`${prefix}${field}`, `must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  };
  const maxDuration = int(raw, '', 'max_duration_s', MAX_DURATION_S.min, MAX_DURATION_S.max);
  const ringTimeout = int(raw, '', 'ring_timeout_s', RING_TIMEOUT_S.min, RING_TIMEOUT_S.max);

  const expect: Expectations = {};
  if (raw.expect === undefined) err('expect', 'is required (an object of expectations)');
  else if (!isObject(raw.expect)) err('expect', 'must be an object');
  else {
    const e = raw.expect;
    for (const k of Object.keys(e)) if (!EXPECT.includes(k)) err(`expect.${k}`, `unknown expectation (known: ${EXPECT.join(', ')})`);
    if (Object.keys(e).length === 0) err('expect', 'must hold at least one expectation');
    if (e.status !== undefined) {
      if (typeof e.status !== 'string' || !STATUSES.includes(e.status)) err('expect.status', `must be one of ${STATUSES.join(', ')}, got ${JSON.stringify(e.status)}`);
      else expect.status = e.status;
    }
    if (e.end_reason !== undefined) {
      if (typeof e.end_reason !== 'string' || e.end_reason === '') err('expect.end_reason', 'must be a non-empty string');
      else expect.end_reason = e.end_reason;
    }
    const sip = int(e, 'expect.', 'sip_status_code', 100, 699);
    if (sip !== undefined) expect.sip_status_code = sip;
    for (const k of ['transcript_includes', 'transcript_excludes'] as const) {
      const list = e[k];
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        err(`expect.${k}`, 'must be an array of { "speaker": "agent"|"callee"|"any", "text": "..." }');
        continue;
      }
      const out: TextExpectation[] = [];
      list.forEach((item: unknown, i) => {
        const at = `expect.${k}[${i}]`;
        // A bare string is shorthand for { speaker: "any", text }.
        if (typeof item === 'string' && item.trim() !== '') return void out.push({ speaker: 'any', text: item });
        if (!isObject(item)) return void err(at, 'must be a string or { "speaker", "text" }');
        for (const f of Object.keys(item)) if (f !== 'speaker' && f !== 'text') err(`${at}.${f}`, 'unknown field (known: speaker, text)');
        const speaker = item.speaker ?? 'any';
        if (speaker !== 'agent' && speaker !== 'callee' && speaker !== 'any') err(`${at}.speaker`, `must be "agent", "callee" or "any", got ${JSON.stringify(speaker)}`);
        if (typeof item.text !== 'string' || item.text.trim() === '') err(`${at}.text`, 'must be a non-empty string');
        else out.push({ speaker: speaker as Speaker, text: item.text });
      });
      expect[k] = out;
    }
    if (e.tool_called !== undefined) {
      if (!Array.isArray(e.tool_called) || e.tool_called.some((n) => typeof n !== 'string' || n === '')) err('expect.tool_called', 'must be an array of tool names');
      else expect.tool_called = e.tool_called as string[];
    }
    for (const k of ['max_answer_to_greeting_ms', 'max_turn_latency_ms', 'min_turns', 'max_duration_s'] as const) {
      if (e[k] === undefined) continue;
      if (!isCount(e[k])) err(`expect.${k}`, `must be a whole number >= 0, got ${JSON.stringify(e[k])}`);
      else expect[k] = e[k];
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const scenario: Scenario = { file, name: name!, to: to!, expect };
  if (agent !== undefined) scenario.agent = agent;
  if (agentName !== undefined) scenario.agent_name = agentName;
  if (vars) scenario.dynamic_variables = vars;
  if (callContext !== undefined) scenario.call_context = callContext;
  if (maxDuration !== undefined) scenario.max_duration_s = maxDuration;
  if (ringTimeout !== undefined) scenario.ring_timeout_s = ringTimeout;
  return { ok: true, scenario };
}
