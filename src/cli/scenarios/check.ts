/**
 * Checks a finished call against a scenario's expectations. Pure: the call and transcript as the
 * API returned them in, one failure per unmet expectation out, each with what was expected and what
 * happened, so a report can say exactly why.
 */
import type { Expectations, TextExpectation } from './schema.js';

/** The fields of GET /v1/calls/{id} the checks read. */
export interface ObservedCall {
  status: string;
  end_reason: string | null;
  sip_status_code: number | null;
  duration_s: number | null;
  metrics: { answer_to_greeting_ms: number | null; end_to_end_max_ms: number | null } | null;
}

/** One turn of GET /v1/transcripts/{id}. */
export interface ObservedTurn {
  speaker: 'agent' | 'callee';
  text: string;
  toolCalls?: Array<{ name: string; ok?: boolean }>;
}

export interface Failure {
  /** e.g. `status`, `transcript_includes[1]` */
  expectation: string;
  expected: string;
  actual: string;
}

/**
 * Lowercase words separated by single spaces, padded: phrases match whole words regardless of case
 * and punctuation, so "minute" matches "a minute?" but "no" does not match "know".
 */
export function normalizeText(s: string): string {
  const words = s.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  return ` ${words.join(' ')} `;
}

export function saidBy(turns: readonly ObservedTurn[], e: TextExpectation): boolean {
  const phrase = normalizeText(e.text);
  return turns.some((t) => (e.speaker === 'any' || t.speaker === e.speaker) && normalizeText(t.text).includes(phrase));
}

const show = (v: unknown) => (v === null || v === undefined ? 'none' : String(v));
const who = (s: TextExpectation['speaker']) => (s === 'any' ? 'anyone' : `the ${s}`);

function spoken(turns: readonly ObservedTurn[], speaker: TextExpectation['speaker']): string {
  const lines = turns.filter((t) => speaker === 'any' || t.speaker === speaker).map((t) => `${t.speaker}: "${t.text}"`);
  if (lines.length === 0) return speaker === 'any' ? 'an empty transcript' : `no ${speaker} turns`;
  const all = lines.join(' | ');
  return all.length > 300 ? `${all.slice(0, 299)}…` : all;
}

export function checkExpectations(expect: Expectations, call: ObservedCall, turns: readonly ObservedTurn[]): Failure[] {
  const failures: Failure[] = [];
  const fail = (expectation: string, expected: string, actual: string) => failures.push({ expectation, expected, actual });

  if (expect.status !== undefined && call.status !== expect.status) fail('status', expect.status, call.status);
  if (expect.end_reason !== undefined && call.end_reason !== expect.end_reason) fail('end_reason', expect.end_reason, show(call.end_reason));
  if (expect.sip_status_code !== undefined && call.sip_status_code !== expect.sip_status_code) {
    fail('sip_status_code', String(expect.sip_status_code), show(call.sip_status_code));
  }
  expect.transcript_includes?.forEach((e, i) => {
    if (!saidBy(turns, e)) fail(`transcript_includes[${i}]`, `${who(e.speaker)} says "${e.text}"`, spoken(turns, e.speaker));
  });
  expect.transcript_excludes?.forEach((e, i) => {
    const hit = turns.find((t) => (e.speaker === 'any' || t.speaker === e.speaker) && normalizeText(t.text).includes(normalizeText(e.text)));
    if (hit) fail(`transcript_excludes[${i}]`, `${who(e.speaker)} never says "${e.text}"`, `${hit.speaker}: "${hit.text}"`);
  });
  if (expect.tool_called) {
    const called = turns.flatMap((t) => t.toolCalls ?? []).map((c) => c.name);
    expect.tool_called.forEach((name, i) => {
      if (!called.includes(name)) fail(`tool_called[${i}]`, `the agent calls tool "${name}"`, called.length > 0 ? `tools called: ${[...new Set(called)].join(', ')}` : 'no tool calls');
    });
  }
  const atMost = (expectation: string, limit: number | undefined, value: number | null | undefined, unit: string) => {
    if (limit === undefined) return;
    // Not measured (never answered, no reply) cannot show the limit was met: a regression test must not pass on missing data.
    if (value === null || value === undefined) fail(expectation, `<= ${limit} ${unit}`, 'not measured');
    else if (value > limit) fail(expectation, `<= ${limit} ${unit}`, `${value} ${unit}`);
  };
  atMost('max_answer_to_greeting_ms', expect.max_answer_to_greeting_ms, call.metrics?.answer_to_greeting_ms, 'ms');
  atMost('max_turn_latency_ms', expect.max_turn_latency_ms, call.metrics?.end_to_end_max_ms, 'ms');
  atMost('max_duration_s', expect.max_duration_s, call.duration_s, 's');
  if (expect.min_turns !== undefined && turns.length < expect.min_turns) fail('min_turns', `>= ${expect.min_turns} turns`, `${turns.length} turns`);
  return failures;
}
