import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { TSchema } from 'typebox';
import { AgentCreate } from '../../src/contract/agent.js';
import { OutboundCallCreate } from '../../src/contract/call.js';
import { TrunkCreate } from '../../src/contract/trunk.js';
import { AGENT_PROOFS, CREATE_CALL_PROOFS, KNOWN_GAPS, TRUNK_PROOFS, type FieldProof } from './field-proofs.js';
import { schemaFields } from './schema-fields.js';

/**
 * Every request field of a call, an agent and a trunk names the test that proves it acts (issue 14,
 * "proof that stays"): a field added to a schema without an entry in field-proofs.ts fails here, as
 * does an entry for a field that is gone, a named test that is not in its file, and a field whose
 * proof is `missing` without being one of the KNOWN_GAPS.
 */

const ROOT = new URL('../../', import.meta.url);
const SCHEMAS = {
  'create-call': [OutboundCallCreate, CREATE_CALL_PROOFS],
  agent: [AgentCreate, AGENT_PROOFS],
  trunk: [TrunkCreate, TRUNK_PROOFS],
} as const satisfies Record<keyof typeof KNOWN_GAPS, readonly [TSchema, Record<string, FieldProof>]>;

/** A test file's text with the quotes escaped inside its string literals read back as the title has them. */
const sources = new Map<string, string>();
function source(file: string): string | undefined {
  if (!sources.has(file)) {
    const url = new URL(file, ROOT);
    sources.set(file, existsSync(url) ? readFileSync(url, 'utf8').replace(/\\(['"`])/g, '$1') : '');
  }
  return sources.get(file) || undefined;
}

/** Whether `file` declares a test titled exactly `title`. */
function declares(file: string, title: string): boolean {
  const text = source(file);
  if (text === undefined) return false;
  for (const q of ["'", '"', '`']) if (text.includes(`test(${q}${title}${q}`)) return true;
  return false;
}

test('the walk reaches nested objects, arrays of objects and nullable unions', () => {
  // A guard on the walker itself: if it stopped descending, the checks below would pass vacuously.
  const call = schemaFields(OutboundCallCreate as unknown as Record<string, unknown>).map((f) => f.path);
  const agent = schemaFields(AgentCreate as unknown as Record<string, unknown>).map((f) => f.path);
  for (const p of ['record.status_callback.url', 'custom_sip_headers[].name', 'agent_overrides.llm.max_tokens']) assert.ok(call.includes(p), p);
  for (const p of ['stt.fallbacks[].provider', 'speech_to_speech.model', 'tools[].enabled', 'conversation.filler.phrases', 'conversation.barge_in.min_words']) {
    assert.ok(agent.includes(p), p);
  }
});

for (const [name, [schema, proofs]] of Object.entries(SCHEMAS)) {
  const gaps = KNOWN_GAPS[name as keyof typeof KNOWN_GAPS];
  describe(`field proofs: ${name}`, () => {
    const paths = schemaFields(schema as unknown as Record<string, unknown>).map((f) => f.path);

    test('every field has an entry', () => {
      assert.deepEqual(paths.filter((p) => !Object.hasOwn(proofs, p)), [], `fields of the ${name} schema with no entry in test/contract/field-proofs.ts`);
    });

    test('every entry is a field of the schema', () => {
      assert.deepEqual(Object.keys(proofs).filter((p) => !paths.includes(p)), [], 'entries for fields the schema no longer has');
    });

    test('each named test exists, verbatim, in its file; live proofs are live tests', () => {
      const wrong: string[] = [];
      for (const [path, proof] of Object.entries(proofs)) {
        if ('missing' in proof) continue;
        if (!source(proof.file)) wrong.push(`${path}: ${proof.file} does not exist`);
        else if (!declares(proof.file, proof.test)) wrong.push(`${path}: ${proof.file} has no test titled "${proof.test}"`);
        const live = proof.file.startsWith('test/e2e/') || proof.file.startsWith('test/dashboard/');
        if (!live && proof.refused !== true) wrong.push(`${path}: ${proof.file} is not a live test (test/e2e, test/dashboard), and the field is not one that is refused`);
      }
      assert.deepEqual(wrong, []);
    });

    test('a field without a proof is a known gap, and a known gap has no proof', () => {
      const unproven = Object.entries(proofs).filter(([, p]) => 'missing' in p).map(([path]) => path);
      assert.deepEqual(unproven.filter((p) => !gaps.includes(p)), [], 'fields with no live proof that KNOWN_GAPS does not list: write the proof');
      assert.deepEqual(gaps.filter((p) => !unproven.includes(p)), [], 'KNOWN_GAPS lists fields that have a proof (or are gone): take them off the list');
    });
  });
}
